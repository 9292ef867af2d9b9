"""Yes/no questions the window asks before something costly or risky: a model too big for this machine,
deleting a model, loading a dropped model, letting a preview reach the network.

One function for all of them, and one hook: tests answer through ``set_answer`` instead of a dialog.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

Answer = Callable[[str, str], bool]  # (title, text) → yes?

_answer: Answer | None = None


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """Ask the user; True for Yes."""
    if _answer is not None:
        return _answer(title, text)
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes


def set_answer(answer: Answer | None) -> None:
    """Answer every question with ``answer`` instead of a dialog (tests); None asks the user again."""
    global _answer
    _answer = answer
