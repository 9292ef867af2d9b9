"""The window's presets: new chats start with one (the last used, or one picked from New chat's menu), the header
shows the open chat's, and its chip edits the chat's set-up.

Owns the ``PresetBook`` (the GUI thread's); the file is written from a copy on the store thread (``run_on_db``:
one write after another), and so is every change to a chat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from app.chat import ChatSetup
from app.settings.preset_book import PresetBook
from app.settings.presets import Preset, PresetError, chat_preset_name, preset_of_chat
from app.store import Conversation
from app.ui.icons import set_icon
from app.ui.presets.setup_dialog import ChatSetupDialog
from app.ui.tasks import run_on_db

if TYPE_CHECKING:
    from app.ui.shell.main_window import MainWindow


def chip_text(conversation: Conversation | None, book: PresetBook) -> str:
    """What the header's chip says: the chat's preset, and whether its prompt was changed for this chat."""
    if conversation is None:
        return f"Preset: {book.default().name}"
    name = chat_preset_name(conversation.settings)
    if name is None:
        return "Own system prompt" if conversation.system_prompt else "No preset"
    preset = book.find(name)
    edited = preset is not None and (conversation.system_prompt or "") != preset.system_prompt
    return f"Preset: {name}{' (prompt edited)' if edited else ''}"


class ChatPresets(QObject):
    """Presets for the window's chats (see the module's docstring)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.book, self.settings, self.controller = window.preset_book, window.settings, window.controller
        self.composer, self.header = window.composer, window.chat_header
        self.notice: Callable[[str], None] = lambda text: window.notice_bar.show_notice(text)
        self.dialog: ChatSetupDialog | None = None
        self.controller.new_chat_setup = self._setup_for_new
        self.controller.conversationChanged.connect(self.show_chat)
        self.controller.listChanged.connect(lambda: self.show_chat(self.controller.conversation))
        self.header.setupRequested.connect(self.edit_setup)
        self.new_menu_button = self.menu_button(window.sidebar)  # New chat ▾
        window.sidebar.add_beside_new(self.new_menu_button)
        # A chat renamed or deleted: queued, so the store thread does the list's change first; the header follows.
        queued = Qt.ConnectionType.QueuedConnection
        window.sidebar.renameRequested.connect(self._on_renamed, queued)
        window.sidebar.deleteRequested.connect(self._on_deleted, queued)
        self.sync_default_thinking()
        self.show_chat(None)

    # -- starting chats -------------------------------------------------------------------------------

    def setup_for(self, preset: Preset, thinking: bool | None = None) -> ChatSetup:
        """A chat set up as ``preset`` says (``thinking`` given: that, whatever the preset says)."""
        think = preset.thinking_or(self.settings.get_bool("thinking_default")) if thinking is None else thinking
        return ChatSetup(preset.system_prompt or None, think, preset.chat_settings())

    def _setup_for_new(self, thinking: bool) -> ChatSetup:
        return self.setup_for(self.book.default(), thinking)

    def sync_default_thinking(self) -> None:
        """New chats think as the default preset says; the composer shows it while no chat is open."""
        self.controller.thinking_for_new = self.book.default().thinking_or(self.settings.get_bool("thinking_default"))
        if self.controller.conversation is None:
            self.composer.set_thinking(self.controller.thinking_for_new)

    def new_chat(self, name: str) -> None:
        """Start a chat with the preset ``name``, and make it the default for new chats."""
        preset = self.book.find(name)
        if preset is None:
            self.notice(f"There is no preset called {name} any more.")
            return
        if self.controller.generating:
            self.notice("Stop the answer first (Esc), then start a new chat.")
            return
        if self.book.last_used != preset.name:
            self.book.use(preset.name)
            self.save_book()
        self.controller.new_conversation(lambda _c: self.composer.focus_input(), self.setup_for(preset))

    def fill_menu(self, menu: QMenu) -> None:
        """``menu`` lists the presets (the default checked) each time it opens; picking one starts a chat."""
        menu.aboutToShow.connect(lambda: self._fill(menu))

    def _fill(self, menu: QMenu) -> None:
        menu.clear()
        group = QActionGroup(menu)
        for preset in self.book.all():
            action = QAction(preset.name.replace("&", "&&"), menu)
            action.setCheckable(True)
            action.setChecked(preset.name == self.book.default().name)
            action.setToolTip(preset.summary())
            action.triggered.connect(lambda _checked=False, name=preset.name: self.new_chat(name))
            group.addAction(action)
            menu.addAction(action)
        menu.setToolTipsVisible(True)

    def menu_button(self, parent: QWidget) -> QToolButton:
        """A small ▾ button for beside New chat: its menu starts a chat with a preset."""
        button = QToolButton(parent)
        button.setText("▾")
        set_icon(button, "preset_menu")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        button.setAccessibleName("New chat with a preset")
        button.setToolTip("Start a new chat with a preset (the one picked becomes the default)")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")  # the ▾ is the arrow
        menu = QMenu(button)
        self.fill_menu(menu)
        button.setMenu(menu)
        return button

    # -- the open chat --------------------------------------------------------------------------------

    def show_chat(self, conversation: Conversation | None) -> None:
        """The header shows ``conversation`` (None: what a new chat would get)."""
        default = self.settings.get_str("system_prompt")
        if conversation is None:
            own = self.book.default().system_prompt
            title = "New chat"
        else:
            own, title = conversation.system_prompt or "", conversation.title
        self.header.show_chat(title, chip_text(conversation, self.book), own or default, prompt_is_default=not own)

    def _on_renamed(self, conversation_id: int, _title: str) -> None:
        """A chat was renamed (queued on the store thread before this): the header shows its new title."""

        def show(conversation: Conversation) -> None:
            current = self.controller.conversation
            if current is not None and current.id == conversation.id:
                self.controller.conversation = conversation
                self.show_chat(conversation)

        run_on_db(lambda: self.controller.store.get_conversation(conversation_id), show, lambda _e: None)

    def _on_deleted(self, _conversation_id: int) -> None:
        run_on_db(lambda: None, lambda _r: self.show_chat(self.controller.conversation))

    def edit_setup(self) -> None:
        """Open the set-up of the chat shown (a new one when none is open)."""
        if self.dialog is not None:
            self.dialog.raise_()
            return
        c = self.controller.conversation
        name = chat_preset_name(c.settings) if c is not None else self.book.default().name
        prompt = (c.system_prompt or "") if c is not None else self.book.default().system_prompt
        dialog = ChatSetupDialog(self.book.all(), name, prompt, self.settings.get_str("system_prompt"), self.window)
        dialog.accepted.connect(lambda: self._on_setup_accepted(dialog))
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()

    def _on_setup_accepted(self, dialog: ChatSetupDialog) -> None:
        conversation, chosen = self.controller.conversation, dialog.chosen()
        prompt = dialog.prompt().strip() or None
        if conversation is None:
            base = self.setup_for(chosen or self.book.default(), None if chosen else self.controller.thinking_for_new)
            self.controller.new_conversation(setup=ChatSetup(prompt, base.thinking, base.settings))
            return
        if chosen is not None:
            setup = ChatSetup(prompt, chosen.thinking_or(conversation.thinking), chosen.chat_settings())
        else:
            setup = ChatSetup(prompt, conversation.thinking, {})
        self.apply(conversation.id, setup)

    def apply(self, conversation_id: int, setup: ChatSetup) -> None:
        """Give the chat ``conversation_id`` this set-up (on the store thread); its next answer uses it."""

        def done(updated: Conversation) -> None:
            current = self.controller.conversation
            if current is not None and current.id == updated.id:
                self.controller.conversation = updated
                self.composer.set_thinking(updated.thinking)
                self.show_chat(updated)

        session = self.controller.session
        run_on_db(lambda: session.set_setup(conversation_id, setup), done, lambda e: self.notice(str(e)))

    def current_as_preset(self) -> Preset | None:
        """The open chat's set-up as a new preset (named after the chat), or None when no chat is open."""
        c = self.controller.conversation
        if c is None:
            return None
        try:
            return preset_of_chat(self.book.unique_name(c.title[:60]), c.system_prompt, c.thinking, c.settings)
        except PresetError:
            return None

    # -- the file -------------------------------------------------------------------------------------

    def save_book(self) -> None:
        snapshot = self.book.copy()
        run_on_db(snapshot.save, on_error=lambda e: self.notice(f"Could not save the presets: {e}"))

    def commit(self, edited: PresetBook | None) -> None:
        """Settings was closed with OK: take the Presets page's presets (saved when they changed); the header and
        new chats follow the settings and presets now in force."""
        if edited is not None and edited.to_json() != self.book.to_json():
            self.book.own, self.book.last_used = list(edited.own), edited.last_used
            self.save_book()
        self.sync_default_thinking()
        self.show_chat(self.controller.conversation)
