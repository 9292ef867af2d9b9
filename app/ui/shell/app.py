"""Starting the window: the Qt application, theme, the chat store, the main window, and the files it opens with."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QProgressDialog

from app.applog import setup_logging
from app.paths import resource_path
from app.settings import Settings
from app.settings.preset_book import PresetBook
from app.store import Store
from app.tools.tool_settings import ToolSettings
from app.ui import accessible
from app.ui.shell.main_window import MainWindow
from app.ui.shell.open_files import DeskApplication, FileOpener
from app.ui.shell.single_instance import Instance, InstanceServer
from app.ui.shell.theme import apply_theme
from app.ui.tasks import run_on_db

#: The engine thread needs the GIL only briefly per token; hand it over quickly
#: while the GUI thread renders markdown (Python's default waits 5 ms).
GIL_SWITCH_INTERVAL_S = 0.0005


def allow_webengine_as_root() -> None:
    """Chromium refuses to start its sandboxed renderer as root (containers, CI): tell it not to try."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


#: Opening the chats longer than this (a damaged database being repaired or salvaged) shows a small busy window.
QUIET_OPEN_S = 0.3


def open_store() -> tuple[Store, str | None, int]:
    """The chat store, opened on the store thread (checked, and repaired or salvaged when damaged), with its notice
    and the number of interrupted answers recovered. The GUI thread keeps handling events meanwhile; should it take
    a while, a small window says so."""

    def work() -> tuple[Store, str | None, int]:
        store, notice = Store.open_or_recover()
        return store, notice, store.recover_interrupted()

    future = run_on_db(work, on_error=lambda _error: None)  # raised below, on this thread
    with contextlib.suppress(TimeoutError):
        return future.result(timeout=QUIET_OPEN_S)
    busy = QProgressDialog("Opening your chats…", "", 0, 0)
    busy.setWindowTitle("Gemma Desk")
    busy.setCancelButton(None)
    busy.setMinimumDuration(0)
    busy.show()
    loop = QEventLoop()

    def check() -> None:
        if future.done():
            loop.quit()

    poll = QTimer(interval=50)
    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    busy.close()
    return future.result()


def create_window(app: QApplication) -> MainWindow:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    settings = Settings.load()
    tool_settings = ToolSettings.load()
    presets = PresetBook.load()
    apply_theme(settings.get_str("theme"))
    store, notice, recovered = open_store()
    if recovered and not notice:
        notice = (
            f"Gemma Desk closed while {'an answer was' if recovered == 1 else f'{recovered} answers were'} "
            "being written; what had been written is kept."
        )
    return MainWindow(store, settings, store_notice=notice, tool_settings=tool_settings, presets=presets)


def run_app(files: Sequence[Path] = (), instance: Instance | None = None, argv: list[str] | None = None) -> int:
    """Open the window and attach ``files``. ``instance`` (from ``single_instance.claim``): when it is this
    user's primary window, it listens for later launches and takes their files."""
    t0 = time.perf_counter()
    setup_logging()
    app = _application(argv)
    opener = FileOpener(app)
    opener.listen_to(app)
    window = create_window(app)
    window.show()
    logging.getLogger(__name__).info("window shown %.3f s after start", time.perf_counter() - t0)
    if files:
        opener.open(list(files), "the command line")
    opener.set_window(window)
    server: InstanceServer | None = None
    if instance is not None and instance.primary:  # now: a launch meanwhile waited, and is answered at once
        server = InstanceServer(app)
        server.filesReceived.connect(opener.from_launch)
        server.listen()
    code = app.exec()
    if server is not None:
        server.close()
    if instance is not None:
        instance.release()
    window.store.close()
    return int(code)


def _application(argv: list[str] | None) -> QApplication:
    """The Qt application (the one already made, if any), named, styled and with the app's icon."""
    allow_webengine_as_root()
    accessible.install()  # the roles and states Qt's own accessible interfaces lack
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)  # the preview's WebEngine
    app = QApplication.instance() or DeskApplication(sys.argv[:1] if argv is None else argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Gemma Desk")
    app.setApplicationDisplayName("Gemma Desk")
    app.setDesktopFileName("gemma-desk")
    app.setStyle("Fusion")
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        icon.addFile(str(resource_path(f"icons/gemma-desk-{size}.png")))
    app.setWindowIcon(icon if not icon.isNull() else QIcon.fromTheme("gemma-desk"))
    return app
