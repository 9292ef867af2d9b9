"""The first run: no model → the welcome page recommends one, downloads it from a real local server, loads it.

The window is the real one (``create_window``) with the real downloader and engine; the catalog is a
one-model test catalog whose files (the tiny Gemma 4 and its projector) a real HTTP server on
127.0.0.1 serves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from app.models.download import part_path
from app.models.hardware import Hardware
from app.settings import Settings
from app.store import Store
from app.store.store import default_path
from app.ui import confirm
from app.ui.model_setup.downloads import FAILED, PAUSED
from app.ui.shell.main_window import MainWindow
from tests.models.http_fixture import FileServer
from tests.models.served_catalog import MMPROJ_FILE, MODEL_FILE, endpoint, serve_catalog
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui


Factory = Callable[..., MainWindow]


@pytest.fixture
def first_window(qtbot: QtBot, launch: Launch, server: FileServer) -> Factory:
    def make(catalog: Path, offer: str = "Download Tiny Gemma 4 (") -> MainWindow:
        """The window as the app opens it, with ``catalog``; waits until the welcome page offers ``offer``."""
        window = launch(hf_endpoint=endpoint(server), context_size=2048, max_tokens=16, seed=1)
        qtbot.waitUntil(lambda: window.models.report is not None, timeout=20_000)  # the shipped catalog's probe
        window.models.catalog_path = catalog
        window.models.check_machine()
        qtbot.waitUntil(lambda: window.welcome.primary.text().startswith(offer), timeout=20_000)
        return window

    return make


def test_first_run_recommends_downloads_loads_and_focuses_the_composer(
    qtbot: QtBot, first_window: Factory, server: FileServer, tmp_path: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    catalog = serve_catalog(server, tmp_path, tiny_model.read_bytes(), tiny_mmproj.read_bytes())
    server.slow_s, server.piece = 0.01, 32768
    window = first_window(catalog)
    welcome = window.welcome
    assert window.pages.currentWidget() is welcome
    assert welcome.machine.text().startswith("This machine:") and "RAM" in welcome.machine.text()
    assert "Recommended for this machine:" in welcome.pick.text() and "Tiny Gemma 4 Q8_0" in welcome.pick.text()

    qtbot.mouseClick(welcome.primary, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: " of " in welcome.progress_label.text(), timeout=10_000)  # "1.2 MB of 2.4 MB · …"
    assert welcome.pause.isVisible() and welcome.cancel.isVisible()
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=30_000)
    folder = Path(window.models.folder())
    assert (folder / MODEL_FILE).read_bytes() == tiny_model.read_bytes()
    assert (folder / MMPROJ_FILE).read_bytes() == tiny_mmproj.read_bytes()
    info = window.bridge.model_info
    assert info is not None and info.mmproj_path == folder / MMPROJ_FILE  # the projector came along
    assert window.pages.currentWidget() is window.chat
    assert "Tiny Gemma 4" in window.status.model_label.text()
    qtbot.waitUntil(window.composer.input.hasFocus, timeout=5_000)
    assert Settings.load().get_str("last_model_path") == str(folder / MODEL_FILE)  # loads again next time

    qtbot.keyClicks(window.composer.input, "Hello")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2 and not window.controller.generating, timeout=20_000)
    assert window.chat.messages[1].text().strip()


def test_old_chats_stay_readable_while_downloading_and_pause_resumes(
    qtbot: QtBot, first_window: Factory, server: FileServer, tmp_path: Path, tiny_model: Path, home: Path
) -> None:
    with Store.open(default_path()) as store:  # a chat from an earlier model
        chat = store.create_conversation("Trip to Lisbon")
        question = store.add_message(chat.id, parent_id=None, role="user", content="What to see in Lisbon?")
        store.add_message(chat.id, parent_id=question.id, role="assistant", content="Belém Tower and Alfama.")
    catalog = serve_catalog(server, tmp_path, tiny_model.read_bytes())
    server.slow_s, server.piece = 0.02, 4096  # ~200 KB/s
    window = first_window(catalog)
    qtbot.mouseClick(window.welcome.primary, Qt.MouseButton.LeftButton)
    job = window.welcome.job
    assert job is not None
    qtbot.waitUntil(lambda: job.last_progress is not None and job.last_progress.done > 20_000, timeout=10_000)

    window.sidebar.select(chat.id)  # reading an old chat while the model downloads
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5_000)
    assert window.pages.currentWidget() is window.chat
    assert window.chat.messages[1].text() == "Belém Tower and Alfama."
    assert job.state == "running"

    qtbot.mouseClick(window.welcome.pause, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job.state == PAUSED, timeout=10_000)
    part = part_path(Path(window.models.folder()) / MODEL_FILE)
    kept = part.stat().st_size
    assert kept > 0 and window.welcome.primary.text() == "Resume"
    server.slow_s = 0.0
    server.seen.clear()
    qtbot.mouseClick(window.welcome.primary, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=30_000)
    assert server.seen[0].range == f"bytes={kept}-"
    assert not part.exists()


def test_a_damaged_download_says_so_keeps_nothing_and_offers_retry(
    qtbot: QtBot, first_window: Factory, server: FileServer, tmp_path: Path, tiny_model: Path
) -> None:
    catalog = serve_catalog(server, tmp_path, tiny_model.read_bytes(), sha256=hashlib.sha256(b"other").hexdigest())
    window = first_window(catalog)
    qtbot.mouseClick(window.welcome.primary, Qt.MouseButton.LeftButton)
    job = window.welcome.job
    assert job is not None
    qtbot.waitUntil(lambda: job.state == FAILED, timeout=20_000)
    assert window.welcome.error.isVisible() and "checksum does not match" in window.welcome.error.text()
    assert window.welcome.primary.text() == "Retry"
    folder = Path(window.models.folder())
    assert not (folder / MODEL_FILE).exists() and not part_path(folder / MODEL_FILE).exists()
    assert window.bridge.model_info is None and window.pages.currentWidget() is window.welcome


def test_a_download_interrupted_by_a_restart_is_offered_for_resuming(
    qtbot: QtBot, first_window: Factory, server: FileServer, tmp_path: Path, tiny_model: Path, home: Path
) -> None:
    data = tiny_model.read_bytes()
    catalog = serve_catalog(server, tmp_path, data)
    folder = home / "models"
    folder.mkdir(parents=True)
    part_path(folder / MODEL_FILE).write_bytes(data[: len(data) // 3])  # what a killed app left
    window = first_window(catalog, offer="Resume the download")
    assert "A download was interrupted" in window.welcome.pick.text()
    qtbot.mouseClick(window.welcome.primary, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=30_000)
    assert server.seen[-1].range == f"bytes={len(data) // 3}-"
    assert (folder / MODEL_FILE).read_bytes() == data


def test_a_download_server_setting_that_cannot_work_is_a_message(
    qtbot: QtBot, first_window: Factory, server: FileServer, tmp_path: Path, tiny_model: Path
) -> None:
    window = first_window(serve_catalog(server, tmp_path, tiny_model.read_bytes()))
    window.settings.set("hf_endpoint", "mirror.example.org")  # no scheme: typed by hand in Settings
    qtbot.mouseClick(window.welcome.primary, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.welcome.error.isVisible(), timeout=5_000)
    assert "'mirror.example.org' is not an http:// or https:// address" in window.welcome.error.text()
    assert window.welcome.primary.text() == "Retry" and server.seen == []


def test_a_damaged_catalog_is_a_notice_not_a_crash(
    qtbot: QtBot, first_window: Factory, server: FileServer, tmp_path: Path
) -> None:
    window = first_window(serve_catalog(server, tmp_path / "good", b"GGUF"))
    bad = tmp_path / "models.toml"
    bad.write_text('schema = 1\n[[models]]\nid = "x"\nname = 3\n', encoding="utf-8")
    window.models.catalog_path = bad
    window.models.check_machine()
    qtbot.waitUntil(lambda: "damaged" in window.notice_bar.label.text(), timeout=10_000)
    assert "model 'x': missing 'active_params_b'" in window.notice_bar.label.text()
    assert window.welcome.open_file.isEnabled()  # a GGUF the user has still works


def test_loading_a_model_that_will_not_fit_asks_first(
    qtbot: QtBot,
    first_window: Factory,
    server: FileServer,
    tmp_path: Path,
    tiny_model: Path,
    answer: Callable[[confirm.Answer], None],
) -> None:
    window = first_window(serve_catalog(server, tmp_path, tiny_model.read_bytes()))
    real = window.models.probe

    def small_machine(folder: Path) -> Hardware:
        return replace(real(folder), ram_available=1_000_000, gpus=())  # 1 MB free

    asked: list[str] = []

    def decline(title: str, text: str) -> bool:
        asked.append(f"{title}: {text}")
        return False

    window.models.probe = small_machine
    answer(decline)
    window.load_model(tiny_model)
    qtbot.waitUntil(lambda: "was not loaded" in window.notice_bar.label.text(), timeout=10_000)
    assert asked and asked[0].startswith("This model will not fit: Too big: needs")
    assert window.bridge.model_info is None and not window.bridge.is_loading

    answer(lambda title, text: True)  # "Load anyway"
    window.load_model(tiny_model)
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)


def test_ctrl_m_opens_the_model_manager_and_its_load_loads(
    qtbot: QtBot, first_window: Factory, server: FileServer, tmp_path: Path, tiny_model: Path
) -> None:
    window = first_window(serve_catalog(server, tmp_path, tiny_model.read_bytes()))
    qtbot.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window._manager is not None and window._manager.isVisible(), timeout=5_000)
    manager = window._manager
    assert manager is not None
    qtbot.addWidget(manager)
    labels = " ".join(w.text() for w in manager.findChildren(QLabel))
    assert "Tiny Gemma 4" in labels  # the window's catalog, not a second copy
    manager.loadRequested.emit(tiny_model, None)  # what its Load buttons send
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
    assert window.pages.currentWidget() is window.chat
