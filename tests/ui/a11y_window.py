"""The real app on an X display with a chat that has every kind of block, for the AT-SPI tests.

    DISPLAY=:N QT_QPA_PLATFORM=xcb QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1 python -m tests.ui.a11y_window

Before the window opens it stores a chat in ``GEMMA_DESK_HOME``: a question with a text document attached and
an answer with a thought and a tool call (as the app stores them). The app starts the way ``gemma-desk`` does
(``run_app``, loading the last model of the settings); once the model is loaded it opens that chat, attaches
the document to the composer too (a document chip), and prints ``TOOLTIPS <json>`` (the accessible name and
tooltip of each control that has one) and ``READY``. Then it follows the lines appended to the file named by
``GEMMA_DESK_COMMANDS``: ``send TEXT`` sends TEXT to the model and prints ``ANSWERED <tokens> <characters>``
when the answer is finished; ``settings`` opens Settings and ``tab N`` shows its tab N, each printing ``TAB
<N> <tabs> <title>`` when shown, ``close-settings`` closes it; ``quit`` closes the window.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QApplication, QWidget

from app.chat.tool_steps import CallRecord, ToolStep
from app.engine.events import GenerationStats
from app.store import Store
from app.ui.shell.app import run_app
from app.ui.shell.main_window import MainWindow

QUESTION = "How long is the trip, and what does the itinerary say?"
THOUGHT = "The user attached an itinerary. I should add up the nights and check the dates with a tool."
ANSWER = "The trip is **three nights**: Lisbon from the 4th to the 7th, as the itinerary says."
STEP = ToolStep(
    text="I'll count the nights.",
    calls=[
        CallRecord("call_1", "calculator", {"expression": "7 - 4"}, source="builtin", tool="calculator", status="done")
    ],
)


def _say(*words: object) -> None:
    print(*words, flush=True)


def seed(home: Path) -> tuple[int, Path]:
    """The stored chat (its id) and the document file it attached."""
    doc = home / "itinerary.txt"
    doc.write_text("Lisbon, 4 to 7 December. Hotel near the river. Dinner on the 5th.\n", encoding="utf-8")
    store, _ = Store.open_or_recover()
    chat = store.create_conversation(title="Trip length", thinking=True)
    ref = store.store_attachment_file(doc, doc.name, "document", "text/plain")
    user = store.add_message(chat.id, parent_id=None, role="user", content=QUESTION, attachments=[ref])
    answer = store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER, model="tiny")
    store.update_message(answer.id, thinking=THOUGHT, thinking_seconds=2.0, status="complete", tools=[STEP.to_json()])
    store.close()
    return chat.id, doc


def tooltips(window: QWidget) -> list[list[str]]:
    """[accessible name, tooltip] of each control shown in the window that takes the keyboard focus."""
    found = []
    for widget in window.findChildren(QWidget):
        if widget.isVisible() and widget.focusPolicy() != Qt.FocusPolicy.NoFocus and widget.toolTip():
            face = QAccessible.queryAccessibleInterface(widget)
            name = face.text(QAccessible.Text.Name) if face is not None else widget.accessibleName()
            found.append([name, widget.toolTip()])
    return found


class Driver:
    def __init__(self, app: QApplication, chat_id: int, doc: Path, commands: Path) -> None:
        self.app = app
        self.chat_id = chat_id
        self.doc = doc
        self.commands = commands
        self.done_lines = 0
        self.window: MainWindow | None = None
        self.stage = "start"
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def tick(self) -> None:
        if self.window is None:
            found = [w for w in self.app.topLevelWidgets() if isinstance(w, MainWindow)]
            if not found:
                return
            self.window = found[0]
        window = self.window
        if self.stage == "start" and window.bridge.model_info is not None:
            self.stage = "opening"
            window.controller.open_conversation(self.chat_id, self.opened)
        elif self.stage == "chip" and window.composer.attachments() and not window.composer.pending_decodes():
            self.stage = "settling"
            QTimer.singleShot(500, self.ready)  # the chat laid out and shown
        elif self.stage == "ready":
            self.follow_commands(window)

    def opened(self) -> None:
        assert self.window is not None
        self.window.composer.add_files([self.doc])
        self.stage = "chip"

    def ready(self) -> None:
        assert self.window is not None
        self.stage = "ready"
        _say("TOOLTIPS", json.dumps(tooltips(self.window)))
        _say("READY")

    def follow_commands(self, window: MainWindow) -> None:
        if not self.commands.exists():
            return
        lines = self.commands.read_text(encoding="utf-8").splitlines()
        for line in lines[self.done_lines :]:
            self.done_lines += 1
            command, _, arg = line.partition(" ")
            if command == "quit":
                self.timer.stop()
                window.close()
            elif command == "send":
                self.send(window, arg)
            elif command == "settings":
                window.open_settings()
                QTimer.singleShot(500, lambda: self.settings_tab(window, 0))
            elif command == "tab":
                self.settings_tab(window, int(arg))
            elif command == "close-settings" and window.settings_dialog is not None:
                window.settings_dialog.reject()

    def settings_tab(self, window: MainWindow, index: int) -> None:
        """Show Settings' tab ``index``; print ``TAB <index> <count> <title>`` once it is laid out."""
        dialog = window.settings_dialog
        assert dialog is not None
        dialog.tabs.setCurrentIndex(index)
        title = dialog.tabs.tabText(index)
        QTimer.singleShot(300, lambda: _say("TAB", index, dialog.tabs.count(), title))

    def send(self, window: MainWindow, text: str) -> None:
        controller = window.controller
        tokens = [0]

        def counted(stats: GenerationStats) -> None:
            tokens[0] = stats.completion_tokens

        def finished(answer: str) -> None:
            controller.answerFinished.disconnect(finished)
            controller.statsChanged.disconnect(counted)
            QTimer.singleShot(0, lambda: _say("ANSWERED", tokens[0], len(answer)))

        controller.statsChanged.connect(counted)
        controller.answerFinished.connect(finished)
        window.composer.set_text(text)
        window.composer.send_button.click()


def main() -> int:
    from PySide6.QtCore import QCoreApplication

    home = Path(os.environ["GEMMA_DESK_HOME"])
    chat_id, doc = seed(home)
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(sys.argv[:1])
    driver = Driver(app, chat_id, doc, Path(os.environ["GEMMA_DESK_COMMANDS"]))
    code = run_app()
    del driver
    return code


if __name__ == "__main__":
    sys.exit(main())
