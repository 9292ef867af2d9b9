"""File → Server → New API key…: a fresh key for the local server, shown once (copyable); only its hash is kept.

Making the key stores its salted hash (``app.server.keys``, a scrypt: tens of milliseconds), so that runs on a
worker; the dialog shows the key when it is ready. A server already running keeps the key it started with
until it is switched off and on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.tasks import run_in_background

if TYPE_CHECKING:
    from app.ui.shell.main_window import MainWindow


class NewKeyDialog(QDialog):
    """Shows a just-made API key once, with a Copy button."""

    def __init__(self, key: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("NewKeyDialog")
        self.setWindowTitle("New API key")
        self.key = key
        text = QLabel(
            "Give this key to the programs that use the server (the OpenAI clients' <i>api_key</i>, sent as "
            "<tt>Authorization: Bearer …</tt>).<br><b>It is shown only now:</b> Gemma Desk keeps just a hash of it. "
            "It replaces any earlier key; a running server takes it when switched off and on."
        )
        text.setWordWrap(True)
        self.field = QLineEdit(key)
        self.field.setReadOnly(True)
        self.field.setAccessibleName("The new API key")
        self.field.setMinimumWidth(self.field.fontMetrics().horizontalAdvance(key) + 24)
        self.copy_button = QPushButton("&Copy")
        self.copy_button.clicked.connect(self.copy)
        row = QHBoxLayout()
        row.addWidget(self.field, 1)
        row.addWidget(self.copy_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.field.selectAll()
        self.field.setFocus()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.key)
        self.copy_button.setText("Copied")


def show_new_key(window: MainWindow, parent: QWidget | None = None) -> None:
    """Make and store a new key off the GUI thread, then show it once (over ``parent``: the settings dialog,
    when asked from there)."""
    from app.server import store_new_key

    def show(key: str) -> None:
        dialog = NewKeyDialog(key, parent or window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.key_dialog = dialog
        dialog.finished.connect(lambda _r: setattr(window, "key_dialog", None))
        dialog.open()

    run_in_background(
        store_new_key, show, lambda e: window.notice_bar.show_notice(f"Could not store a new API key: {e}")
    )
