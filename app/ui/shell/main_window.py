"""The main window: sidebar of chats, the conversation, the composer and the status bar.

It lays the widgets out and wires them together; the jobs live beside it: ``chat_list`` (the chats in the
sidebar), ``model_loading`` (opening and loading models, the welcome page), ``help`` (shortcuts and About),
``geometry``, ``theme`` and ``keyboard`` (shortcuts sheet, command palette, Tab order). It owns the menus and
keyboard shortcuts (the sheet, Ctrl+/, lists them)
and the order of things when it closes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import QApplication, QMainWindow, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from app.chat.budget import history_tokens
from app.engine import GenerationStats
from app.paths import data_dir
from app.render.markdown import DARK, LIGHT
from app.settings import Settings
from app.settings.preset_book import PresetBook
from app.store import Conversation, Store
from app.tools.tool_settings import ToolSettings
from app.ui import icons
from app.ui.capture.hands_free import HandsFree
from app.ui.capture.media_controls import MediaControls
from app.ui.chat.controller import ChatController
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.read_aloud import ReadAloud
from app.ui.chat.starters import use_starter
from app.ui.chat.view import ChatView
from app.ui.composer.composer import Composer
from app.ui.composer.context_offers import ContextOffers
from app.ui.composer.screenshot_action import ScreenshotToHtml
from app.ui.engine_bridge import EngineBridge
from app.ui.keymap import STOP_TEXT, describe
from app.ui.model_setup.setup import ModelSetup
from app.ui.model_setup.welcome_page import WelcomePage
from app.ui.presets.chat_header import ChatHeader
from app.ui.presets.chat_presets import ChatPresets
from app.ui.preview.controller import PreviewController
from app.ui.shell import help as help_boxes
from app.ui.shell.chat_list import ChatList
from app.ui.shell.chat_permissions import revoke_grants
from app.ui.shell.geometry import restore_geometry, save_geometry
from app.ui.shell.keyboard import Keyboard
from app.ui.shell.model_loading import ModelLoading
from app.ui.shell.notice_bar import NoticeBar
from app.ui.shell.server_key import show_new_key
from app.ui.shell.server_switch import ServerSwitch
from app.ui.shell.settings_dialog import SettingsDialog
from app.ui.shell.sidebar import Sidebar
from app.ui.shell.status_bar import StatusBar
from app.ui.shell.theme import apply_theme, is_dark, window_stylesheet
from app.ui.shell.tools_page import commit_tool_settings
from app.ui.tasks import run_on_db, wait_for_db

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    # Signals
    toolSettingsChanged = Signal()  # Settings → Tools was changed and OK pressed: ``tool_settings`` holds the edits

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        store_notice: str | None = None,
        tool_settings: ToolSettings | None = None,
        presets: PresetBook | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Gemma Desk")
        self.setObjectName("MainWindow")
        self.setAcceptDrops(True)
        self.store = store
        self.settings = settings
        self.tool_settings = tool_settings if tool_settings is not None else ToolSettings.load()
        self.preset_book = presets if presets is not None else PresetBook.load()
        self.settings_dialog: SettingsDialog | None = None
        self.key_dialog: QWidget | None = None  # File → Server → New API key…, while open
        self.bridge = EngineBridge(self)
        self._closing = False
        self._build_widgets()
        self.controller = ChatController(store, self.bridge, self.chat, settings, self.tool_settings)
        self.presets = ChatPresets(self)  # new chats' presets, the chat header, the set-up dialog
        self.media = MediaControls(self, self.composer, settings)
        self._build_voice()
        self.previews = PreviewController(self.splitter, self.composer, self.chat)
        self.chats = ChatList(self, store, self.sidebar, self.controller, self.chat, self.composer, self.notice_bar)
        self.loading = ModelLoading(self)
        self.server = ServerSwitch(self)
        self.context_offers = ContextOffers(
            self.composer,
            self.bridge,
            settings,
            probe=lambda folder: self.models.probe(folder),  # read when used: tests give the window another
            models_folder=self.models.folder,
            reload=self.loading.reload_model,
        )
        self.screenshot_html = ScreenshotToHtml(
            self,
            self.composer,
            settings,
            notice=lambda text, action, callback: self.notice_bar.show_notice(text, action, callback),
            reload_model=self.loading.reload_model,
        )
        self._follow_palette()
        self._wire()
        self._build_menus()
        restore_geometry(self, self.splitter)
        self.loading.update_capabilities()
        self.composer.set_thinking(self.controller.thinking_for_new)
        notices = (store_notice, settings.load_notice, self.tool_settings.load_notice, self.preset_book.load_notice)
        for notice in notices:
            if notice:
                self.notice_bar.show_notice(notice, timeout_s=0)
        self.chats.refresh(select_first=True)
        self._resume_last_model()
        self.loading.update_page()

    def _build_widgets(self) -> None:
        self.sidebar = Sidebar(self)
        self.chat = ChatView(self)
        self.chat.theme = DARK if is_dark(self.palette()) else LIGHT
        self.notice_bar = NoticeBar(self)
        self.composer = Composer(self)
        self.models = ModelSetup(self.settings, self)
        self.welcome = WelcomePage(self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.chat)
        self.pages.addWidget(self.welcome)
        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        right_layout.addWidget(self.notice_bar)
        self.chat_header = ChatHeader(self)  # the chat's title and preset; hidden with the chat (welcome page)
        self.pages.currentChanged.connect(lambda i: self.chat_header.setVisible(self.pages.widget(i) is self.chat))
        right_layout.addWidget(self.chat_header)
        right_layout.addWidget(self.pages, 1)
        right_layout.addWidget(self.composer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 760])
        self.setCentralWidget(self.splitter)

    def _build_voice(self) -> None:
        """Answers read aloud, and the Hands-free switch beside Hold to talk."""
        self.read_aloud = ReadAloud(
            self.controller, self.settings, lambda text: self.notice_bar.show_notice(text), self
        )
        self.hands_free = HandsFree(
            self.media,
            self.controller,
            self.read_aloud,
            self.settings,
            lambda text: self.notice_bar.show_notice(text),
            data_dir() / "recordings",
        )

    def _resume_last_model(self) -> None:
        """Load the model of the last session (its fit checked first), or reconnect to its remote server;
        without either, look at the machine."""
        s = self.settings
        if s.get_str("last_engine") == "remote" and s.get_str("remote_url"):
            from app.remote import RemoteConfig

            remote = RemoteConfig(
                s.get_str("remote_url"),
                s.get_str("remote_api_key"),
                s.get_str("remote_model"),
                audio=s.get_bool("remote_audio"),
            )
            QTimer.singleShot(0, lambda: self.loading.connect_remote(remote))
            self.models.validate_catalog()
            return
        last = s.get_str("last_model_path")
        if last and Path(last).is_file():
            mmproj = self.settings.get_str("last_mmproj_path")
            QTimer.singleShot(0, lambda: self.load_model(Path(last), Path(mmproj) if mmproj else None))
            self.models.validate_catalog()
            return
        if last:
            self.notice_bar.show_notice(f"The last model, {Path(last).name}, is no longer there.", timeout_s=0)
        self.models.check_machine()

    # -- wiring -----------------------------------------------------------------------------

    def _wire(self) -> None:
        c, comp = self.controller, self.composer
        comp.use_engine(self.bridge)
        comp.sendRequested.connect(self._on_send)
        comp.stopRequested.connect(self.stop_answer)
        comp.thinkingToggled.connect(c.set_thinking)
        comp.modelFileDropped.connect(self.loading.offer_model)
        comp.noticeRequested.connect(lambda text: self.notice_bar.show_notice(text))
        self.chat.starters.chosen.connect(lambda s: use_starter(s, comp, self.notice_bar.show_notice))
        c.generatingChanged.connect(self._on_generating)
        c.conversationChanged.connect(self._on_conversation_changed)
        c.listChanged.connect(lambda: self.chats.refresh())
        c.statsChanged.connect(self._on_stats)
        c.notice.connect(lambda text: self.notice_bar.show_notice(text))
        if c.tools is not None:
            self.toolSettingsChanged.connect(lambda: c.tools.reload() if c.tools is not None else None)
        c.answerFinished.connect(self._announce)
        c.playRequested.connect(self.media.player.toggle)
        c.speakRequested.connect(self.read_aloud.toggle)
        self.media.voiceSent.connect(self._on_voice_sent)
        self.media.capabilitiesChanged.connect(self.hands_free.update_reason)
        self.read_aloud.speakingChanged.connect(lambda on: comp.set_speaking(on))
        c.previewRequested.connect(self.previews.show_for)
        self.media.player.started.connect(self._on_playing_changed)
        self.media.player.finished.connect(self._on_playing_changed)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        menus = {name: bar.addMenu(name) for name in ("&File", "&Chat", "&Help")}

        def action(menu_name: str, text: str, shortcut: str | None, slot: object) -> QAction:
            act = describe(QAction(text, self), menu_name.strip("&"))
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            menus[menu_name].addAction(act)
            return act

        action("&File", "&Open model…", "Ctrl+L", self.loading.choose_model)
        action("&File", "Re&mote server (OpenAI-compatible)…", None, self.loading.choose_remote)
        action("&File", "&Models…", "Ctrl+M", self.loading.open_model_manager)
        action("&File", "&Settings…", "Ctrl+,", self.open_settings)
        self.server.fill_menu(menus["&File"].addMenu("Se&rver"))
        action("&File", "&Export chat as Markdown…", "Ctrl+E", self.chats.export_markdown)
        action("&File", "Export chat as &JSON…", None, self.chats.export_json)
        menus["&File"].addSeparator()
        action("&File", "&Quit", "Ctrl+Q", self.close)
        action("&Chat", "&New chat", "Ctrl+N", self.chats.new_chat)
        self.presets.fill_menu(menus["&Chat"].addMenu("New chat with a pr&eset"))
        action("&Chat", "&Search chats", "Ctrl+F", self.chats.focus_search)
        action("&Chat", "&Previous chat", "Ctrl+PgUp", lambda: self.chats.step(-1))
        action("&Chat", "Ne&xt chat", "Ctrl+PgDown", lambda: self.chats.step(1))
        stop = action("&Chat", "S&top the answer\tEsc", None, self.stop_answer)
        stop.setToolTip("Stop the answer and its reading aloud (Esc)")
        # Esc belongs to the composer while it has focus; elsewhere these take it.
        for widget in (self.chat, self.sidebar):
            shortcut = describe(QShortcut(QKeySequence(Qt.Key.Key_Escape), widget), "Chat", STOP_TEXT)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.stop_answer)
        action("&Chat", "&Regenerate the last answer", "Ctrl+R", self._regenerate_last)
        action("&Chat", "&Copy the last answer", "Ctrl+Shift+C", self._copy_last)
        action("&Chat", "Toggle the last answer's &thinking", "Ctrl+Shift+T", self._toggle_last_thinking)
        self.keyboard = Keyboard(self, menus["&Help"])  # Keyboard shortcuts (Ctrl+/, F1), Command palette (Ctrl+K)
        action("&Help", "&About Gemma Desk", None, self.show_about)
        icons.decorate_menus(bar)

    # -- what other parts and tests call -------------------------------------------------------------

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab and Shift+Tab anywhere in the window: the next control in reading order (``focus_order``)."""
        keyboard = getattr(self, "keyboard", None)  # None while the window is being built
        return (keyboard is not None and keyboard.step_focus(next)) or super().focusNextPrevChild(next)

    def refresh_list(self, select_first: bool = False) -> None:
        self.chats.refresh(select_first)

    def new_chat(self) -> None:
        self.chats.new_chat()

    def load_model(self, path: Path, mmproj: Path | None = None) -> None:
        self.loading.load_model(path, mmproj)

    @property
    def _manager(self) -> QWidget | None:
        """The model manager window, once opened."""
        return self.loading.manager

    def store_path(self) -> Path:
        """The chat database this window writes to."""
        return Path(self.store.db_path)

    # -- the conversation ---------------------------------------------------------------------------

    def _on_conversation_changed(self, conversation: Conversation | None) -> None:
        self.loading.update_page()
        if conversation is None:
            self.composer.set_thinking(self.controller.thinking_for_new)
        else:
            self.composer.set_thinking(conversation.thinking)
            self.sidebar.select(conversation.id)
            self.setWindowTitle(f"{conversation.title} — Gemma Desk")
        self.status.set_context(0, 0)
        self.composer.set_history_tokens(history_tokens(self.controller.path))

    def stop_answer(self) -> None:
        """Esc, Stop: the answer stops being written and read aloud, both at once."""
        self.read_aloud.stop()
        self.controller.stop()

    def _on_voice_sent(self, released_at: float) -> None:
        """A push-to-talk question: its answer is read aloud — unless an answer is still being written, when the
        composer keeps the recording attached instead of sending it."""
        if not self.controller.generating:
            self.read_aloud.voice_question_sent(released_at)

    def _on_send(self, text: str, attachments: list[object]) -> None:
        self.controller.send(text, attachments)

    def _on_generating(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        for widget in self.chat.messages:
            widget.set_interactive(not busy)
        if not busy:
            self.composer.focus_input()

    def _on_stats(self, stats: GenerationStats) -> None:
        self.status.set_stats(stats)
        self.composer.set_history_tokens(stats.context_used)
        info = self.bridge.model_info if self.bridge.remote is None else None
        if info is not None:  # a local model: the speed estimates learn (a remote server's speed is not ours)
            self.models.record_speed(info.path, stats, info.cpu_moe_layers)

    def _announce(self, text: str) -> None:
        """Tell screen readers that the answer is complete."""
        widget = self.chat.messages[-1] if self.chat.messages else None
        if widget is None:
            return
        preview = text.strip().replace("\n", " ")
        message = "Answer finished. " + (preview[:300] + ("…" if len(preview) > 300 else ""))
        widget.body.setAccessibleDescription(message)
        event = QAccessibleAnnouncementEvent(widget.body, message)
        QAccessible.updateAccessibility(event)

    def _last_widget(self) -> MessageWidget | None:
        return self.chat.messages[-1] if self.chat.messages else None

    def _regenerate_last(self) -> None:
        widget = self._last_widget()
        if widget is not None and widget.role == "assistant":
            self.controller.regenerate(widget)

    def _copy_last(self) -> None:
        widget = self._last_widget()
        if widget is not None:
            widget.copy_text()

    def _toggle_last_thinking(self) -> None:
        widget = self._last_widget()
        if widget is not None and widget.thinking.isVisible():
            widget.thinking.set_expanded(not widget.thinking.is_expanded)
            widget.thinking.header.setFocus()

    def _on_playing_changed(self, _path: object) -> None:
        for widget in self.chat.messages:
            widget.set_playing(self.media.player.playing)

    # -- settings, help, theme ----------------------------------------------------------------------

    def open_settings(self) -> None:
        """Show the settings dialog (window-modal, without blocking); OK applies and saves what it holds."""
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            return
        dialog = SettingsDialog(
            self.settings,
            self,
            tool_settings=self.tool_settings,
            store=self.store,
            new_key=lambda parent: show_new_key(self, parent),
            speaker=self.read_aloud.speaker,
            presets=self.preset_book,
            preset_from_chat=self.presets.current_as_preset,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(self._on_settings_accepted)
        dialog.finished.connect(self._on_settings_finished)
        self.settings_dialog = dialog
        dialog.open()

    def _on_settings_finished(self, _result: int) -> None:
        self.settings_dialog = None
        self.read_aloud.apply_settings()  # OK saved the voice; Cancel undoes what Try the voice changed

    def _on_settings_accepted(self) -> None:
        dialog, self.settings_dialog = self.settings_dialog, None
        if dialog is None:
            return
        values, edited = dialog.values(), dialog.edited_tool_settings()  # read now: the dialog deletes itself
        revoked, presets = dialog.revoked_chat_permissions(), dialog.edited_presets()
        if revoked:
            run_on_db(
                lambda: revoke_grants(self.store, revoked), on_error=lambda e: self.notice_bar.show_notice(str(e))
            )
        self.settings.update(values)
        self.presets.commit(presets)
        self.apply_theme()
        try:
            self.settings.save()
        except OSError as exc:
            self.notice_bar.show_notice(f"Could not save the settings: {exc}")
        if edited is not None and commit_tool_settings(self.tool_settings, edited, self.notice_bar.show_notice):
            self.toolSettingsChanged.emit()

    def about_text(self) -> str:
        return help_boxes.about_text(self.bridge.model_info, self.status.backend_summary)

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(self, "About Gemma Desk", self.about_text())

    def apply_theme(self) -> None:
        """Light, dark or the system's: colours, markdown theme and message styles follow."""
        apply_theme(self.settings.get_str("theme"))
        QApplication.processEvents()  # let the palette change arrive
        self._follow_palette()
        self.chat.theme = DARK if is_dark(self.palette()) else LIGHT
        for widget in self.chat.messages:
            if not widget.streaming:
                widget.body.set_theme(self.chat.theme)

    _styled_for = ""  # the palette's colours the stylesheet and icons were last made for

    def _follow_palette(self) -> None:
        """Stylesheet and icons in the palette's colours (once per palette: restyling sends palette events)."""
        pal = self.palette()
        key = " ".join(
            pal.color(r).name() for r in (pal.ColorRole.Window, pal.ColorRole.ButtonText, pal.ColorRole.Highlight)
        )
        if key != self._styled_for:
            self._styled_for = key
            self.setStyleSheet(window_stylesheet(pal))
            icons.refresh(self)

    def changeEvent(self, event: QEvent) -> None:
        """The palette changed (the system's colours, with the theme "system"): stylesheet and icons follow."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and not self._closing:
            self._follow_palette()

    # -- drag and drop onto the whole window, files from outside, closing ----------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.composer.add_files(paths)
            event.acceptProposedAction()

    def open_files(self, paths: list[Path]) -> None:
        """Files from outside the window (``gemma-desk FILE…``, a later launch, the desktop): attached as a drop
        would be, and the window comes to the front."""
        if paths:
            self.composer.add_files(paths)
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            self.hands_free.shutdown()
            self.read_aloud.close()
            self.controller.stop()
            self.controller.save_now()
            self.models.downloads.pause_all()  # the .part files stay; the next start resumes them
            self.media.shutdown()
            self.previews.shutdown()
            save_geometry(self, self.splitter)
            self.server.shutdown(timeout=10)  # before the engine it shares
            self.bridge.shutdown(timeout=10)
            if self.controller.tools is not None:
                self.controller.tools.close()  # the MCP servers stop (on a worker, a few seconds at most)
            try:
                wait_for_db(10)
            except Exception:
                log.exception("the store did not finish its last writes")
        super().closeEvent(event)
