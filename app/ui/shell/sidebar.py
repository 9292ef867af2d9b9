"""The list of conversations: new, search (titles and text), rename, delete with undo.

A plain view: it shows what the window gives it and emits what the user asks
for; the window does the store work off the GUI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.keymap import describe


@dataclass(frozen=True)
class ConversationRow:
    id: int
    title: str
    updated_at: float


def _when(ts: float) -> str:
    age = time.time() - ts
    if age < 60:
        return "just now"
    if age < 3600:
        return f"{int(age // 60)} min ago"
    if age < 86400:
        return time.strftime("%H:%M", time.localtime(ts))
    return time.strftime("%d %b", time.localtime(ts))


class Sidebar(QWidget):
    """New chat button, search box and the conversation list (newest first)."""

    # Signals
    newRequested = Signal()
    conversationSelected = Signal(int)
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    searchChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.new_button = QPushButton("+  New chat", self)
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.setAccessibleName("New chat")
        self.new_button.clicked.connect(self.newRequested)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search chats")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Search conversation titles and text (Ctrl+F)")
        self.search.setAccessibleName("Search chats")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(lambda: self.searchChanged.emit(self.search.text().strip()))
        self.search.textChanged.connect(lambda _t: self._search_timer.start())

        self.list = QListWidget(self)
        self.list.setAccessibleName("Conversations")
        self.list.setToolTip("Your conversations, newest first (F2 renames, Delete deletes)")
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.list.setUniformItemSizes(True)

        rename = describe(QAction("Rename…", self.list), "Chat list", "Rename the selected chat")
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        rename.triggered.connect(self.rename_current)
        delete = describe(QAction("Delete", self.list), "Chat list", "Delete the selected chat")
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self.delete_current)
        self.list.addAction(rename)
        self.list.addAction(delete)
        self._rename_action, self._delete_action = rename, delete

        top = QHBoxLayout()
        top.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.addLayout(top)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self._current_id: int | None = None
        self._filling = False

    # -- API ----------------------------------------------------------------------------

    def set_conversations(self, rows: list[ConversationRow], current_id: int | None) -> None:
        self._filling = True
        try:
            self.list.clear()
            for row in rows:
                item = QListWidgetItem(row.title or "New chat")
                item.setData(Qt.ItemDataRole.UserRole, row.id)
                item.setToolTip(f"{row.title}\nLast message {_when(row.updated_at)}")
                self.list.addItem(item)
                if row.id == current_id:
                    self.list.setCurrentItem(item)
        finally:
            self._filling = False
        self._current_id = current_id

    def ids(self) -> list[int]:
        return [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())]

    def select(self, conversation_id: int) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == conversation_id:
                self.list.setCurrentRow(i)
                return

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def rename_current(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "New name:", QLineEdit.EchoMode.Normal, item.text())
        if ok and title.strip():
            self.renameRequested.emit(int(item.data(Qt.ItemDataRole.UserRole)), title.strip())

    def delete_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.deleteRequested.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    # -- internals ----------------------------------------------------------------------

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if self._filling or current is None:
            return
        cid = int(current.data(Qt.ItemDataRole.UserRole))
        if cid != self._current_id:
            self._current_id = cid
            self.conversationSelected.emit(cid)

    def _on_context_menu(self, pos: QPoint) -> None:
        if self.list.itemAt(pos) is None:
            return
        menu = QMenu(self)
        menu.addAction(self._rename_action)
        menu.addAction(self._delete_action)
        menu.exec(self.list.mapToGlobal(pos))
