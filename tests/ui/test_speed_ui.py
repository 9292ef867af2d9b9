"""Speed in the window: the catalog rows' "about N tok/s", the welcome page's pick and its offer of a model that
hears, and a real answer recorded so the estimates learn this machine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.models.advice import advise
from app.models.catalog import load_catalog
from app.models.hardware import Hardware
from app.models.speed import Speeds
from app.models.speed.observed import Observation, Observations, Sample, load_observations
from app.models.variants import Variant, all_variants, assess
from app.ui.model_setup.catalog_row import CatalogRow
from app.ui.model_setup.downloads import Downloads
from app.ui.model_setup.welcome_page import WelcomePage
from app.units import GB
from tests.models.test_speed import DESKTOP
from tests.ui.conftest import WindowFactory
from tests.ui.test_main_window import configure, send, wait_idle

pytestmark = pytest.mark.gui

CATALOG = load_catalog()


def desktop(ram_gb: float) -> Hardware:
    return Hardware(int(ram_gb * 1.2 * GB), int(ram_gb * GB), 8, 8, ("CPU",), (), 500 * GB, "Linux", "x86_64", False)


@pytest.fixture
def downloads() -> Iterator[Downloads]:
    jobs = Downloads()
    yield jobs
    jobs.pause_all()


def row_for(qtbot: QtBot, downloads: Downloads, ref: str, hw: Hardware, speeds: Speeds) -> CatalogRow:
    model = CATALOG.model(ref)
    row = CatalogRow(model, downloads)
    qtbot.addWidget(row)
    fits = {v.ref: assess(v, hw, speeds=speeds) for v in all_variants(CATALOG) if v.model is model}
    row.set_fits(fits, None)
    return row


def test_catalog_rows_show_the_speed_beside_the_fit(qtbot: QtBot, downloads: Downloads) -> None:
    speeds = Speeds(DESKTOP)
    e4b = row_for(qtbot, downloads, "e4b", desktop(32), speeds)
    assert e4b.badge_label.text().startswith("needs ") and e4b.badge_label.text().endswith("— Fits")
    assert e4b.speed_label.text().startswith("· about ") and e4b.speed_label.text().endswith(" tok/s")
    assert not e4b.speed_label.isHidden() and e4b.speed_label.accessibleName() == "Gemma 4 E4B speed on this machine"
    assert "estimated from this machine's measured memory bandwidth" in e4b.speed_label.toolTip()
    fast = e4b.speed_label.text()
    e4b.quant_combo.setCurrentIndex(e4b.quant_combo.findData("Q8_0"))  # twice the bytes per token
    assert e4b.speed_label.text() != fast
    dense = row_for(qtbot, downloads, "31b", desktop(32), speeds)
    assert dense.badge_label.text().endswith("— Slow here")  # ~2 tok/s on this desktop
    assert "Slow here: it writes about" in dense.badge_label.toolTip()
    tiny_ram = row_for(qtbot, downloads, "31b", desktop(8), speeds)
    assert tiny_ram.badge_label.text().endswith("Too big") and tiny_ram.speed_label.isHidden()


def test_a_model_measured_here_says_measured(qtbot: QtBot, downloads: Downloads) -> None:
    model = CATALOG.model("e4b")
    file = Path(model.default_quant.file.name).name
    observed = Observations((Observation(file, "cpu", (Sample(0.0, 4096, decode=11.0, decode_estimate=14.0),)),))
    row = row_for(qtbot, downloads, "e4b", desktop(32), Speeds(DESKTOP, None, observed))
    assert row.speed_label.text() == "· measured 11 tok/s"
    assert "measured while this model answered here" in row.speed_label.toolTip()


def test_the_welcome_page_offers_a_model_that_hears_beside_one_that_cannot(qtbot: QtBot, tmp_path: Path) -> None:
    hw = desktop(96)
    advice = advise(CATALOG, hw, speeds=Speeds(DESKTOP))
    assert advice.pick is not None and advice.for_voice is not None
    page = WelcomePage()
    qtbot.addWidget(page)
    page.set_machine(hw, tmp_path, advice.pick, None, None, advice)
    text = page.pick.text()
    assert "Recommended for this machine: <b>Gemma 4 26B A4B" in text and " and writes about " in text
    assert not page.voice_note.isHidden() and "Gemma 4 26B A4B cannot hear: push-to-talk needs E2B or E4B" in (
        page.voice_note.text()
    )
    assert not page.voice.isHidden() and page.voice.text().startswith(f"Download {advice.for_voice.variant.model.name}")
    with qtbot.waitSignal(page.downloadRequested) as asked:
        qtbot.mouseClick(page.voice, Qt.MouseButton.LeftButton)
    assert isinstance(asked.args[0], Variant) and asked.args[0].model.can_hear
    # A pick that hears needs no offer.
    small = advise(CATALOG, desktop(12), speeds=Speeds(DESKTOP))
    page.set_machine(desktop(12), tmp_path, small.pick, None, None, small)
    assert page.voice_note.isHidden() and page.voice.isHidden()


def test_an_answer_in_the_window_is_recorded_for_the_estimates(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    configure(max_tokens=200)
    window = open_window(tiny_model)
    send(qtbot, window, "Hello there")
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: (home / "decode-speeds.json").is_file(), timeout=20_000)
    kept = json.loads((home / "decode-speeds.json").read_text())
    assert kept["models"][0]["file"] == tiny_model.name and kept["models"][0]["samples"][0]["decode"] > 0
    observed = load_observations(home)
    assert observed.measured(tiny_model.name, "cpu") is not None
