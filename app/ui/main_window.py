"""The main window: sidebar of chats, the conversation, the composer and the status bar.

It lays the widgets out, wires them to the chat controller and the engine,
loads models in the background, remembers its geometry, and owns the menus
and keyboard shortcuts (Help → Keyboard shortcuts lists them).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAccessible,
    QAccessibleAnnouncementEvent,
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.engine import GenerationStats, LoadRequest, ModelInfo
from app.models.catalog import Catalog
from app.paths import config_dir
from app.settings import Settings
from app.store import Conversation, Store
from app.ui.chat_controller import ChatController
from app.ui.chat_view import ChatView
from app.ui.composer import Composer
from app.ui.engine_bridge import EngineBridge
from app.ui.markdown import DARK, LIGHT
from app.ui.media_controls import MediaControls
from app.ui.message_widget import MessageWidget
from app.ui.model_setup import MachineReport, ModelSetup
from app.ui.notice_bar import NoticeBar
from app.ui.preview_controller import PreviewController
from app.ui.screenshot_action import ScreenshotToHtml
from app.ui.settings_dialog import SettingsDialog
from app.ui.sidebar import ConversationRow, Sidebar
from app.ui.status_bar import StatusBar
from app.ui.tasks import run_in_background, run_on_db, wait_for_db
from app.ui.theme import apply_theme
from app.ui.welcome_page import WelcomePage
from app.units import format_params

log = logging.getLogger(__name__)

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+N", "New chat"),
    ("Ctrl+F", "Search chats"),
    ("Ctrl+PgUp / Ctrl+PgDown", "Previous / next chat"),
    ("Ctrl+L", "Open a model (GGUF)"),
    ("Ctrl+M", "Models: download, import, delete"),
    ("Ctrl+,", "Settings"),
    ("Enter / Shift+Enter", "Send / new line"),
    ("Esc", "Stop the answer"),
    ("Ctrl+O", "Attach files"),
    ("Ctrl+Shift+H", "Screenshot → HTML: attach a screenshot and ask for the page"),
    ("Ctrl+T", "Thinking on/off for this chat"),
    ("Ctrl+Shift+T", "Expand or collapse the last answer's thinking"),
    ("Ctrl+R", "Regenerate the last answer"),
    ("Ctrl+Shift+C", "Copy the last answer"),
    ("Ctrl+E", "Export this chat as Markdown"),
    ("F2 / Delete", "Rename / delete the selected chat"),
    ("F1", "This list"),
)


def window_stylesheet(palette: QPalette) -> str:
    """Colours derived from the palette, so light, dark and high-contrast themes all work."""
    window = palette.window().color()
    dark = window.lightness() < 128
    user_bg = window.lighter(135) if dark else window.darker(104)
    frame = palette.mid().color().name()
    highlight = palette.highlight().color()
    notice = f"rgba({highlight.red()}, {highlight.green()}, {highlight.blue()}, 40)"
    return (
        f"#UserMessage {{ background: {user_bg.name()}; border-radius: 10px; }}"
        f"#ThinkingBlock {{ border: 1px solid {frame}; border-radius: 8px; }}"
        f"#NoticeBar {{ background: {notice}; border: 1px solid {highlight.name()}; border-radius: 6px; }}"
        "#ChatColumn { background: transparent; }"
    )


class MainWindow(QMainWindow):
    def __init__(self, store: Store, settings: Settings, *, store_notice: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Gemma Desk")
        self.setObjectName("MainWindow")
        self.setAcceptDrops(True)
        self.store = store
        self.settings = settings
        self.bridge = EngineBridge(self)
        self._closing = False
        self._search = ""
        self._pending_deleted: int | None = None

        self.sidebar = Sidebar(self)
        self.chat = ChatView(self)
        self.chat.theme = DARK if self._is_dark() else LIGHT
        self.notice_bar = NoticeBar(self)
        self.composer = Composer(self)
        self.models = ModelSetup(settings, self)
        self.welcome = WelcomePage(self)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.chat)
        self.pages.addWidget(self.welcome)
        self._manager: QWidget | None = None
        self.status = StatusBar(self)
        self.setStatusBar(self.status)

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.setSpacing(0)
        right_layout.addWidget(self.notice_bar)
        right_layout.addWidget(self.pages, 1)
        right_layout.addWidget(self.composer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 760])
        self.setCentralWidget(self.splitter)

        self.controller = ChatController(store, self.bridge, self.chat, settings)
        self.media = MediaControls(self, self.composer, settings)
        self.previews = PreviewController(self.splitter, self.composer, self.chat)
        self.screenshot_html = ScreenshotToHtml(
            self,
            self.composer,
            settings,
            notice=lambda text, action, callback: self.notice_bar.show_notice(text, action, callback),
            reload_model=self._reload_model,
        )
        self.setStyleSheet(window_stylesheet(self.palette()))
        self._wire()
        self._build_menus()
        self._restore_geometry()
        self._update_capabilities()
        self.composer.set_thinking(self.controller.thinking_for_new)
        if store_notice:
            self.notice_bar.show_notice(store_notice, timeout_s=0)
        if settings.load_notice:
            self.notice_bar.show_notice(settings.load_notice, timeout_s=0)
        self.refresh_list(select_first=True)
        last = settings.get_str("last_model_path")
        if last and Path(last).is_file():
            mmproj = settings.get_str("last_mmproj_path")
            QTimer.singleShot(0, lambda: self.load_model(Path(last), Path(mmproj) if mmproj else None))
            self.models.validate_catalog()
        else:
            if last:
                self.notice_bar.show_notice(f"The last model, {Path(last).name}, is no longer there.", timeout_s=0)
            self.models.check_machine()
        self._update_page()

    # -- wiring -----------------------------------------------------------------------------

    def _wire(self) -> None:
        c, comp, b = self.controller, self.composer, self.bridge
        self.sidebar.newRequested.connect(self.new_chat)
        self.sidebar.conversationSelected.connect(self._on_sidebar_selected)
        self.sidebar.renameRequested.connect(self.rename_chat)
        self.sidebar.deleteRequested.connect(self.delete_chat)
        self.sidebar.searchChanged.connect(self._on_search)
        comp.sendRequested.connect(self._on_send)
        comp.stopRequested.connect(c.stop)
        comp.thinkingToggled.connect(c.set_thinking)
        comp.modelFileDropped.connect(self._offer_model)
        comp.noticeRequested.connect(lambda text: self.notice_bar.show_notice(text))
        c.generatingChanged.connect(self._on_generating)
        c.conversationChanged.connect(self._on_conversation_changed)
        c.listChanged.connect(lambda: self.refresh_list())
        c.statsChanged.connect(self._on_stats)
        c.notice.connect(lambda text: self.notice_bar.show_notice(text))
        c.answerFinished.connect(self._announce)
        b.loadProgress.connect(self._on_load_progress)
        b.modelLoaded.connect(self._on_model_loaded)
        b.failed.connect(self._on_engine_failed)
        b.done.connect(self._on_engine_done)
        w, m = self.welcome, self.models
        w.downloadRequested.connect(m.download)
        w.loadRequested.connect(self.load_model)
        w.openFileRequested.connect(self.choose_model)
        w.manageRequested.connect(self.open_model_manager)
        m.machineChecked.connect(self._on_machine_checked)
        m.downloads.jobAdded.connect(self._on_download_started)
        m.loadApproved.connect(self._start_load)
        m.notice.connect(lambda text: self.notice_bar.show_notice(text, timeout_s=0))
        m.downloads.modelReady.connect(self._on_download_ready)
        c.playRequested.connect(self.media.player.toggle)
        c.previewRequested.connect(self.previews.show_for)
        self.media.player.started.connect(self._on_playing_changed)
        self.media.player.finished.connect(self._on_playing_changed)

    def _build_menus(self) -> None:
        def action(menu_name: str, text: str, shortcut: str | None, slot: object) -> QAction:
            act = QAction(text, self)
            if shortcut:
                act.setShortcut(QKeySequence(shortcut))
            act.triggered.connect(slot)
            self._menus[menu_name].addAction(act)
            return act

        bar = self.menuBar()
        self._menus = {name: bar.addMenu(name) for name in ("&File", "&Chat", "&Help")}
        action("&File", "&Open model…", "Ctrl+L", self.choose_model)
        action("&File", "&Models…", "Ctrl+M", self.open_model_manager)
        action("&File", "&Settings…", "Ctrl+,", self.open_settings)
        action("&File", "&Export chat as Markdown…", "Ctrl+E", self.export_markdown)
        action("&File", "Export chat as &JSON…", None, self.export_json)
        self._menus["&File"].addSeparator()
        action("&File", "&Quit", "Ctrl+Q", self.close)
        action("&Chat", "&New chat", "Ctrl+N", self.new_chat)
        action("&Chat", "&Search chats", "Ctrl+F", self._focus_search)
        action("&Chat", "&Previous chat", "Ctrl+PgUp", lambda: self._step_chat(-1))
        action("&Chat", "Ne&xt chat", "Ctrl+PgDown", lambda: self._step_chat(1))
        stop = action("&Chat", "S&top the answer\tEsc", None, self.controller.stop)
        stop.setToolTip("Stop the answer (Esc)")
        # Esc belongs to the composer while it has focus; elsewhere these take it.
        for widget in (self.chat, self.sidebar):
            shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), widget)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.controller.stop)
        action("&Chat", "&Regenerate the last answer", "Ctrl+R", self._regenerate_last)
        action("&Chat", "&Copy the last answer", "Ctrl+Shift+C", self._copy_last)
        action("&Chat", "Toggle the last answer's &thinking", "Ctrl+Shift+T", self._toggle_last_thinking)
        action("&Help", "&Keyboard shortcuts", "F1", self.show_shortcuts)
        action("&Help", "&About Gemma Desk", None, self.show_about)

    # -- chats ------------------------------------------------------------------------------

    def refresh_list(self, select_first: bool = False) -> None:
        search = self._search

        def load() -> list[ConversationRow]:
            return [ConversationRow(c.id, c.title, c.updated_at) for c in self.store.list_conversations(search)]

        def show(rows: list[ConversationRow]) -> None:
            current = self.controller.conversation.id if self.controller.conversation else None
            self.sidebar.set_conversations(rows, current)
            if select_first and current is None and rows:
                self.controller.open_conversation(rows[0].id)

        run_on_db(load, show, lambda e: self.notice_bar.show_notice(str(e)))

    def new_chat(self) -> None:
        if self.controller.generating:
            self.notice_bar.show_notice("Stop the answer first (Esc), then start a new chat.")
            return
        self.controller.new_conversation(lambda _c: self.composer.focus_input())

    def _on_sidebar_selected(self, conversation_id: int) -> None:
        if self.controller.generating:
            self.notice_bar.show_notice("The answer is still being written; stop it (Esc) to switch chats.")
            current = self.controller.conversation
            if current is not None:
                self.sidebar.select(current.id)
            return
        self.controller.open_conversation(conversation_id)

    def _step_chat(self, step: int) -> None:
        ids = self.sidebar.ids()
        if not ids:
            return
        current = self.controller.conversation.id if self.controller.conversation else ids[0]
        index = ids.index(current) if current in ids else 0
        self.sidebar.select(ids[max(0, min(len(ids) - 1, index + step))])

    def rename_chat(self, conversation_id: int, title: str) -> None:
        run_on_db(lambda: self.store.rename(conversation_id, title), lambda _r: self.refresh_list())

    def delete_chat(self, conversation_id: int) -> None:
        if (
            self.controller.generating
            and self.controller.conversation
            and self.controller.conversation.id == conversation_id
        ):
            self.notice_bar.show_notice("Stop the answer first (Esc), then delete the chat.")
            return

        def deleted(_r: object) -> None:
            if self.controller.conversation and self.controller.conversation.id == conversation_id:
                self.controller.conversation = None
                self.controller.path = []
                self.chat.clear()
            self.refresh_list(select_first=True)
            self.notice_bar.show_notice("Chat deleted.", "Undo", lambda: self._undo_delete(conversation_id))

        run_on_db(lambda: self.store.delete(conversation_id), deleted)

    def _undo_delete(self, conversation_id: int) -> None:
        def restored(_r: object) -> None:
            self.controller.open_conversation(conversation_id)
            self.refresh_list()

        run_on_db(lambda: self.store.undo_delete(conversation_id), restored)

    def _on_search(self, text: str) -> None:
        self._search = text
        self.refresh_list()

    def _focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    def _on_conversation_changed(self, conversation: Conversation | None) -> None:
        self._update_page()
        if conversation is None:
            self.composer.set_thinking(self.controller.thinking_for_new)
        else:
            self.composer.set_thinking(conversation.thinking)
            self.sidebar.select(conversation.id)
            self.setWindowTitle(f"{conversation.title} — Gemma Desk")
        self.status.set_context(0, 0)

    # -- sending ------------------------------------------------------------------------------

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

    # -- models -------------------------------------------------------------------------------

    def choose_model(self) -> None:
        start = self.settings.get_str("last_model_path")
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a Gemma model", str(Path(start).parent) if start else "", "GGUF models (*.gguf)"
        )
        if path:
            self.load_model(Path(path))

    def _offer_model(self, path: Path) -> None:
        answer = QMessageBox.question(
            self, "Load this model?", f"Load {Path(path).name}? The current model is unloaded first."
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.load_model(Path(path))

    def load_model(self, path: Path, mmproj: Path | None = None) -> None:
        """Check the fit and find the projector (off the GUI thread), then load both on the engine."""
        self.status.set_loading(path.name, 0.0)
        self.models.prepare_load(Path(path), mmproj)

    def _start_load(self, path: Path, mmproj: Path | None, n_ctx: int) -> None:
        if self.bridge.closed:  # the load plan finished after the window closed: nothing to load into
            return
        s = self.settings
        threads = s.get_int("threads")
        self._loading_path = (path, mmproj)
        self.bridge.load(
            LoadRequest(
                model_path=path,
                mmproj_path=mmproj,
                n_ctx=n_ctx,
                n_gpu_layers=s.get_int("gpu_layers"),
                n_threads=threads or None,
                vision_budget=s.get_int("vision_budget"),
            )
        )
        self._update_capabilities()
        self._update_page()

    _loading_path: tuple[Path, Path | None] | None = None

    def _on_load_progress(self, _rid: int, fraction: float) -> None:
        name = self._loading_path[0].name if self._loading_path else "model"
        self.status.set_loading(name, fraction)

    def _on_model_loaded(self, _rid: int, info: ModelInfo, notice: str) -> None:
        self.status.set_model(info)
        self._update_capabilities()
        self._update_page()
        self.composer.focus_input()
        if notice:
            self.notice_bar.show_notice(notice)
        if self._loading_path is not None:
            model, mmproj = self._loading_path
            self.settings.update({"last_model_path": str(model), "last_mmproj_path": str(mmproj or "")})
            try:
                self.settings.save()
            except OSError as exc:
                self.notice_bar.show_notice(f"Could not save the settings: {exc}")

    def _on_engine_failed(self, rid: int, message: str, _kind: str) -> None:
        if rid == self.bridge.loading_id:
            self.status.set_model(None)
            self.notice_bar.show_notice(f"The model could not be loaded: {message}", timeout_s=0)
            if self.models.report is None:
                self.models.check_machine()
            self._update_page()

    def _on_engine_done(self, _rid: int, _reason: str) -> None:
        if not self.bridge.is_loading:
            self.status.set_loading("", None)
            self._update_capabilities()

    # -- first run and the model manager ------------------------------------------------------------

    def _update_page(self) -> None:
        """The welcome page while there is no model, unless the user is reading an earlier chat."""
        no_model = self.bridge.model_info is None and not self.bridge.is_loading
        reading = bool(self.controller.path)
        self.pages.setCurrentWidget(self.welcome if no_model and not reading else self.chat)

    def _on_machine_checked(self, report: MachineReport) -> None:
        installed = report.installed[0] if report.installed else None
        self.welcome.set_machine(report.hardware, report.folder, report.recommended, installed, report.unfinished)
        if report.catalog is None:
            self.welcome.set_failure(report.catalog_error)

    def _on_download_started(self, job: object) -> None:
        if self.bridge.model_info is None:
            self.welcome.track(job)  # type: ignore[arg-type]
        self._update_page()

    def _on_download_ready(self, variant: object, paths: list[Path]) -> None:
        model = paths[0]
        mmproj = paths[1] if len(paths) > 1 else None
        if self.bridge.model_info is None and not self.bridge.is_loading:
            self.load_model(model, mmproj)
        else:
            label = getattr(variant, "label", model.name)
            self.notice_bar.show_notice(f"{label} is downloaded.", "Load it", lambda: self.load_model(model, mmproj))

    def open_model_manager(self) -> None:
        from app.ui.model_manager import ModelManager

        if self._manager is not None:
            self._manager.show()
            self._manager.raise_()
            self._manager.activateWindow()
            return
        catalog = self.models.catalog
        if catalog is None:
            from app.models.catalog import load_catalog

            def loaded(result: Catalog) -> None:
                self.models.catalog = result
                self.open_model_manager()

            run_in_background(
                lambda: load_catalog(self.models.catalog_path),
                loaded,
                lambda exc: self.notice_bar.show_notice(str(exc), timeout_s=0),
            )
            return
        manager = ModelManager(catalog, self.settings, self.models.downloads, self)
        manager.loadRequested.connect(self.load_model)
        manager.in_use = lambda: self.bridge.model_info.path if self.bridge.model_info else None
        self._manager = manager
        manager.show()

    def _reload_model(self) -> None:
        """Load the current model again (a setting that takes effect at load time changed)."""
        info = self.bridge.model_info
        if info is not None:
            self.load_model(Path(info.path), Path(info.mmproj_path) if info.mmproj_path else None)

    def _on_playing_changed(self, _path: object) -> None:
        for widget in self.chat.messages:
            widget.set_playing(self.media.player.playing)

    def _update_capabilities(self) -> None:
        info = self.bridge.model_info
        self.media.set_model(
            loaded=info is not None,
            vision=bool(info and info.has_vision),
            audio=bool(info and info.has_audio),
            name=info.name if info else "",
        )
        self.composer.set_capabilities(
            model_loaded=info is not None or self.bridge.is_loading,
            vision=bool(info and info.has_vision),
            audio=bool(info and info.has_audio),
            model_name=info.name if info else "",
        )

    # -- settings, export, help ---------------------------------------------------------------

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            self.settings.update(dialog.values())
            self.apply_theme()
            try:
                self.settings.save()
            except OSError as exc:
                self.notice_bar.show_notice(f"Could not save the settings: {exc}")

    def export_markdown(self) -> None:
        conversation = self.controller.conversation
        if conversation is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the chat to a folder")
        if folder:
            run_on_db(
                lambda: self.store.export_markdown(conversation.id, Path(folder)),
                lambda path: self.notice_bar.show_notice(f"Exported to {path}"),
                lambda e: self.notice_bar.show_notice(f"Export failed: {e}"),
            )

    def export_json(self) -> None:
        conversation = self.controller.conversation
        if conversation is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the chat as JSON", f"{conversation.title}.json", "JSON (*.json)"
        )
        if path:
            run_on_db(
                lambda: self.store.export_json_file(conversation.id, Path(path)),
                lambda p: self.notice_bar.show_notice(f"Exported to {p}"),
                lambda e: self.notice_bar.show_notice(f"Export failed: {e}"),
            )

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

    def about_text(self) -> str:
        """The About box: the app, the engine (llama.cpp and its backend), Qt, and the model loaded."""
        import llama_cpp
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        info = self.bridge.model_info
        if info is None:
            model = "none loaded"
        else:
            gpu = f", {info.gpu_layers} layers on the GPU" if info.gpu_layers else ""
            model = (
                f"{info.name} ({info.architecture}, {format_params(info.n_params)} parameters) on {info.backend}{gpu}"
            )
            model += f"<br>{info.path.name}" + (f" + {info.mmproj_path.name}" if info.mmproj_path else "")
        return (
            f"<h3>Gemma Desk {__version__}</h3>"
            "<p>Chat with Google's Gemma 4 on your own computer. Nothing you type, show or say leaves it.</p>"
            f"<p><b>Engine:</b> llama.cpp through llama-cpp-python {llama_cpp.__version__}"
            f" ({self.status.backend_summary or 'backend shown once a model loads'})<br>"
            f"<b>Qt:</b> {qVersion()} (PySide6 {pyside_version})<br>"
            f"<b>Model:</b> {model}</p>"
            "<p>Gemma is a family of open models by Google. Gemma Desk is released under the Apache License 2.0.</p>"
        )

    def show_about(self) -> None:
        QMessageBox.about(self, "About Gemma Desk", self.about_text())

    # -- drag and drop onto the whole window ----------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.composer.add_files(paths)
            event.acceptProposedAction()

    # -- geometry, theme, closing -------------------------------------------------------------------

    def store_path(self) -> Path:
        """The chat database this window writes to."""
        return Path(self.store.db_path)

    def _qsettings(self) -> QSettings:
        return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)

    def _restore_geometry(self) -> None:
        q = self._qsettings()
        geometry = q.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
            size = q.value("size")
            if isinstance(size, QSize) and size.isValid():  # some platforms restore the frame, not the size
                self.resize(size)
        else:
            self.resize(1100, 760)
        splitter = q.value("splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)

    def save_geometry(self) -> None:
        q = self._qsettings()
        q.setValue("geometry", self.saveGeometry())
        q.setValue("size", self.size())
        q.setValue("splitter", self.splitter.saveState())
        q.sync()

    def apply_theme(self) -> None:
        """Light, dark or the system's: colours, markdown theme and message styles follow."""
        apply_theme(self.settings.get_str("theme"))
        QApplication.processEvents()  # let the palette change arrive
        self.setStyleSheet(window_stylesheet(self.palette()))
        self.chat.theme = DARK if self._is_dark() else LIGHT
        for widget in self.chat.messages:
            if not widget.streaming:
                widget.body.set_theme(self.chat.theme)

    def _is_dark(self) -> bool:
        return self.palette().window().color().lightness() < 128

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            self.controller.stop()
            self.controller.save_now()
            self.models.downloads.pause_all()  # the .part files stay; the next start resumes them
            self.media.shutdown()
            self.previews.shutdown()
            self.save_geometry()
            self.bridge.shutdown(timeout=10)
            try:
                wait_for_db(10)
            except Exception:
                log.exception("the store did not finish its last writes")
        super().closeEvent(event)
