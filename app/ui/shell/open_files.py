"""Files handed to the window from outside it: the command line (``gemma-desk FILE…``), a later launch (through
``single_instance``) and the desktop (macOS sends a ``QFileOpenEvent`` for a file opened with the app from the
Finder or dropped on its Dock icon).

``DeskApplication`` is the Qt application with one addition: it turns file-open events into a signal (an
override of ``event``; an event filter on the application would crash once Qt WebEngine renders).
``FileOpener`` holds the files until the window is shown, then gives them, a batch at a time, to the window's
``open_files``, which attaches them as a drop would (a ``.gguf`` is offered as the model to load).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from app.ui.shell.main_window import MainWindow

log = logging.getLogger(__name__)

#: File-open events arrive one file each; those this close together become one batch (one "load one model at a
#: time", one "already attached" check).
BATCH_MS = 50


class DeskApplication(QApplication):
    """The application object, which also hears the desktop asking it to open files (macOS)."""

    # Signals
    filesOpened = Signal(list)  # list[Path]

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = event.file() or event.url().toLocalFile()
            if path:
                self.filesOpened.emit([Path(path)])
            return True
        return super().event(event)


class FileOpener(QObject):
    """Files to attach, from wherever they come; held until the window is shown, then handed to it."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window: MainWindow | None = None
        self._pending: list[Path] = []
        self._sources: list[str] = []
        self._front = False
        self._timer = QTimer(self, singleShot=True, interval=BATCH_MS)
        self._timer.timeout.connect(self._flush)

    def listen_to(self, app: QApplication) -> None:
        """Take the desktop's file-open events (a ``DeskApplication``'s; a plain QApplication has none)."""
        if isinstance(app, DeskApplication):
            app.filesOpened.connect(self._on_app_filesOpened)

    def from_launch(self, paths: list[Path]) -> None:
        """Files a later ``gemma-desk`` handed over (none: it only asked for the window)."""
        self.open(paths, "a later launch")

    def _on_app_filesOpened(self, paths: list[Path]) -> None:
        self.open(paths, "the desktop")

    def set_window(self, window: MainWindow) -> None:
        """The window is shown: what came before goes to it now."""
        self._window = window
        if self._pending or self._front:
            self._timer.start(0)

    def open(self, paths: list[Path], source: str) -> None:
        """Attach ``paths`` (none: only bring the window to the front); ``source`` names where they came from."""
        self._front = True
        self._pending.extend(Path(p) for p in paths)
        if source not in self._sources:
            self._sources.append(source)
        if self._window is not None and not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        window = self._window
        if window is None:
            return
        paths, sources = self._pending, self._sources
        self._pending, self._sources, self._front = [], [], False
        if paths:
            log.info("attached %d file(s) from %s", len(paths), " and ".join(sources))
        else:
            log.info("came to the front for %s", " and ".join(sources))
        window.open_files(paths)
        if paths:
            _report_when_read(window)


def _report_when_read(window: MainWindow) -> None:
    """Log what the composer holds once its reads are done (what a person sees in the tray)."""
    intake = window.composer.intake

    def check() -> None:
        if intake.pending():
            return
        intake.changed.disconnect(check)
        names = ", ".join(a.name for a in intake.attachments())
        log.info("the composer holds %d attachment(s): %s", len(intake.attachments()), names)

    intake.changed.connect(check)
    check()
