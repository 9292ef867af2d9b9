"""The question before a tool call runs, inline in the answer: which tool, where it runs, with what arguments.

The card shows the source ("Built-in" / "MCP server ‘x’"), the tool's name and its full arguments (indented JSON,
monospace, selectable, never cut: long ones scroll), and asks: **Allow once**, **Always allow** (a menu: in this
chat / everywhere) or **Deny**. The keyboard reaches every button; the focus starts on the arguments, so a
stray Enter allows nothing. ``decided`` carries the answer as ``app.tools.consent.Decision``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QVBoxLayout, QWidget

from app.tools.consent import ConsentRequest
from app.ui.chat.tool_block import fit_height, monospace_view, set_long_text


def _muted(widget: QWidget) -> str:
    """Secondary text that still reads well on the card (light or dark)."""
    return "#b0b5ba" if widget.palette().window().color().lightness() < 128 else "#4f5459"  # 4.5:1 on the card


class ConsentCard(QFrame):
    """Allow once / Always allow (in this chat, everywhere) / Deny, for one call."""

    # Signals
    decided = Signal(str)  # "once", "chat", "always" or "deny"

    def __init__(self, request: ConsentRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ConsentCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.request = request
        self.setAccessibleName(f"Allow {request.tool_name} from {request.source_label} to run?")

        title = QLabel(f"<b>Allow this tool to run?</b>  {request.tool_name} · {request.source_label}", self)
        title.setTextFormat(Qt.TextFormat.RichText)
        title.setObjectName("ConsentTitle")
        title.setWordWrap(True)
        description = request.tool.spec.description.strip()
        about = QLabel(description, self)
        about.setWordWrap(True)
        about.setTextFormat(Qt.TextFormat.PlainText)
        about.setStyleSheet(f"color: {_muted(self)};")
        about.setVisible(bool(description))
        self.arguments = monospace_view(f"Arguments for {request.tool_name}", self)
        set_long_text(self.arguments, request.pretty_arguments)
        self.arguments.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.arguments.setTabChangesFocus(True)
        note = QLabel("The tool says it only reads." if request.read_only else "", self)
        note.setStyleSheet(f"color: {_muted(self)};")
        note.setVisible(request.read_only)

        buttons = self._build_buttons()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(about)
        layout.addWidget(self.arguments)
        layout.addWidget(note)
        layout.addLayout(buttons)
        self.answered = False

    def _build_buttons(self) -> QHBoxLayout:
        self.allow_once = QPushButton("Allow once", self)
        self.allow_once.setToolTip("Run this call now; ask again next time")
        self.allow_once.setAutoDefault(False)
        self.always = QPushButton("Always allow", self)
        self.always.setToolTip("Run this call and stop asking about this tool: in this chat, or everywhere")
        self.always.setAutoDefault(False)
        menu = QMenu(self.always)
        self.in_chat = QAction("In this chat", menu)
        self.everywhere = QAction("Everywhere (all chats)", menu)
        menu.addAction(self.in_chat)
        menu.addAction(self.everywhere)
        self.always.setMenu(menu)
        self.deny = QPushButton("Deny", self)
        self.deny.setToolTip("Do not run it; the model is told you declined")
        self.deny.setAutoDefault(False)
        self.allow_once.clicked.connect(lambda: self._decide("once"))
        self.in_chat.triggered.connect(lambda: self._decide("chat"))
        self.everywhere.triggered.connect(lambda: self._decide("always"))
        self.deny.clicked.connect(lambda: self._decide("deny"))

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 2, 0, 0)
        buttons.setSpacing(6)
        buttons.addWidget(self.allow_once)
        buttons.addWidget(self.always)
        buttons.addStretch(1)
        buttons.addWidget(self.deny)
        return buttons

    def focus(self) -> None:
        """Put the keyboard on the arguments (read first; Tab reaches the buttons)."""
        self.arguments.setFocus(Qt.FocusReason.OtherFocusReason)
        QTimer.singleShot(0, lambda: fit_height(self.arguments))

    def _decide(self, decision: str) -> None:
        if self.answered:
            return
        self.answered = True
        for button in (self.allow_once, self.always, self.deny):
            button.setEnabled(False)
        self.decided.emit(decision)
