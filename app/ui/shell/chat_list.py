"""The list of chats beside the conversation: search, open, step, new, rename, pin, delete with undo, export.

It joins the sidebar, the store (on the store thread) and the chat controller; it refuses to switch,
start or delete a chat while an answer is being written to it, and says why in the notice bar. Its ``titler``
has the model title new chats after their first answer (``app.ui.chat.titler``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from app.store import Store
from app.ui.chat.controller import ChatController
from app.ui.chat.titler import ChatTitler
from app.ui.chat.view import ChatView
from app.ui.composer.composer import Composer
from app.ui.shell.notice_bar import NoticeBar
from app.ui.shell.sidebar import ConversationRow, Sidebar
from app.ui.tasks import run_on_db


class ChatList(QObject):
    """The sidebar's chats, kept in step with the store and the conversation shown."""

    def __init__(
        self,
        window: QWidget,
        store: Store,
        sidebar: Sidebar,
        controller: ChatController,
        chat: ChatView,
        composer: Composer,
        notices: NoticeBar,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.store, self.sidebar, self.controller = store, sidebar, controller
        self.chat, self.composer, self.notices = chat, composer, notices
        self._search = ""
        sidebar.newRequested.connect(self.new_chat)
        sidebar.conversationSelected.connect(self._on_selected)
        sidebar.renameRequested.connect(self.rename)
        sidebar.pinRequested.connect(self.pin)
        sidebar.deleteRequested.connect(self.delete)
        sidebar.searchChanged.connect(self._on_search)
        self.titler = ChatTitler(controller, self)
        self.titler.titled.connect(self._on_titled)

    def refresh(self, select_first: bool = False) -> None:
        search = self._search

        def load() -> list[ConversationRow]:
            return [
                ConversationRow(c.id, c.title, c.updated_at, c.pinned) for c in self.store.list_conversations(search)
            ]

        def show(rows: list[ConversationRow]) -> None:
            current = self.controller.conversation.id if self.controller.conversation else None
            self.sidebar.set_conversations(rows, current)
            if select_first and current is None and rows:  # the latest chat (pinned ones list first)
                self.controller.open_conversation(max(rows, key=lambda r: (r.updated_at, r.id)).id)

        run_on_db(load, show, lambda e: self.notices.show_notice(str(e)))

    def new_chat(self) -> None:
        if self.controller.generating:
            self.notices.show_notice("Stop the answer first (Esc), then start a new chat.")
            return
        self.controller.new_conversation(lambda _c: self.composer.focus_input())

    def open_chat(self, conversation_id: int) -> None:
        """Open a chat chosen elsewhere (the command palette), on the sidebar's terms: not while an answer is
        being written."""
        self._on_selected(conversation_id)

    def _on_selected(self, conversation_id: int) -> None:
        if self.controller.generating:
            self.notices.show_notice("The answer is still being written; stop it (Esc) to switch chats.")
            current = self.controller.conversation
            if current is not None:
                self.sidebar.select(current.id)
            return
        self.controller.open_conversation(conversation_id)

    def step(self, step: int) -> None:
        """Open the previous (-1) or next (+1) chat in the list."""
        ids = self.sidebar.ids()
        if not ids:
            return
        current = self.controller.conversation.id if self.controller.conversation else ids[0]
        index = ids.index(current) if current in ids else 0
        self.sidebar.select(ids[max(0, min(len(ids) - 1, index + step))])

    def rename(self, conversation_id: int, title: str) -> None:
        """The user's name for the chat (the model never writes over it)."""

        def renamed(_r: object) -> None:
            self._retitled(conversation_id, title.strip())
            self.refresh()

        run_on_db(
            lambda: self.store.rename(conversation_id, title), renamed, lambda e: self.notices.show_notice(str(e))
        )

    def pin(self, conversation_id: int, pinned: bool) -> None:
        """Pin the chat to the top of the list, or unpin it."""
        run_on_db(
            lambda: self.store.set_pinned(conversation_id, pinned),
            lambda _r: self.refresh(),
            lambda e: self.notices.show_notice(str(e)),
        )

    def _on_titled(self, conversation_id: int, title: str) -> None:
        self._retitled(conversation_id, title)
        self.refresh()

    def _retitled(self, conversation_id: int, title: str) -> None:
        """The open chat's new title in the window's title bar (and the controller's copy)."""
        current = self.controller.conversation
        if current is not None and current.id == conversation_id and title:
            self.controller.conversation = replace(current, title=title)
            self.window.setWindowTitle(f"{title} — Gemma Desk")

    def delete(self, conversation_id: int) -> None:
        c = self.controller
        if c.generating and c.conversation and c.conversation.id == conversation_id:
            self.notices.show_notice("Stop the answer first (Esc), then delete the chat.")
            return

        def deleted(_r: object) -> None:
            if c.conversation and c.conversation.id == conversation_id:
                c.conversation = None
                c.path = []
                self.chat.clear()
            self.refresh(select_first=True)
            self.notices.show_notice("Chat deleted.", "Undo", lambda: self._undo_delete(conversation_id))

        run_on_db(lambda: self.store.delete(conversation_id), deleted)

    def _undo_delete(self, conversation_id: int) -> None:
        def restored(_r: object) -> None:
            self.controller.open_conversation(conversation_id)
            self.refresh()

        run_on_db(lambda: self.store.undo_delete(conversation_id), restored)

    def _on_search(self, text: str) -> None:
        self._search = text
        self.refresh()

    def focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    def export_markdown(self) -> None:
        conversation = self.controller.conversation
        if conversation is None:
            return
        folder = QFileDialog.getExistingDirectory(self.window, "Export the chat to a folder")
        if folder:
            run_on_db(
                lambda: self.store.export_markdown(conversation.id, Path(folder)),
                lambda path: self.notices.show_notice(f"Exported to {path}"),
                lambda e: self.notices.show_notice(f"Export failed: {e}"),
            )

    def export_json(self) -> None:
        conversation = self.controller.conversation
        if conversation is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export the chat as JSON", f"{conversation.title}.json", "JSON (*.json)"
        )
        if path:
            run_on_db(
                lambda: self.store.export_json_file(conversation.id, Path(path)),
                lambda p: self.notices.show_notice(f"Exported to {p}"),
                lambda e: self.notices.show_notice(f"Export failed: {e}"),
            )
