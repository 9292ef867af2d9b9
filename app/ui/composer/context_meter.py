"""The composer's context meter: what the message being written costs against the loaded model's context.

``ContextBudget`` adds up the conversation so far (what the last answer left in the context), the attachments'
token counts and an estimate of the draft, and judges it: hidden while small, shown past half the context,
a warning near the limit, and *blocked* when the newest message alone cannot fit (Send says why).
``ContextMeter`` is the one-line label that shows it; ``OverflowBar`` holds what the window offers when a
message does not fit (``context_offers``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from app.engine.planner import answer_reserve
from app.store import Message as StoredMessage

#: Characters per token, for text not yet counted by the model (drafts, documents before a model is loaded).
CHARS_PER_TOKEN = 4
#: The meter shows from this share of the context on…
SHOW_FROM = 0.5
#: …and warns from this share.
WARN_FROM = 0.85
#: Positions the chat template adds around a message (turn markers, the model's turn start).
TURN_OVERHEAD = 16

State = Literal["hidden", "shown", "warning", "overflow", "blocked"]


def estimate_tokens(chars: int) -> int:
    """Tokens a text of ``chars`` characters takes, roughly (rounded up)."""
    return -(-max(0, chars) // CHARS_PER_TOKEN)


def answer_room(n_ctx: int) -> int:
    """Positions kept free for the answer when judging whether a message fits: the engine's own reserve, so
    the meter warns exactly when the engine would leave older turns out."""
    return answer_reserve(n_ctx)


def history_tokens(path: Sequence[StoredMessage]) -> int:
    """What the conversation so far takes in the context: the last answer's ``context_used``, plus an estimate
    of anything after it (or of everything, when no answer says)."""
    used, after = 0, 0
    for message in path:
        stats = message.stats or {}
        context_used = stats.get("context_used")
        if message.role == "assistant" and isinstance(context_used, int) and context_used > 0:
            used, after = context_used, 0
        else:
            after += estimate_tokens(len(message.content)) + TURN_OVERHEAD  # earlier thoughts are not re-sent
    return used + after


def format_context(n_ctx: int) -> str:
    """ "48K" for 49,152 tokens, "12,288" when not a whole number of K."""
    return f"{n_ctx // 1024}K" if n_ctx % 1024 == 0 else f"{n_ctx:,}"


@dataclass(frozen=True)
class ContextBudget:
    """The next request's cost in context positions, against the loaded context ``n_ctx`` (0: no model)."""

    history: int  # the conversation so far (what the last answer left in the context)
    attachments: int  # the attachments' token counts (measured, or estimated while counting)
    draft: int  # the draft text, estimated
    n_ctx: int

    @property
    def newest(self) -> int:
        """The message being written, with its turn markers."""
        return self.attachments + self.draft + TURN_OVERHEAD

    @property
    def total(self) -> int:
        return self.history + self.newest

    @property
    def state(self) -> State:
        if self.n_ctx <= 0:
            return "hidden"
        if self.newest + answer_room(self.n_ctx) > self.n_ctx:
            return "blocked"
        if self.total + answer_room(self.n_ctx) > self.n_ctx:
            return "overflow"  # it is sent, but the oldest messages are left out
        if self.total >= WARN_FROM * self.n_ctx:
            return "warning"
        return "shown" if self.total >= SHOW_FROM * self.n_ctx else "hidden"

    def text(self) -> str:
        """ "38,200 of 12,288 tokens" """
        return f"{self.total:,} of {self.n_ctx:,} tokens"

    def blocker(self) -> str | None:
        """Why this message cannot be sent (Send's tooltip), or None."""
        if self.state != "blocked":
            return None
        return (
            f"This message is about {self.newest:,} tokens, more than the model's context of {self.n_ctx:,} "
            f"holds with room for an answer: pick pages, remove an attachment or load a larger context"
        )

    def needed(self) -> int:
        """The context the whole conversation and this message need, with room for an answer."""
        return self.total + answer_room(max(self.n_ctx, self.total))


class ContextMeter(QLabel):
    """ "38,200 of 12,288 tokens": shown once the message takes half the context, in warning colour near it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Context used")
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.budget = ContextBudget(0, 0, 0, 0)
        self.hide()

    def show_budget(self, budget: ContextBudget) -> None:
        self.budget = budget
        state = budget.state
        self.setVisible(state != "hidden")
        if state == "hidden":
            return
        self.setText(budget.text())
        colour = {"blocked": "#c62828", "overflow": "#b26a00", "warning": "#b26a00"}.get(state)
        self.setStyleSheet(f"color: {colour}; font-weight: 600;" if colour else "")
        self.setToolTip(_explain(budget))
        self.setAccessibleDescription(self.toolTip())


def _explain(budget: ContextBudget) -> str:
    lines = [
        f"The conversation so far: {budget.history:,} tokens",
        f"Attachments: {budget.attachments:,} tokens",
        f"Your text: about {budget.draft:,} tokens",
        f"The loaded context holds {budget.n_ctx:,} tokens.",
    ]
    if budget.state == "overflow":
        lines.append("The oldest messages will be left out of what the model sees.")
    elif budget.state == "blocked":
        lines.append("This message alone does not fit.")
    return "\n".join(lines)


class OverflowBar(QFrame):
    """A bar above the message box, shown while the message does not fit: a line and up to two offers.

    Dismissed, it stays hidden while the same situation lasts (the same ``key``), however the draft changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("NoticeBar")  # the window's notice colours
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Context notice")
        self.buttons: list[QPushButton] = []
        self._actions: list[Callable[[], None]] = []
        self.key: object = None  # what the shown notice is about
        self.dismissed: object = None  # the key of the notice the user closed
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss this notice")
        self.close_button.setAccessibleName("Dismiss context notice")
        self.close_button.clicked.connect(self._on_close_button_clicked)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 4, 4, 4)
        self._layout.addWidget(self.label, 1)
        self._layout.addWidget(self.close_button)
        self.hide()

    def show_offers(
        self, text: str, offers: Sequence[tuple[str, str, Callable[[], None]]] = (), *, key: object = None
    ) -> None:
        """``text``, and a button for each (label, tooltip, action); buttons with the same labels are kept."""
        labels = [label for label, _tip, _action in offers]
        if labels != [b.text() for b in self.buttons]:
            for button in self.buttons:
                self._layout.removeWidget(button)
                button.deleteLater()
            self.buttons = [self._button(i, label) for i, label in enumerate(labels)]
        for button, (_label, tip, _action) in zip(self.buttons, offers, strict=True):
            button.setToolTip(tip)
        self._actions = [action for _label, _tip, action in offers]
        self.label.setText(text)
        self.key = key
        self.setVisible(key is None or key != self.dismissed)

    def _button(self, index: int, label: str) -> QPushButton:
        button = QPushButton(label, self)
        button.setAccessibleName(label.rstrip("…"))
        button.clicked.connect(lambda: self._actions[index]())
        self._layout.insertWidget(self._layout.count() - 1, button)
        button.show()  # now, not when the layout gets round to it (the bar may be showing already)
        return button

    def button(self, label: str) -> QPushButton | None:
        """The offer whose label starts with ``label``."""
        return next((b for b in self.buttons if b.text().startswith(label)), None)

    def _on_close_button_clicked(self) -> None:
        self.dismissed = self.key
        self.hide()
