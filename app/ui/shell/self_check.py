"""The self-check's window part: the real window paints, loads a model, answers once and renders a sandboxed page.

``gemma-desk --self-check --check-model GGUF`` runs it (through ``app.ui.window_check``) after the
machine facts, so an installed bundle can prove its window, engine and preview work together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

Say = Callable[[str, str], None]  # prints one "Label: value" line of the self-check


def window_check(say: Say, model: Path, prompt: str, started: float) -> int:
    """The real window: first paint, a model load, one answer, and a sandboxed page. 1 if any fails."""
    import shiboken6
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from app.ui.shell.app import create_window

    app = QApplication.instance()  # made by _qt_facts
    painted: list[float] = []

    class FirstPaint(QObject):
        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(time.time())
            return False

    def wait(condition: object, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():  # type: ignore[operator]
            if time.monotonic() > deadline:
                return False
            app.processEvents()  # type: ignore[union-attr]
            time.sleep(0.005)
        return True

    window = create_window(app)  # type: ignore[arg-type]
    window.settings.set("max_tokens", 32)  # for this check only (not saved)
    watcher = FirstPaint(window)
    window.installEventFilter(watcher)
    window.show()
    ok = wait(lambda: bool(painted), 20)
    say("Window", f"first paint {painted[0] - started:.2f} s after start" if ok else "did not paint")
    window.load_model(model)
    loaded = wait(lambda: window.bridge.model_info is not None, 120)
    failed = False
    if not loaded:
        say("Model", f"did not load — {window.notice_bar.label.text()}")
        failed = True
    else:
        info = window.bridge.model_info
        assert info is not None
        say("Model", f"{info.name} on {info.backend}, {info.n_ctx:,} tokens of context")
        t0 = time.monotonic()
        window.controller.send(prompt, [])
        answered = wait(lambda: len(window.chat.messages) == 2 and not window.controller.generating, 120)
        text = window.chat.messages[1].text() if len(window.chat.messages) == 2 else ""
        if answered and text.strip():
            say("Answer", f"{len(text)} characters in {time.monotonic() - t0:.2f} s")
        else:
            say("Answer", "none")
            failed = True
    from app.ui.preview.pane import PreviewPane

    pane = PreviewPane()
    pane.show_html("<!DOCTYPE html><html><body><h1>Sandbox check</h1></body></html>")
    rendered: list[bool] = []
    pane.page.loadFinished.connect(rendered.append)
    shown = wait(lambda: bool(rendered), 30) and rendered[0]
    say("Preview", "renders in the sandbox" if shown else "did not render")
    failed |= not shown
    pane.close()
    shiboken6.delete(pane)  # the page goes before its profile
    window.close()
    window.store.close()
    app.processEvents()  # type: ignore[union-attr]
    return 1 if failed else 0
