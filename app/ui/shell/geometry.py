"""Where the window was: its size, position and sidebar width, kept in ``window.ini`` beside the settings."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, QSize
from PySide6.QtWidgets import QMainWindow, QSplitter

from app.paths import config_dir

DEFAULT_SIZE = (1100, 760)


def _qsettings() -> QSettings:
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


def restore_geometry(window: QMainWindow, splitter: QSplitter) -> None:
    q = _qsettings()
    geometry = q.value("geometry")
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
        size = q.value("size")
        if isinstance(size, QSize) and size.isValid():  # some platforms restore the frame, not the size
            window.resize(size)
    else:
        window.resize(*DEFAULT_SIZE)
    state = q.value("splitter")
    if isinstance(state, QByteArray) and not state.isEmpty():
        splitter.restoreState(state)


def save_geometry(window: QMainWindow, splitter: QSplitter) -> None:
    q = _qsettings()
    q.setValue("geometry", window.saveGeometry())
    q.setValue("size", window.size())
    q.setValue("splitter", splitter.saveState())
    q.sync()
