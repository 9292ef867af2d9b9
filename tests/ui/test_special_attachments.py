"""Dropped, pasted or picked paths that are not regular files (pipes, devices, sockets, folders) in the real composer.

Each is refused with a one-line notice, promptly, and no tile stays behind; nothing blocks a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from app.ui.composer.composer import Composer

pytestmark = pytest.mark.gui

HINT = "attach a picture, sound, video or document file."


@pytest.fixture
def folder() -> Iterator[Path]:
    """A short folder path (a unix socket's path must fit in about 100 bytes), with its pipes released afterwards."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes need a POSIX system (no os.mkfifo)")
    with tempfile.TemporaryDirectory(prefix="gd-") as name:
        root = Path(name)
        yield root
        for path in root.iterdir():  # should a reader still wait in open() on a pipe, let it go
            if path.is_fifo():
                with contextlib.suppress(OSError):
                    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture
def composer(qtbot: QtBot) -> Iterator[Composer]:
    widget = Composer()
    qtbot.addWidget(widget)
    widget.set_capabilities(model_loaded=True, vision=True, audio=True, model_name="Gemma 4 E4B")
    widget.resize(640, 200)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


def _settled(qtbot: QtBot, composer: Composer, notices: list[str], count: int) -> list[str]:
    """Wait (5 s at most) for every decode to end in a notice; nothing may be attached."""
    qtbot.waitUntil(lambda: composer.pending_decodes() == 0 and len(notices) >= count, timeout=5_000)
    assert composer.attachments() == [] and composer.tray.tiles() == []
    return notices


def _notices(composer: Composer) -> list[str]:
    seen: list[str] = []
    composer.noticeRequested.connect(seen.append)
    return seen


def _urls(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_dropping_pipes_devices_sockets_and_folders(qtbot: QtBot, composer: Composer, folder: Path) -> None:
    os.mkfifo(folder / "pipe")  # no extension: judged by content, which used to mean open() and wait
    os.mkfifo(folder / "pipe.png")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(folder / "snap.jpg"))
        (folder / "album").mkdir()
        paths = [folder / "pipe", folder / "pipe.png", folder / "snap.jpg", folder / "album"]
        if Path("/dev/zero").exists():
            paths.append(Path("/dev/zero"))
        notices = _notices(composer)
        mime = _urls(*paths)  # the event does not own its data: keep it alive
        drop = QDropEvent(
            QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
        composer.dropEvent(drop)
        _settled(qtbot, composer, notices, len(paths))
    expected = {
        f"pipe is not a regular file (a named pipe); {HINT}",
        f"pipe.png is not a regular file (a named pipe); {HINT}",
        f"snap.jpg is not a regular file (a socket); {HINT}",
        f"album is a folder, not a file; {HINT}",
    }
    if len(paths) == 5:
        expected.add(f"zero is not a regular file (a device); {HINT}")
    assert set(notices) == expected and len(notices) == len(paths)


def test_pasting_the_url_of_a_pipe(qtbot: QtBot, composer: Composer, folder: Path) -> None:
    os.mkfifo(folder / "voice.wav")
    notices = _notices(composer)
    composer.input.insertFromMimeData(_urls(folder / "voice.wav"))
    assert _settled(qtbot, composer, notices, 1) == [f"voice.wav is not a regular file (a named pipe); {HINT}"]
    assert composer.text() == ""


def test_picking_a_pipe_in_the_attach_dialog(
    qtbot: QtBot, composer: Composer, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.mkfifo(folder / "clip.mp4")

    def picker(parent: object, caption: str, where: str, filters: str) -> tuple[list[str], str]:
        return [str(folder / "clip.mp4")], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", picker)  # the native dialog cannot be driven offscreen
    notices = _notices(composer)
    composer.attach_button.click()
    assert _settled(qtbot, composer, notices, 1) == [f"clip.mp4 is not a regular file (a named pipe); {HINT}"]
