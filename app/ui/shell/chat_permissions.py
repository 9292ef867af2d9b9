"""Settings → Tools: the tools allowed in single chats ("Always allow → in this chat"), each with Revoke.

They are kept with each conversation, so they are read from the chat store on the store thread when the page
opens; a revocation waits for OK like everything else in the dialog (``revoked()``), and the window writes it.
"""

from __future__ import annotations

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.store import NotFound, Store
from app.tools.consent import CHAT_PERMISSIONS, chat_permissions, with_chat_permission
from app.tools.tool_settings import ToolKey
from app.ui.tasks import run_on_db

#: One permission: the conversation's id and title, and the tool.
Grant = tuple[int, str, ToolKey]


def load_grants(store: Store) -> list[Grant]:
    """Every tool allowed in a single chat, newest chat first (runs on the store thread)."""
    return [
        (conversation.id, conversation.title, key)
        for conversation in store.conversations_with_setting(CHAT_PERMISSIONS)
        for key in sorted(chat_permissions(conversation.settings))
    ]


def revoke_grants(store: Store, revoked: list[tuple[int, ToolKey]]) -> None:
    """Take the permissions back (runs on the store thread; a chat deleted meanwhile is skipped)."""
    for conversation_id, key in revoked:
        try:
            conversation = store.get_conversation(conversation_id)
        except NotFound:
            continue
        store.set_settings(conversation_id, with_chat_permission(conversation.settings, key, allowed=False))


def _label(key: ToolKey) -> str:
    source, name = key
    return name if source == "builtin" else f"{name} (MCP server ‘{source}’)"


class ChatPermissionsBox(QGroupBox):
    """The single-chat permissions, loaded off the GUI thread."""

    def __init__(self, store: Store | None, parent: QWidget | None = None) -> None:
        super().__init__("Allowed in one chat", parent)
        self._grants: list[Grant] = []
        self._revoked: list[tuple[int, ToolKey]] = []
        self._layout = QVBoxLayout(self)
        self._layout.setSpacing(2)
        self.revoke_buttons: dict[tuple[int, ToolKey], QPushButton] = {}
        self._placeholder("Reading the chats…" if store is not None else "No chat store is open.")
        if store is not None:
            run_on_db(lambda: load_grants(store), self._show, lambda error: self._placeholder(str(error)))

    def revoked(self) -> list[tuple[int, ToolKey]]:
        return list(self._revoked)

    def _clear(self) -> None:
        while (item := self._layout.takeAt(0)) is not None:
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        self.revoke_buttons.clear()

    def _placeholder(self, text: str) -> None:
        self._clear()
        label = QLabel(text)
        label.setWordWrap(True)
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._layout.addWidget(label)

    def _show(self, grants: list[Grant]) -> None:
        self._grants = [g for g in grants if (g[0], g[2]) not in self._revoked]
        if not self._grants:
            self._placeholder("No tool is allowed in a single chat.")
            return
        self._clear()
        for conversation_id, title, key in self._grants:
            row = QWidget()
            layout = QHBoxLayout(row)
            layout.setContentsMargins(0, 0, 0, 0)
            label = QLabel(f"{_label(key)} — in “{title}”")
            label.setWordWrap(True)
            revoke = QPushButton("Revoke")
            revoke.setAutoDefault(False)
            revoke.setAccessibleName(f"Revoke {_label(key)} in {title}")
            revoke.setToolTip("Ask again before this tool runs in that chat")
            revoke.clicked.connect(lambda _=False, c=conversation_id, k=key: self._revoke(c, k))
            layout.addWidget(label, 1)
            layout.addWidget(revoke)
            self.revoke_buttons[(conversation_id, key)] = revoke
            self._layout.addWidget(row)

    def _revoke(self, conversation_id: int, key: ToolKey) -> None:
        self._revoked.append((conversation_id, key))
        self._show(self._grants)
