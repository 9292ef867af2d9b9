"""Starter prompts in an empty chat, matched to what the loaded model can do.

Every model gets a few text prompts; a model that sees adds "Describe a picture" and "Turn a screenshot into
HTML"; a model that hears adds "Ask by voice", which points at push-to-talk. Choosing one fills the composer
(nothing is sent) and focuses it; one that needs a picture says how to add it. The chat view hides them once the
chat has a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.composer.composer import Composer
from app.ui.composer.screenshot_action import PROMPT as SCREENSHOT_PROMPT


@dataclass(frozen=True)
class Starter:
    """One starter: its button's title and line of help, the prompt it writes, what it needs from the user."""

    title: str
    hint: str
    prompt: str
    needs: str = ""  # "", "picture" or "voice"


TEXT_STARTERS = (
    Starter(
        "Explain a concept simply",
        "In plain words, with an everyday example",
        "Explain this simply, with an everyday example: ",
    ),
    Starter(
        "Help me write an email",
        "Short, clear and friendly",
        "Help me write a short, friendly email. Who it is to and what it should say: ",
    ),
    Starter(
        "Brainstorm ideas",
        "Ten ideas to start from",
        "Give me ten varied ideas for ",
    ),
)
PICTURE_STARTERS = (
    Starter(
        "Describe a picture",
        "Add a picture and ask what is in it",
        "Describe this picture in detail: what it shows, and anything unusual in it.",
        "picture",
    ),
    Starter(
        "Turn a screenshot into HTML",
        "A web page recreated from a screenshot",
        SCREENSHOT_PROMPT,
        "picture",
    ),
)
VOICE_STARTERS = (Starter("Ask by voice", "Hold the microphone button and speak", "", "voice"),)

#: What a starter that needs something says once it has filled the composer.
NEEDS_NOTE = {
    "picture": "Now add the picture: paste it (Ctrl+V), drop it on the window, or use the attach button.",
    "voice": "Hold the microphone button (or Ctrl+Space) and speak; let go to send.",
}


def starters_for(*, vision: bool, audio: bool) -> list[Starter]:
    """The starters a model with these senses can answer (pictures and voice first: they show what it can do)."""
    return [*(PICTURE_STARTERS if vision else ()), *(VOICE_STARTERS if audio else ()), *TEXT_STARTERS]


def _starter_button(starter: Starter, parent: QWidget) -> QPushButton:
    """A button with the starter's title in bold over its line of help."""
    button = QPushButton(parent)
    button.setObjectName("StarterButton")
    button.setAccessibleName(starter.title)
    button.setAccessibleDescription(starter.hint)
    button.setToolTip(NEEDS_NOTE.get(starter.needs, "Fills in the message box: finish it and send"))
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    title = QLabel(f"<b>{escape(starter.title)}</b>", button)
    hint = QLabel(starter.hint, button)
    hint.setObjectName("StarterHint")
    lines = QVBoxLayout(button)
    lines.setContentsMargins(12, 8, 12, 8)
    lines.setSpacing(2)
    for label in (title, hint):
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        lines.addWidget(label)
    button.setMinimumSize(lines.sizeHint())
    return button


class StarterPrompts(QWidget):
    """A grid of starter buttons for the loaded model (none while no model is loaded)."""

    # Signals
    chosen = Signal(object)  # Starter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StarterPrompts")
        self.setMaximumWidth(640)
        self.caption = QLabel("Or start with one of these:", self)
        self.caption.setEnabled(False)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._grid = QGridLayout()
        self._grid.setSpacing(8)
        self._grid.setColumnStretch(0, 1)
        self._grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.caption)
        layout.addLayout(self._grid)
        self.buttons: list[QPushButton] = []
        self.starters: list[Starter] = []
        self.set_abilities(loaded=False, vision=False, audio=False)

    def set_abilities(self, *, loaded: bool, vision: bool, audio: bool) -> None:
        starters = starters_for(vision=vision, audio=audio) if loaded else []
        if starters == self.starters:
            return
        for button in self.buttons:
            self._grid.removeWidget(button)
            button.deleteLater()
        self.starters, self.buttons = starters, []
        for i, starter in enumerate(starters):
            button = _starter_button(starter, self)
            button.clicked.connect(lambda _=False, s=starter: self.chosen.emit(s))
            self._grid.addWidget(button, i // 2, i % 2)
            self.buttons.append(button)
        self.caption.setVisible(bool(starters))

    @property
    def titles(self) -> list[str]:
        return [s.title for s in self.starters]


def use_starter(starter: Starter, composer: Composer, notice: Callable[[str], None]) -> None:
    """Fill the composer with the starter's prompt (never send it) and focus it; say what else it needs."""
    if starter.prompt:
        composer.set_text(starter.prompt)
    composer.focus_input()
    if starter.needs:
        notice(NEEDS_NOTE[starter.needs])
