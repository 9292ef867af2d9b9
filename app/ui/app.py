"""Starting the window: the Qt application, theme, the chat store, and the main window."""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from app.applog import setup_logging
from app.settings import Settings
from app.store import Store
from app.ui.main_window import MainWindow

_SCHEMES = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark, "system": Qt.ColorScheme.Unknown}


def apply_theme(theme: str) -> None:
    """ "system" follows the OS; "light"/"dark" force Qt's colour scheme."""
    QGuiApplication.styleHints().setColorScheme(_SCHEMES.get(theme, Qt.ColorScheme.Unknown))


#: The engine thread needs the GIL only briefly per token; hand it over quickly
#: while the GUI thread renders markdown (Python's default waits 5 ms).
GIL_SWITCH_INTERVAL_S = 0.0005


def create_window(app: QApplication) -> MainWindow:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    settings = Settings.load()
    apply_theme(settings.get_str("theme"))
    store, notice = Store.open_or_recover()
    recovered = store.recover_interrupted()
    if recovered and not notice:
        notice = (
            f"Gemma Desk closed while {'an answer was' if recovered == 1 else f'{recovered} answers were'} "
            "being written; what had been written is kept."
        )
    return MainWindow(store, settings, store_notice=notice)


def run_app(argv: list[str] | None = None) -> int:
    """``gemma-desk`` with no command: open the window."""
    t0 = time.perf_counter()
    setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1] if argv is None else argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Gemma Desk")
    app.setApplicationDisplayName("Gemma Desk")
    app.setDesktopFileName("gemma-desk")
    app.setStyle("Fusion")
    icon = QIcon.fromTheme("gemma-desk")
    if not icon.isNull():
        app.setWindowIcon(icon)
    window = create_window(app)
    window.show()
    import logging

    logging.getLogger(__name__).info("window shown %.3f s after start", time.perf_counter() - t0)
    code = app.exec()
    window.store.close()
    return int(code)
