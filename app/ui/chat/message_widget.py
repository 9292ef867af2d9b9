"""One chat message: who wrote it, its pictures and documents, the model's thinking, the answer, actions.

Actions: Copy (any message), Edit and re-send (user messages), Regenerate
(the last answer), a "‹ 2/3 ›" switcher when a message has other versions,
and Copy / Save as… on each code block. The widget only shows and asks; the
chat controller decides what happens. How a turn looks (the user's bubble, the
model's avatar, the stats footer) lives in ``turn_style``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QKeySequence, QPaintEvent, QPixmap, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.render.artifacts import find_page, page_for
from app.render.markdown import LIGHT, Theme
from app.ui.chat import turn_style
from app.ui.chat.attachment_views import AttachmentView, ImageViewer
from app.ui.chat.document_view import DocumentCard
from app.ui.chat.markdown_view import StreamingBody
from app.ui.chat.thinking_block import ThinkingBlock
from app.ui.chat.tool_block import ToolSteps
from app.ui.chat.turn_style import action_button as _tool
from app.ui.icons import set_icon
from app.ui.keymap import EDIT_CANCEL, EDIT_SEND, describe
from app.ui.shell.theme import error_colour


class MessageWidget(QFrame):
    """A user or model message in the chat view."""

    # Signals
    regenerateRequested = Signal()
    editSubmitted = Signal(str)  # the new text of an edited user message
    branchRequested = Signal(int)  # -1 previous version, +1 next version
    heightChanged = Signal()
    playRequested = Signal(object)  # Path of a recording to play or stop
    previewRequested = Signal(int)  # a code block's index, or -1: the HTML page written without a fence
    textUpdated = Signal()  # the answer grew (streaming) or was replaced
    speakRequested = Signal()  # read this answer aloud, or stop reading it

    def __init__(self, role: str, title: str, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.message_id: int | None = None
        self.setObjectName("UserMessage" if role == "user" else "ModelMessage")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        header = self._build_header(title)

        self._build_attachments()

        self.thinking = ThinkingBlock(self)
        self.thinking.hide()
        self.thinking.toggled.connect(lambda _on: self.heightChanged.emit())
        self.tools = ToolSteps(self)  # the tool calls of the rounds before the last (app.ui.chat.tool_block)
        self.tools.dark = theme.name == "dark"
        self.tools.heightChanged.connect(self.heightChanged)
        self.tools.pictureClicked.connect(self._open_picture)

        self.body = StreamingBody(theme, self)
        self.body.setAccessibleName("Your message" if role == "user" else "Answer")
        self.body.codeAction.connect(self._on_code_action)
        self.body.stable.heightChanged.connect(self.heightChanged)
        self.body.tail.heightChanged.connect(self.heightChanged)

        self._build_editor()

        self.error = QLabel(self)
        self.error.setObjectName("MessageError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {error_colour(self)};")
        self.error.hide()
        self.footer = QLabel(self)
        self.footer.setObjectName("MessageStats")
        turn_style.make_quiet(self.footer)
        self.footer.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.attachments_box)
        layout.addWidget(self.documents_box)
        layout.addWidget(self.tools)
        layout.addWidget(self.thinking)
        layout.addWidget(self.body)
        layout.addWidget(self.editor)
        layout.addWidget(self.edit_box)
        layout.addWidget(self.error)
        layout.addWidget(self.footer)

        self.set_branch(1, 1)
        self.set_can_regenerate(False)
        self.edit_button.setVisible(role == "user")
        self._attachments: list[AttachmentView] = []
        self._streaming = False
        self._bubble_x = 0  # where the user's bubble starts (px from the left)

    def _build_header(self, title: str) -> QHBoxLayout:
        """The title, the ‹ n/m › branch switcher and the message's buttons."""
        self.title, self.model_name = turn_style.title_labels(self.role, title, self)
        self.prev_button = _tool("‹", "Previous version of this message (Alt+Left)", self, "previous", text=False)
        self.branch_label = QLabel(self)
        self.next_button = _tool("›", "Next version of this message (Alt+Right)", self, "next", text=False)
        self.prev_button.clicked.connect(lambda: self.branchRequested.emit(-1))
        self.next_button.clicked.connect(lambda: self.branchRequested.emit(1))
        tip = "Show the HTML page this answer wrote, beside your picture"
        self.page_button = _tool("Preview page", tip, self, "preview")
        self.page_button.clicked.connect(self._on_page_button_clicked)
        self.page_button.hide()
        self.copy_button = _tool("Copy", "Copy this message as text", self, "copy")
        self.copy_button.clicked.connect(self.copy_text)
        self.edit_button = _tool("Edit", "Edit this message and send it again (keeps the old version)", self, "edit")
        self.edit_button.clicked.connect(self.begin_edit)
        tip = "Write this answer again (keeps the old version)"
        self.regenerate_button = _tool("Regenerate", tip, self, "regenerate")
        self.regenerate_button.clicked.connect(self.regenerateRequested)
        self.speak_button = _tool("Speak", "Read this answer aloud (thinking and code are left out)", self, "speak")
        self.speak_button.clicked.connect(self.speakRequested)
        self.speak_button.setVisible(self.role == "assistant")

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.setSpacing(4)
        if self.role == "assistant":
            self.avatar = turn_style.avatar(self)
            header.addWidget(self.avatar)
            header.addSpacing(2)
        header.addWidget(self.title)
        if self.model_name is not None:
            header.addSpacing(4)
            header.addWidget(self.model_name)
        header.addWidget(self.prev_button)
        header.addWidget(self.branch_label)
        header.addWidget(self.next_button)
        header.addStretch(1)
        header.addWidget(self.edit_button)
        header.addWidget(self.regenerate_button)
        header.addWidget(self.page_button)
        header.addWidget(self.speak_button)
        header.addWidget(self.copy_button)
        self._header = header
        return header

    def _build_attachments(self) -> None:
        """A row of pictures, recordings and videos, and a column of document cards below it."""
        self.attachments_row = QHBoxLayout()
        self.attachments_row.setContentsMargins(0, 0, 0, 0)
        self.attachments_row.setSpacing(6)
        self.attachments_box = QWidget(self)
        self.attachments_box.setLayout(self.attachments_row)
        self.attachments_box.hide()
        self.documents_box = QWidget(self)
        self.documents_column = QVBoxLayout(self.documents_box)
        self.documents_column.setContentsMargins(0, 0, 0, 0)
        self.documents_column.setSpacing(4)
        self.documents_box.hide()
        self.document_cards: list[DocumentCard] = []
        self._buttons: dict[int, QToolButton] = {}  # attachment index → its button (pictures, sound, video)

    def _build_editor(self) -> None:
        """The editor that replaces the text while the user edits it, with Send and Cancel."""
        self.editor = QPlainTextEdit(self)
        self.editor.setAccessibleName("Edit message")
        self.editor.hide()
        self.save_edit = QPushButton("Send", self)
        set_icon(self.save_edit, "send")
        self.save_edit.setToolTip("Send the edited message (Ctrl+Enter); the old version stays as a branch")
        self.cancel_edit = QPushButton("Cancel", self)
        set_icon(self.cancel_edit, "cancel")
        self.cancel_edit.setToolTip("Keep the message as it was (Esc)")
        self.save_edit.clicked.connect(self._submit_edit)
        self.cancel_edit.clicked.connect(self.end_edit)
        for keys, slot, text in (
            ("Ctrl+Return", self._submit_edit, EDIT_SEND),
            ("Ctrl+Enter", self._submit_edit, EDIT_SEND),
            ("Esc", self.end_edit, EDIT_CANCEL),
        ):
            shortcut = describe(QShortcut(QKeySequence(keys), self.editor), "Messages", text)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(slot)
        edit_buttons = QHBoxLayout()
        edit_buttons.addStretch(1)
        edit_buttons.addWidget(self.cancel_edit)
        edit_buttons.addWidget(self.save_edit)
        self.edit_box = QWidget(self)
        self.edit_box.setLayout(edit_buttons)
        self.edit_box.hide()

    # -- content ----------------------------------------------------------------------

    def set_content(self, text: str) -> None:
        self.body.set_markdown(text)
        self._update_page_button()
        self._place_bubble()
        self.heightChanged.emit()
        self.textUpdated.emit()

    def page(self) -> tuple[int, str] | None:
        """The whole HTML page this answer holds (see ``artifacts.find_page``)."""
        if self.role != "assistant":
            return None
        return find_page(self.body.text, self.body.code_blocks)

    def preview_source(self, index: int) -> str | None:
        """What the preview shows for code block ``index`` (-1: the page written without a fence)."""
        if index < 0:
            found = self.page()
            return found[1] if found and found[0] < 0 else None
        blocks = self.body.code_blocks
        return page_for(blocks[index]) if 0 <= index < len(blocks) else None

    def _update_page_button(self) -> None:
        if self.role == "assistant" and self.page_button.isHidden():
            self.page_button.setVisible(self.page() is not None)

    def _on_page_button_clicked(self) -> None:
        found = self.page()
        if found is not None:
            self.previewRequested.emit(found[0])

    def text(self) -> str:
        return self.body.text

    def set_thinking(self, text: str, seconds: float | None) -> None:
        if text.strip():
            self.thinking.set_text(text, seconds)
            self.thinking.show()
        else:
            self.thinking.hide()

    @property
    def attachments(self) -> list[AttachmentView]:
        return list(self._attachments)

    def set_attachments(self, items: list[AttachmentView]) -> None:
        """Pictures, sound and video as buttons in a row; documents as cards below it (kept when only the
        pictures' thumbnails arrive, so an expanded card stays open)."""
        same_documents = [(a.name, a.path) for a in items if a.kind == "document"] == [
            (a.name, a.path) for a in self._attachments if a.kind == "document"
        ]
        self._attachments = list(items)
        for layout in (self.attachments_row, *(() if same_documents else (self.documents_column,))):
            while layout.count():
                item = layout.takeAt(0)
                widget = item.widget() if item else None
                if widget is not None:
                    widget.deleteLater()
        self._buttons = {}
        if not same_documents:
            self.document_cards = []
        for index, att in enumerate(items):
            if att.kind == "document":
                if not same_documents:
                    self._add_document_card(att)
                continue
            button = QToolButton(self.attachments_box)
            button.setAutoRaise(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            if att.thumbnail is not None and not att.thumbnail.isNull():
                button.setIcon(QIcon(QPixmap.fromImage(att.thumbnail)))
                button.setIconSize(QSize(96, 96))
            else:
                button.setText({"audio": "▶ ", "video": "🎞 "}.get(att.kind, "") + att.name)
            button.setToolTip(f"{att.name} — click to {'play' if att.kind == 'audio' else 'open'}")
            button.setAccessibleName(f"Attached {att.kind}: {att.name}")
            button.clicked.connect(lambda _=False, i=index: self.open_attachment(i))
            self.attachments_row.addWidget(button)
            self._buttons[index] = button
        self.attachments_row.addStretch(1)
        self.attachments_box.setVisible(bool(self._buttons))
        self.documents_box.setVisible(bool(self.document_cards))
        self._place_bubble()

    def _add_document_card(self, att: AttachmentView) -> None:
        card = DocumentCard(att.name, att.size, att.load, self.documents_box)
        card.toggled.connect(lambda _on: self.heightChanged.emit())
        card.loaded.connect(self.heightChanged)
        self.documents_column.addWidget(card)
        card.show()
        self.document_cards.append(card)

    def open_attachment(self, index: int) -> QDialog | None:
        """Enlarge a picture, play a recording (``playRequested``); videos open in the system's player."""
        att = self._attachments[index]
        if att.kind == "audio" and att.path is not None:
            self.playRequested.emit(att.path)
            return None
        if att.kind == "image" and att.path is not None:
            image = QImage(str(att.path))
            if not image.isNull():
                viewer = ImageViewer(image, att.name, self)
                viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                viewer.show()
                return viewer
        if att.path is not None:
            from PySide6.QtCore import QUrl
            from PySide6.QtGui import QDesktopServices

            QDesktopServices.openUrl(QUrl.fromLocalFile(str(att.path)))
        return None

    def _open_picture(self, path: Path) -> None:
        image = QImage(str(path))
        if not image.isNull():
            viewer = ImageViewer(image, path.name, self)
            viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            viewer.show()

    def set_playing(self, path: Path | None) -> None:
        """Show which recording plays (■) and which can be played (▶)."""
        for i, att in enumerate(self._attachments):
            button = self._buttons.get(i)
            if att.kind == "audio" and button is not None:
                on = path is not None and att.path == path
                button.setText(("■ " if on else "▶ ") + att.name)
                button.setAccessibleName(f"{'Stop' if on else 'Play'} the recording {att.name}")

    def set_interactive(self, on: bool) -> None:
        """Off while an answer streams: no editing, regenerating or switching versions."""
        self._interactive = on
        self.edit_button.setEnabled(on)
        self.regenerate_button.setEnabled(on)
        self.set_branch(*self._branch)

    _interactive = True
    _branch = (1, 1)

    def set_branch(self, index: int, count: int) -> None:
        self._branch = (index, count)
        many = count > 1
        for w in (self.prev_button, self.branch_label, self.next_button):
            w.setVisible(many)
        self.branch_label.setText(f"{index}/{count}")
        self.branch_label.setAccessibleName(f"Version {index} of {count}")
        self.prev_button.setEnabled(self._interactive and index > 1)
        self.next_button.setEnabled(self._interactive and index < count)

    def set_can_regenerate(self, can: bool) -> None:
        self.regenerate_button.setVisible(can and self.role == "assistant")

    def set_speaking(self, on: bool) -> None:
        """The Speak button becomes Stop while this answer is read aloud."""
        self.speak_button.setText("Stop" if on else "Speak")
        set_icon(self.speak_button, "stop_speaking" if on else "speak")
        self.speak_button.setToolTip("Stop reading aloud (Esc)" if on else "Read this answer aloud")
        self.speak_button.setAccessibleName("Stop reading aloud" if on else "Read this answer aloud")

    def set_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.error.setAccessibleName(f"Error: {message}" if message else "")

    def set_footer(self, text: str) -> None:
        self.footer.setText(text)
        self.footer.setVisible(bool(text))

    # -- the user's bubble -------------------------------------------------------------

    def _place_bubble(self) -> None:
        if self.role == "user" and self.width() > 0:
            self._bubble_x = turn_style.place_bubble(self, self._header)
            self.update()

    @property
    def bubble_x(self) -> int:
        """Where the user's bubble starts (0 for the model's full-width turns)."""
        return self._bubble_x

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._place_bubble()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.role == "user":
            turn_style.paint_bubble(self, self._bubble_x)

    # -- streaming --------------------------------------------------------------------

    def begin_stream(self) -> None:
        self._streaming = True
        self.set_error("")
        self.set_footer("")
        self.copy_button.setEnabled(False)
        self.regenerate_button.setEnabled(False)

    def stream(self, thinking: str | None, answer: str | None) -> None:
        """Show the latest thinking/answer text (whole strings, called at ~30 Hz)."""
        if thinking:
            if not self.thinking.isVisible():
                self.thinking.show()
                self.thinking.start()
            added = thinking[len(self.thinking.text()) :]
            if added:
                self.thinking.append(added)
        if answer:
            if self.thinking.is_live:
                self.thinking.finish()
            self.body.stream(answer)
            self._update_page_button()
        self.heightChanged.emit()
        if answer:
            self.textUpdated.emit()

    def next_round(self) -> None:
        """The round just streamed ended in tool calls (now shown in ``tools``): the next round's thinking and
        text start afresh."""
        self.thinking.set_text("", None)
        self.thinking.hide()
        self.body.set_markdown("")
        self.heightChanged.emit()

    def end_stream(self) -> None:
        self._streaming = False
        if self.thinking.is_live:
            self.thinking.finish()
        self.body.finish()
        self.copy_button.setEnabled(True)
        self.regenerate_button.setEnabled(True)
        self._update_page_button()
        self.heightChanged.emit()
        self.textUpdated.emit()

    @property
    def streaming(self) -> bool:
        return self._streaming

    # -- actions ----------------------------------------------------------------------

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.body.text)

    def begin_edit(self) -> None:
        self.editor.setPlainText(self.body.text)
        self.body.hide()
        self.editor.show()
        self.edit_box.show()
        self.editor.setFocus()
        self._place_bubble()
        self.heightChanged.emit()

    def end_edit(self) -> None:
        self.editor.hide()
        self.edit_box.hide()
        self.body.show()
        self._place_bubble()
        self.heightChanged.emit()

    def _submit_edit(self) -> None:
        text = self.editor.toPlainText()
        if not text.strip() and not self._attachments:
            return
        self.end_edit()
        self.editSubmitted.emit(text)

    def _on_code_action(self, action: str, index: int) -> None:
        blocks = self.body.code_blocks
        if not 0 <= index < len(blocks):
            return
        block = blocks[index]
        if action == "preview":
            self.previewRequested.emit(index)
        elif action == "copy":
            QGuiApplication.clipboard().setText(block.code)
        elif action == "save":
            path, _ = QFileDialog.getSaveFileName(self, "Save code as", block.suggested_filename)
            if path:
                try:
                    Path(path).write_text(block.code, encoding="utf-8")
                except OSError as exc:
                    self.set_error(f"Could not save {Path(path).name}: {exc.strerror or exc}")
