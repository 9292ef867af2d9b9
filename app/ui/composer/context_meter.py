"""The composer's context meter: the one-line label that shows a ``ContextBudget`` (``app.chat.budget``: what the
message being written costs against the loaded model's context), and the ``OverflowBar`` that holds what the
window offers when a message does not fit (``context_offers``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from app.chat.budget import ContextBudget


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
