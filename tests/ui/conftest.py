"""Fixtures for the window tests: a private home folder, and the real window opened as the app opens it."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.settings import Settings
from app.ui import confirm
from app.ui.shell.app import create_window
from app.ui.shell.main_window import MainWindow

Launch = Callable[..., MainWindow]


@pytest.fixture
def answer() -> Iterator[Callable[[confirm.Answer], None]]:
    """Answer the window's yes/no questions (``app.ui.confirm``) with a function instead of a dialog."""
    yield confirm.set_answer
    confirm.set_answer(None)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data and settings folder for one test's window.

    The model does not title chats there: the tiny random model's titles are noise, and a title request after
    each first answer would change what later requests find in the engine. A test of titles turns them on."""
    monkeypatch.setenv("GEMMA_DESK_HOME", str(tmp_path / "home"))
    settings = Settings.load()
    settings.set("auto_titles", False)
    settings.save()
    return tmp_path / "home"


@pytest.fixture
def launch(qtbot: QtBot, home: Path) -> Iterator[Launch]:
    """``launch(**settings)``: save those settings, then open the window the way the app starts (store,
    recovery, settings), shown; every window opened is closed, and its store with it, after the test."""
    windows: list[MainWindow] = []

    def open_window(**settings: object) -> MainWindow:
        if settings:
            saved = Settings.load()
            saved.update(settings)
            saved.save()
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        window = create_window(app)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield open_window
    for window in windows:
        window.close()
        window.store.close()


#: ``open_window(model=None, mmproj=None)``: the window as the app opens it, shown, with that model loaded.
WindowFactory = Callable[..., MainWindow]


@pytest.fixture()
def open_window(qtbot: QtBot, home: Path) -> Iterator[WindowFactory]:
    windows: list[MainWindow] = []

    def make(model: Path | None = None, mmproj: Path | None = None) -> MainWindow:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        window = create_window(app)  # as the app starts: settings, store, recovery
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        if model is not None:
            window.load_model(model, mmproj)
            qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=30_000)
        return window

    yield make
    for window in windows:
        window.close()
        window.store.close()


@contextlib.contextmanager
def xvfb_display(*tools: tuple[str, str]) -> Iterator[str]:
    """A fresh Xvfb display (":N") for the ``with`` block; skips naming what is missing: Xvfb, or one of
    ``tools`` given as (program, Debian package)."""
    for tool, package in (("Xvfb", "xvfb"), *tools):
        if shutil.which(tool) is None:
            pytest.skip(f"no {tool} (apt install {package})")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        number = b""
        while not number.endswith(b"\n"):
            if not select.select([read], [], [], 20)[0] or not (chunk := os.read(read, 16)):
                pytest.skip("no Xvfb: the X server did not start")
            number += chunk
        yield f":{number.decode().strip()}"
    finally:
        os.close(read)
        server.terminate()
        server.wait(timeout=10)
