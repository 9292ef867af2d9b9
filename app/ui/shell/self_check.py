"""The self-check's window part: the real window paints, loads a model, answers once and renders a sandboxed page.

``gemma-desk --self-check --check-model GGUF`` runs it (through ``app.ui.window_check``) after the
machine facts, so an installed bundle can prove its window, engine and preview work together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from app.ui.shell.main_window import MainWindow

Say = Callable[[str, str], None]  # prints one "Label: value" line of the self-check


class _FirstPaint(QObject):
    """Notes when the window first paints (an event filter on the window itself, not on the application)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.at: float | None = None

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.at is None:
            self.at = time.time()
        return False


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    """Run the event loop until ``condition`` holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        QApplication.processEvents()
        time.sleep(0.005)
    return True


def _check_answer(say: Say, window: MainWindow, model: Path, prompt: str) -> bool:
    """Load ``model`` and ask it ``prompt``; True when a non-empty answer came back."""
    window.load_model(model)
    if not _wait(lambda: window.bridge.model_info is not None, 120):
        say("Model", f"did not load — {window.notice_bar.label.text()}")
        return False
    info = window.bridge.model_info
    assert info is not None
    say("Model", f"{info.name} on {info.backend}, {info.n_ctx:,} tokens of context")
    t0 = time.monotonic()
    window.controller.send(prompt, [])
    answered = _wait(lambda: len(window.chat.messages) == 2 and not window.controller.generating, 120)
    text = window.chat.messages[1].text() if len(window.chat.messages) == 2 else ""
    if answered and text.strip():
        say("Answer", f"{len(text)} characters in {time.monotonic() - t0:.2f} s")
        return True
    say("Answer", "none")
    return False


def _check_preview(say: Say) -> bool:
    """A page renders in the preview's sandbox."""
    import shiboken6

    from app.ui.preview.pane import PreviewPane

    pane = PreviewPane()
    pane.show_html("<!DOCTYPE html><html><body><h1>Sandbox check</h1></body></html>")
    rendered: list[bool] = []
    pane.page.loadFinished.connect(rendered.append)
    shown = _wait(lambda: bool(rendered), 30) and rendered[0]
    say("Preview", "renders in the sandbox" if shown else "did not render")
    pane.close()
    shiboken6.delete(pane)  # the page goes before its profile
    return shown


def window_check(say: Say, model: Path, prompt: str, started: float) -> int:
    """The real window: first paint, a model load, one answer, and a sandboxed page. 1 if any fails."""
    from app.ui.shell.app import create_window

    app = QApplication.instance()  # made by the self-check's Qt facts
    assert isinstance(app, QApplication)
    window = create_window(app)
    window.settings.set("max_tokens", 32)  # for this check only (not saved)
    first_paint = _FirstPaint(window)
    window.installEventFilter(first_paint)
    window.show()
    _wait(lambda: first_paint.at is not None, 20)
    say("Window", f"first paint {first_paint.at - started:.2f} s after start" if first_paint.at else "did not paint")
    answered = _check_answer(say, window, model, prompt)
    shown = _check_preview(say)
    window.close()
    window.store.close()
    app.processEvents()
    return 0 if answered and shown else 1
