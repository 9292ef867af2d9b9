"""The app's identity: one version everywhere, the icon at every size, and an About box that says what runs."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import llama_cpp
import pytest
from PIL import Image
from PySide6.QtCore import qVersion
from pytestqt.qtbot import QtBot

import app
from app.engine.cpu_variants import loaded_variant
from app.paths import resource_path
from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui


def test_the_version_lives_in_one_place() -> None:
    assert importlib.metadata.version("gemma-desk") == app.__version__
    spec = (Path(__file__).resolve().parents[2] / "packaging" / "gemma-desk.spec").read_text()
    assert "from app import __version__" in spec and "0.1.0" not in spec


def test_the_icon_exists_at_the_standard_sizes() -> None:
    for size in (16, 24, 32, 48, 64, 128, 256, 512, 1024):
        with Image.open(resource_path(f"icons/gemma-desk-{size}.png")) as image:
            assert image.size == (size, size) and image.mode == "RGBA"
    with Image.open(resource_path("icons/gemma-desk.ico")) as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(resource_path("icons/gemma-desk.icns")) as icns:
        assert icns.format == "ICNS"
    assert resource_path("icons/gemma-desk.svg").read_text().lstrip().startswith("<?xml")


@pytest.fixture
def window(launch: Launch) -> MainWindow:
    return launch()


def test_about_names_the_engine_qt_and_the_model(qtbot: QtBot, window: MainWindow, tiny_model: Path) -> None:
    before = window.about_text()
    assert f"Gemma Desk {app.__version__}" in before and "none loaded" in before
    window.load_model(tiny_model)
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
    text = window.about_text()
    assert f"llama-cpp-python {llama_cpp.__version__}" in text and "(CPU)" in text
    assert f"<b>Qt:</b> {qVersion()}" in text
    assert "Tiny Gemma 4 (test) (gemma4" in text and tiny_model.name in text
    variant = loaded_variant()
    assert variant is not None and f"<b>CPU kernels:</b> {variant.label}" in text
