"""The slim bar above the conversation: the chat's title, its preset as a chip, and its system prompt's first line.

The chip opens the chat's set-up (``ChatSetupDialog``); everything shown is plain text (titles and prompts are the
user's, never markup).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from app.ui.icons import set_icon

PROMPT_EXCERPT_CHARS = 200


def _plain_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class ChatHeader(QFrame):
    """``show_chat(title, preset, prompt)``; ``setupRequested`` when the chip is pressed."""

    # Signals
    setupRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatHeader")
        self.title = _plain_label(self)
        self.title.setObjectName("ChatTitle")
        self.title.setAccessibleName("Chat title")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.chip = QToolButton(self)
        self.chip.setObjectName("PresetChip")
        set_icon(self.chip, "preset")
        self.chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.chip.setAccessibleName("System prompt and preset")
        self.chip.setToolTip("This chat's preset and system prompt: press to change them")
        self.chip.setCursor(Qt.CursorShape.PointingHandCursor)
        self.chip.clicked.connect(self.setupRequested)
        self.prompt = _plain_label(self)
        self.prompt.setObjectName("PromptExcerpt")
        self.prompt.setAccessibleName("System prompt")
        self.prompt.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 12, 4)
        layout.setSpacing(10)
        layout.addWidget(self.title, 2)
        layout.addWidget(self.chip)
        layout.addWidget(self.prompt, 3)
        self._title_text = ""
        self._prompt_text = ""
        self._styled = ""
        self._restyle()

    def show_chat(self, title: str, preset: str, prompt: str, *, prompt_is_default: bool = False) -> None:
        """The chat's ``title``; ``preset``: what the chip says; ``prompt``: the system prompt the model gets."""
        self._title_text = " ".join(title.split()) or "New chat"
        self.chip.setText(preset)
        first = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
        if first:
            excerpt = first[:PROMPT_EXCERPT_CHARS]
            self._prompt_text = f"Default prompt: {excerpt}" if prompt_is_default else excerpt
        else:
            self._prompt_text = "No system prompt"
        self.prompt.setToolTip(prompt[:2000] if prompt.strip() else "The model gets no system prompt in this chat.")
        self.prompt.setAccessibleDescription(self.prompt.toolTip())
        self._elide()

    def title_text(self) -> str:
        return self._title_text

    def prompt_text(self) -> str:
        """The excerpt of the system prompt the bar shows (before eliding)."""
        return self._prompt_text

    def _elide(self) -> None:
        for label, text in ((self.title, self._title_text), (self.prompt, self._prompt_text)):
            width = max(label.width(), 40)
            label.setText(label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, width))
        self.title.setToolTip(self._title_text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()

    def _restyle(self) -> None:
        """A rounded chip and a hairline under the bar, in the palette's colours (light, dark, high contrast)."""
        p = self.palette()
        highlight = p.highlight().color()
        tint = f"rgba({highlight.red()}, {highlight.green()}, {highlight.blue()}, 36)"
        sheet = (
            f"#ChatHeader {{ border: none; border-bottom: 1px solid {p.mid().color().name()}; }}"
            f"#PresetChip {{ background: {tint}; border: 1px solid {highlight.name()}; border-radius: 11px;"
            f" padding: 2px 10px; color: {p.windowText().color().name()}; }}"
            f"#PresetChip:hover {{ background: {highlight.name()}; color: {p.highlightedText().color().name()}; }}"
            f"#PresetChip:focus {{ border: 2px solid {highlight.name()}; }}"
        )
        if sheet != self._styled:  # (setting it changes the palette again: only when it differs)
            self._styled = sheet
            self.setStyleSheet(sheet)
