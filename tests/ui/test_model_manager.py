"""The Model manager against the real catalog, real hardware probe, real GGUF files and a real HTTP server."""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from app.models.catalog import Catalog, load_catalog, validate
from app.models.download import part_path, retry
from app.models.hardware import Hardware, probe_hardware
from app.models.speed import Speeds
from app.settings import Settings
from app.ui import confirm
from app.ui.model_setup.downloads import Downloads
from app.ui.model_setup.manager import CHECKING, ERROR_COLOUR, CatalogRow, ModelManager
from tests.models.http_fixture import FileServer
from tests.models.test_speed import DESKTOP

pytestmark = pytest.mark.gui

REPO_ID = "test/tiny-gemma4-GGUF"
FILE = "tiny-gemma4-Q8_0.gguf"
BADGE = re.compile(r"^needs \d+\.\d GB — (Fits|Tight|Too big|Slow here)$")

Factory = Callable[..., ModelManager]


def tiny_catalog(data: bytes, *, sha256: str | None = "right") -> Catalog:
    """One text-only model whose only file is ``data`` (served by the test server)."""
    quant: dict[str, Any] = {"name": "Q8_0", "file": FILE, "size": len(data)}
    if sha256 is not None:
        quant["sha256"] = hashlib.sha256(data).hexdigest() if sha256 == "right" else sha256
    model = {
        "id": "tiny-gemma4-it",
        "name": "Tiny Gemma 4",
        "family": "gemma4",
        "params_b": 0.01,
        "active_params_b": 0.01,
        "context_length": 4096,
        "modalities": ["text"],
        "repo": REPO_ID,
        "license": "Apache-2.0",
        "kv_bytes_per_token_f16": 1024,
        "quants": [quant],
    }
    return validate({"schema": 1, "models": [model]})


def hardware(ram: int) -> Hardware:
    return Hardware(ram, ram, 4, 2, ("CPU",), (), 100 * 10**9, "Linux", "x86_64", False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(tmp_path / "settings.json")
    settings.set("models_folder", str(tmp_path / "models"))
    return settings


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "models"
    path.mkdir()
    return path


@pytest.fixture
def downloads() -> Iterator[Downloads]:
    jobs = Downloads()
    yield jobs
    jobs.pause_all()


@pytest.fixture
def open_manager(qtbot: QtBot, settings: Settings, downloads: Downloads) -> Factory:
    def make(catalog: Catalog | None = None, **kwargs: Any) -> ModelManager:
        # A desktop's measured speed, not this test machine's: "Fits" / "Slow here" must not hang on its load.
        kwargs.setdefault("speeds", lambda _hw: Speeds(DESKTOP))
        manager = ModelManager(catalog or load_catalog(), settings, downloads, **kwargs)
        qtbot.addWidget(manager)
        # The first reads come back through the event loop, so connecting after the constructor misses none.
        with qtbot.waitSignals([manager.refreshed, manager.hardwareChecked], timeout=20_000):
            manager.show()
        return manager

    return make


@pytest.fixture
def server(settings: Settings, tiny_model: Path) -> Iterator[FileServer]:
    srv = FileServer().start()
    srv.files = {f"{REPO_ID}/resolve/main/{FILE}": tiny_model.read_bytes()}
    settings.set("hf_endpoint", f"http://127.0.0.1:{srv.port}/files")
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "RETRY_BASE_S", 0.01)


def button(manager: ModelManager, name: str) -> QPushButton:
    found = [b for b in manager.findChildren(QPushButton) if b.accessibleName() == name]
    assert len(found) == 1, f"{len(found)} buttons named {name!r}"
    return found[0]


def installed_texts(manager: ModelManager) -> list[str]:
    return [label.text() for label in manager.installed_list.findChildren(QLabel)]


def test_lists_every_catalog_model_and_shows_fit_badges_after_the_probe(
    qtbot: QtBot, settings: Settings, downloads: Downloads
) -> None:
    release = threading.Event()

    def slow_probe(folder: Path) -> Hardware:
        release.wait(10)
        return probe_hardware(folder)

    catalog = load_catalog()
    manager = ModelManager(catalog, settings, downloads, probe=slow_probe)
    qtbot.addWidget(manager)
    manager.show()
    assert [row.model.name for row in manager.rows] == [m.name for m in catalog]
    assert all(row.badge_label.text() == CHECKING for row in manager.rows)
    assert manager.hardware_label.text() == CHECKING
    release.set()
    qtbot.waitUntil(lambda: manager.hardware is not None, timeout=20_000)

    assert manager.hardware_label.text().startswith("This machine: ")
    assert "CPU threads" in manager.hardware_label.text() and "free in" in manager.hardware_label.text()
    e4b = manager.row("e4b")
    assert e4b.title.text() == "<b>Gemma 4 E4B</b>"
    assert "text · image · audio" in e4b.facts.text() and "128K context" in e4b.facts.text()
    assert "active" in manager.row("26b-a4b").facts.text()
    for row in manager.rows:
        assert BADGE.match(row.badge_label.text()), row.badge_label.text()
        assert re.match(r"^(Fits|Tight|Too big): needs \d", row.badge_label.toolTip())  # fit.message first
        assert row.size_label.text().endswith(" GB download")
        assert row.quant_combo.count() >= 3 and row.quant_combo.accessibleName() and row.quant_combo.toolTip()
    # every quantization of every model has a badge, in the row's own words
    for index in range(e4b.quant_combo.count()):
        e4b.quant_combo.setCurrentIndex(index)
        assert BADGE.match(e4b.badge_label.text())


def test_recommended_mark_and_too_big_confirmation(
    qtbot: QtBot,
    open_manager: Factory,
    server: FileServer,
    folder: Path,
    tiny_model: Path,
    answer: Callable[[confirm.Answer], None],
) -> None:
    big = open_manager(probe=lambda _folder: hardware(64 * 10**9))
    recommended = [row for row in big.rows if row.recommended_label.isVisible()]
    assert len(recommended) == 1 and all(row.badge_label.text().endswith("Fits") for row in recommended)
    assert all(row.badge_label.styleSheet() for row in big.rows)  # coloured by verdict
    big.close()

    asked: list[str] = []
    answers = [False, True]

    def confirm(title: str, text: str) -> bool:
        asked.append(text)
        return answers.pop(0)

    manager = open_manager(tiny_catalog(tiny_model.read_bytes()), probe=lambda _folder: hardware(10**6))
    row = manager.rows[0]
    assert row.badge_label.text().endswith("Too big") and ERROR_COLOUR in row.badge_label.styleSheet()
    assert row.badge_label.toolTip().startswith("Too big: needs")
    assert not row.recommended_label.isVisible()
    answer(confirm)
    qtbot.waitUntil(row.buttons["download"].isVisible)
    row.buttons["download"].click()
    assert len(asked) == 1 and "Download it anyway?" in asked[0]
    assert manager._downloads.job(row.variant) is None  # said no: nothing started
    row.buttons["download"].click()
    qtbot.waitUntil(row.buttons["load"].isVisible, timeout=10_000)
    assert (folder / FILE).read_bytes() == tiny_model.read_bytes()


def test_download_pause_resume_then_load(
    qtbot: QtBot, open_manager: Factory, server: FileServer, folder: Path, tiny_model: Path
) -> None:
    data = tiny_model.read_bytes()
    manager = open_manager(tiny_catalog(data))
    row = manager.rows[0]
    assert row.badge_label.text().endswith("Fits")
    assert not row.verify_label.isVisible()  # the catalog has its SHA-256
    assert row.buttons["download"].isVisible() and not row.buttons["load"].isVisible()

    server.piece, server.slow_s = 4096, 0.01
    row.buttons["download"].click()
    qtbot.waitUntil(lambda: " of " in row.status_label.text(), timeout=10_000)
    assert row.buttons["pause"].isVisible() and row.buttons["cancel"].isVisible() and row.progress_bar.isVisible()
    assert not row.buttons["download"].isVisible()
    assert re.match(r"^\d+(\.\d)? (KB|MB|bytes) of \d\.\d MB", row.status_label.text())

    row.buttons["pause"].click()
    qtbot.waitUntil(row.buttons["resume"].isVisible, timeout=10_000)
    assert row.status_label.text().startswith("Paused at ")
    assert part_path(folder / FILE).is_file() and not (folder / FILE).exists()
    assert not row.buttons["pause"].isVisible()

    server.slow_s = 0.0
    row.buttons["resume"].click()
    qtbot.waitUntil(row.buttons["load"].isVisible, timeout=10_000)
    assert (folder / FILE).read_bytes() == data and not part_path(folder / FILE).exists()
    assert [r for r in server.ranges() if r] and row.status_label.text() == "Downloaded"
    assert not row.progress_bar.isVisible()
    # the installed list follows the download (modelReady)
    qtbot.waitUntil(lambda: any(FILE in t and "Gemma 4" in t for t in installed_texts(manager)))
    with qtbot.waitSignal(manager.loadRequested) as signal:
        row.buttons["load"].click()
    assert signal.args == [folder / FILE, None]


def test_wrong_checksum_shows_the_damage_and_leaves_no_file(
    qtbot: QtBot, open_manager: Factory, server: FileServer, folder: Path, tiny_model: Path
) -> None:
    manager = open_manager(tiny_catalog(tiny_model.read_bytes(), sha256="0" * 64))
    row = manager.rows[0]
    row.buttons["download"].click()
    qtbot.waitUntil(row.buttons["retry"].isVisible, timeout=10_000)
    text = row.status_label.text()
    assert "damaged" in text and "checksum" in text, text
    assert ERROR_COLOUR in row.status_label.styleSheet()
    assert not (folder / FILE).exists() and not part_path(folder / FILE).exists()
    assert not row.buttons["load"].isVisible()
    row.buttons["cancel"].click()
    qtbot.waitUntil(row.buttons["download"].isVisible)
    assert row.status_label.text() == ""


def test_unverifiable_file_is_marked(open_manager: Factory, tiny_model: Path) -> None:
    manager = open_manager(tiny_catalog(tiny_model.read_bytes(), sha256=None), probe=lambda _f: hardware(10**10))
    row: CatalogRow = manager.rows[0]
    assert row.verify_label.isVisible() and "cannot verify" in row.verify_label.text()


def test_installed_model_load_show_and_delete(
    qtbot: QtBot, open_manager: Factory, folder: Path, tiny_model: Path, answer: Callable[[confirm.Answer], None]
) -> None:
    path = folder / "my-model.gguf"
    shutil.copyfile(tiny_model, path)
    (folder / "broken.gguf").write_bytes(b"GGUF" + b"\0" * 10)
    manager = open_manager(probe=lambda _f: hardware(10**10))
    qtbot.waitUntil(lambda: len(manager.local_models) == 1)
    [text] = [t for t in installed_texts(manager) if "my-model.gguf" in t]
    assert "Gemma 4" in text and "no projector" in text and "MB" in text
    assert "broken.gguf" in manager.problems_label.text() and manager.problems_label.isVisible()

    with qtbot.waitSignal(manager.loadRequested) as signal:
        button(manager, "Load my-model.gguf").click()
    assert signal.args == [path, None]

    opened: list[QUrl] = []
    manager._open_url = lambda url: opened.append(url) or True  # type: ignore[method-assign]
    button(manager, "Show my-model.gguf in folder").click()
    assert opened == [QUrl.fromLocalFile(str(folder))]

    manager.in_use = lambda: path  # the model the window has loaded is not deleted
    button(manager, "Delete my-model.gguf").click()
    assert path.exists() and "is using my-model.gguf now" in manager.message_label.text()
    manager.in_use = lambda: None

    answers = [False, True]
    answer(lambda _title, _text: answers.pop(0))
    button(manager, "Delete my-model.gguf").click()
    assert path.exists()  # said no
    button(manager, "Delete my-model.gguf").click()
    qtbot.waitUntil(lambda: not any("my-model.gguf" in t for t in installed_texts(manager)))
    assert not path.exists() and not manager.local_models
    assert "freed" in manager.message_label.text()


def test_import_a_bad_file_and_a_good_one(
    qtbot: QtBot, open_manager: Factory, tmp_path: Path, tiny_model: Path
) -> None:
    manager = open_manager(probe=lambda _f: hardware(10**10))
    notes = tmp_path / "notes.gguf"
    notes.write_text("not a model at all\n")
    manager.import_file(notes)
    qtbot.waitUntil(lambda: "not a GGUF model file" in manager.message_label.text())
    assert ERROR_COLOUR in manager.message_label.styleSheet()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    model = elsewhere / "mine.gguf"
    shutil.copyfile(tiny_model, model)
    manager.import_file(model)
    qtbot.waitUntil(lambda: any("mine.gguf" in t for t in installed_texts(manager)))
    assert manager.message_label.text().startswith("Imported mine.gguf: Gemma 4")
    [text] = [t for t in installed_texts(manager) if "mine.gguf" in t]
    assert "Gemma 4" in text and f"imported from {elsewhere}" in text
    assert model.exists() and manager.local_models[0].imported


def test_every_control_has_a_name_and_a_tooltip(open_manager: Factory, folder: Path, tiny_model: Path) -> None:
    shutil.copyfile(tiny_model, folder / "m.gguf")
    manager = open_manager(probe=lambda _f: hardware(10**10))
    for control in manager.findChildren(QPushButton):
        if control.text() == "Close":
            continue
        assert control.accessibleName() and control.toolTip(), control.text()
