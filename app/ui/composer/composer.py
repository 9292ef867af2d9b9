"""The message box at the bottom of the chat window: the text box, the attachment tray, Attach, Think and Send/Stop.

Attachments (dropped, pasted, picked or recorded) go to ``AttachmentIntake`` (``app.ui.composer.intake``),
which reads them off the GUI thread; the composer shows its tiles and notices and sends what it holds.
Documents' token counts, long pastes and page picking are ``DocumentActions``' (``documents``); the context
meter weighs the message against the loaded context and keeps Send from a message that cannot fit.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QToolButton, QVBoxLayout, QWidget

from app.chat.budget import ContextBudget, estimate_tokens
from app.media import AudioInput
from app.media.intake import PendingAttachment
from app.ui.composer.attachment_tray import AttachmentTray
from app.ui.composer.context_meter import ContextMeter, OverflowBar
from app.ui.composer.documents import DocumentActions
from app.ui.composer.intake import MAX_ATTACHMENTS, Abilities, AttachmentIntake, file_filter
from app.ui.composer.message_input import MessageInput, local_files
from app.ui.icons import set_icon
from app.ui.keymap import STOP_TEXT, describe

if TYPE_CHECKING:
    from app.ui.engine_bridge import EngineBridge

__all__ = ["MAX_ATTACHMENTS", "Composer", "MessageInput", "PendingAttachment"]


def _keys(sequence: str) -> str:
    """A shortcut as this platform writes it (Ctrl+O, ⌘O)."""
    return QKeySequence(sequence).toString(QKeySequence.SequenceFormat.NativeText)


class Composer(QWidget):
    """Message input, attachments tray, Attach, Think and Send/Stop."""

    # Signals
    sendRequested = Signal(str, list)  # text, list[PendingAttachment]
    stopRequested = Signal()
    thinkingToggled = Signal(bool)
    modelFileDropped = Signal(object)  # Path to a .gguf
    noticeRequested = Signal(str)
    budgetChanged = Signal(object)  # ContextBudget: what the message costs against the context

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._busy = False
        self._last_dir = str(Path.home())
        self._bridge: EngineBridge | None = None
        self._history = 0  # tokens the conversation so far takes
        self.intake = AttachmentIntake(self.devicePixelRatioF, self)
        self.setAcceptDrops(True)
        self._build()
        self._update_send()

    def _build(self) -> None:
        self.setObjectName("Composer")
        self.tray = AttachmentTray(self)
        self.input = MessageInput(self)
        self.attach_button = QToolButton(self)
        self.attach_button.setText("Attach")
        set_icon(self.attach_button, "attach")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.setToolTip(f"Attach pictures, audio or a short video ({_keys('Ctrl+O')})")
        self.think_button = QToolButton(self)
        self.think_button.setText("Think")
        self.think_button.setCheckable(True)
        set_icon(self.think_button, "think", toggle=True)
        self.think_button.setAccessibleName("Think before answering")
        self.think_button.toggled.connect(self._show_think)
        self._show_think(False)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("SendButton")
        set_icon(self.send_button, "send", on_accent=True)
        self.meter = ContextMeter(self)
        self.overflow_bar = OverflowBar(self)
        metrics = self.send_button.fontMetrics()
        self.send_button.setMinimumWidth(max(metrics.horizontalAdvance(t) for t in ("Send", "Stop")) + 32)
        for button in (self.attach_button, self.think_button):
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.attach_button)
        row.addWidget(self.think_button)
        self._tools_at = row.count()
        row.addStretch(1)
        row.addWidget(self.meter)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(4)
        layout.addWidget(self.overflow_bar)
        layout.addWidget(self.tray)
        layout.addWidget(self.input)
        layout.addLayout(row)
        self._row = row
        self.setFocusProxy(self.input)
        self._connect()

    def _connect(self) -> None:
        self.intake.started.connect(self.tray.add_placeholder)
        self.intake.ready.connect(self.tray.set_chip)
        self.intake.dropped.connect(self.tray.remove)
        self.intake.changed.connect(self._update_send)
        self.intake.noticeRequested.connect(self.noticeRequested)
        self.intake.modelFileDropped.connect(self.modelFileDropped)
        self.intake.recordingReady.connect(self._on_intake_recordingReady)
        self.input.submitRequested.connect(self._on_input_submitRequested)
        self.input.filesDropped.connect(self._on_input_filesDropped)
        self.input.imagePasted.connect(self._on_input_imagePasted)
        self.input.textChanged.connect(self._update_send)
        self.tray.removeRequested.connect(self._on_tray_removeRequested)
        self.documents = DocumentActions(self.intake, self.tray, self.input, self)
        self.documents.countsChanged.connect(self._update_send)
        self.documents.noticeRequested.connect(self.noticeRequested)
        self.attach_button.clicked.connect(self._on_attach_button_clicked)
        self.think_button.toggled.connect(self.thinkingToggled)
        self.send_button.clicked.connect(self._on_send_button_clicked)

        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self._stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, context=context)
        describe(self._stop_shortcut, "Chat", STOP_TEXT)
        self._stop_shortcut.activated.connect(self.stopRequested)
        self._stop_shortcut.setEnabled(False)  # Esc is only ours while a reply is being generated or read aloud
        self._speaking = False
        attach = describe(QShortcut(QKeySequence("Ctrl+O"), self, context=context), "Composer", "Attach files")
        attach.activated.connect(self._on_attach_button_clicked)
        think = describe(QShortcut(QKeySequence("Ctrl+T"), self, context=context), "Composer", "Think on/off")
        think.activated.connect(self.think_button.toggle)

    # --- public API ---------------------------------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        """While a reply is generated, Send becomes Stop (Esc too) and Enter does nothing."""
        self._busy = busy
        self._stop_shortcut.setEnabled(busy or self._speaking)
        self._update_send()

    def set_speaking(self, speaking: bool) -> None:
        """While an answer is read aloud, Esc here stops it (``stopRequested``)."""
        self._speaking = speaking
        self._stop_shortcut.setEnabled(self._busy or speaking)

    def set_capabilities(self, *, model_loaded: bool, vision: bool, audio: bool, model_name: str = "") -> None:
        self.intake.abilities = Abilities(model_loaded, vision, audio, model_name)
        self._update_send()

    def use_engine(self, bridge: EngineBridge) -> None:
        """Count attachments' tokens with the model ``bridge`` loads, and weigh the message against its context."""
        self._bridge = bridge
        self.documents.counter.use_engine(bridge)
        bridge.modelLoaded.connect(lambda *_args: self._update_send())
        bridge.modelUnloaded.connect(lambda *_args: self._update_send())

    def set_history_tokens(self, tokens: int) -> None:
        """What the conversation so far takes in the context (the meter adds the message to it)."""
        self._history = max(0, tokens)
        self._update_send()

    def budget(self) -> ContextBudget:
        """The message's cost against the loaded context (``n_ctx`` 0 while no model is loaded)."""
        bridge = self._bridge
        info = bridge.model_info if bridge is not None else None  # None while a model loads
        draft = estimate_tokens(self.input.document().characterCount() - 1)
        return ContextBudget(self._history, self.documents.counter.total(), draft, info.n_ctx if info else 0)

    def choose_pages(self, token: int) -> None:
        """Open the page picker for a document in the tray."""
        self.documents.choose_pages(token)

    def set_thinking(self, on: bool) -> None:
        """Show the conversation's setting, without emitting thinkingToggled."""
        blocked = self.think_button.blockSignals(True)
        self.think_button.setChecked(on)
        self.think_button.blockSignals(blocked)
        self._show_think(on)

    def _show_think(self, on: bool) -> None:
        """The Think switch says whether it is on, and its shortcut."""
        self.think_button.setToolTip(
            f"Think before answering ({_keys('Ctrl+T')}): {'on' if on else 'off'}.\n"
            "Gemma reasons step by step before it answers — slower, often better on hard questions. "
            "Applies to this conversation."
        )
        self.think_button.setAccessibleDescription(f"Thinking is {'on' if on else 'off'}")

    def add_files(self, paths: list[Path]) -> None:
        """Attach pictures, audio and videos (decoded in the background); a .gguf is offered as a model."""
        self.intake.add_files(paths)

    def add_tool(self, widget: QWidget) -> None:
        """Put a button (camera, microphone) in the row after Think."""
        if isinstance(widget, QToolButton):
            widget.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._row.insertWidget(self._tools_at, widget)
        self._tools_at += 1
        self._fit_row()

    def add_bar(self, widget: QWidget) -> None:
        """Put a bar (the recording meter) above the text box."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(self.input), widget)

    def add_recording(self, path: Path, audio: AudioInput, *, send: bool) -> None:
        """Attach a push-to-talk clip already decoded (``audio``, saved at ``path``); ``send``: send it at once."""
        self.intake.add_recording(path, audio, send=send)

    def add_qimage(self, image: QImage, name: str = "pasted image.png") -> None:
        """Attach a picture held as a QImage (the clipboard's, a rendered page); encoded off the GUI thread."""
        self.intake.add_qimage(image, name)

    def add_image_bytes(self, data: bytes, name: str = "pasted image.png") -> None:
        """Attach a picture held in memory (PNG, JPEG, …), e.g. a pasted screenshot."""
        self.intake.add_image_bytes(data, name)

    def text(self) -> str:
        return self.input.toPlainText()

    def set_text(self, text: str) -> None:
        self.input.choose_wrap(text)
        self.input.setPlainText(text)
        self.input.moveCursor(self.input.textCursor().MoveOperation.End)

    def clear(self) -> None:
        """Empty the input and drop every attachment (decodes still running are abandoned)."""
        self.input.clear()
        self.intake.clear()

    def attachments(self) -> list[PendingAttachment]:
        return self.intake.attachments()

    def pending_decodes(self) -> int:
        return self.intake.pending()

    def focus_input(self) -> None:
        self.input.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- drops (anywhere on the composer; the text area forwards its own) -----------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        if files := local_files(mime):
            self.add_files(files)
        elif mime.hasImage():
            self._on_input_imagePasted(QImage(mime.imageData()))
        else:
            return
        event.acceptProposedAction()

    # --- sending ------------------------------------------------------------------------------------------

    def _has_text(self) -> bool:
        """Whether there is non-blank text, without copying a long text on every keystroke."""
        count = self.input.document().characterCount()
        return count > 4096 or (count > 1 and bool(self.text().strip()))

    def _send_blocker(self) -> str | None:
        """Why Send cannot run now (shown as its tooltip), or None."""
        if not self.intake.abilities.model_loaded:
            return "Load a model first"
        if blocker := self.intake.blocker():
            return blocker
        if not self.intake.count() and not self._has_text():
            return "Type a message or attach a file"
        return self._budget.blocker()

    _budget = ContextBudget(0, 0, 0, 0)

    @Slot()
    def _update_send(self) -> None:
        budget = self.budget()  # cheap: the text box's length and the chips' counts
        if budget != self._budget:
            self._budget = budget
            self.meter.show_budget(budget)
            self.budgetChanged.emit(budget)
        button = self.send_button
        if self._busy:
            if button.text() != "Stop":
                button.setText("Stop")
                set_icon(button, "stop", on_accent=True)
            button.setEnabled(True)
            button.setAccessibleName("Stop generating")
            button.setToolTip(f"Stop generating ({_keys('Esc')})")
            return
        blocker = self._send_blocker()
        if button.text() != "Send":
            button.setText("Send")
            set_icon(button, "send", on_accent=True)
        button.setEnabled(blocker is None)
        button.setAccessibleName("Send message")
        button.setToolTip(blocker or "Send (Enter; Shift+Enter for a new line)")

    def _send(self) -> None:
        blocker = self._send_blocker()
        if blocker is not None:
            if self.intake.count() or self._has_text():
                self.noticeRequested.emit(blocker + ".")
            return
        text = re.sub(r"\A(?:[ \t]*\n)+", "", self.text().rstrip())
        if not text and not self.intake.count():
            return
        self.sendRequested.emit(text, self.attachments())
        self.clear()

    # --- slots --------------------------------------------------------------------------------------------

    @Slot()
    def _on_input_submitRequested(self) -> None:
        if not self._busy:
            self._send()

    @Slot()
    def _on_send_button_clicked(self) -> None:
        if self._busy:
            self.stopRequested.emit()
        else:
            self._send()

    @Slot(list)
    def _on_input_filesDropped(self, paths: list[Path]) -> None:
        self.add_files(paths)

    @Slot(QImage)
    def _on_input_imagePasted(self, image: QImage) -> None:
        self.add_qimage(image)

    @Slot(int)
    def _on_tray_removeRequested(self, token: int) -> None:
        self.intake.remove(token)
        self.focus_input()

    @Slot()
    def _on_intake_recordingReady(self) -> None:
        if self._busy:
            self.noticeRequested.emit("The recording is attached: send it (Enter) once this answer is done.")
        else:
            self._send()

    @Slot()
    def _on_attach_button_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach to your message", self._last_dir, file_filter())
        if paths:
            self._last_dir = str(Path(paths[0]).parent)
            self.add_files([Path(p) for p in paths])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_row()

    def _fit_row(self) -> None:
        """The row's buttons show their names beside their icons where it has room, their icons alone (names in
        the tooltips) where it has not."""
        items = (self._row.itemAt(i) for i in range(self._tools_at))
        buttons = [w for item in items if item is not None and isinstance(w := item.widget(), QToolButton)]
        metrics = self.fontMetrics()
        needed = self.meter.sizeHint().width() + self.send_button.sizeHint().width() + 40
        for button in (b for b in buttons if not b.isHidden()):
            needed += button.sizeHint().width() + self._row.spacing()
            if button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly:
                needed += metrics.horizontalAdvance(button.text()) + 6
        style = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        if needed > self.width():
            style = Qt.ToolButtonStyle.ToolButtonIconOnly
        for button in buttons:
            button.setToolButtonStyle(style)
            # Shrinkable to its icon, so the window's minimum width is that of the icons alone, not of the names.
            button.setMinimumWidth(button.iconSize().width() + 14)

    def paintEvent(self, event: QPaintEvent) -> None:
        """A rounded box in the palette's base colour with a faint border, so it reads as one field."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        border = self.palette().color(QPalette.ColorRole.Text)
        border.setAlpha(150 if self.input.hasFocus() else 60)
        painter.setPen(QPen(border, 1))
        painter.setBrush(self.palette().color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(self.rect().toRectF().adjusted(0.5, 0.5, -0.5, -0.5), 10, 10)
        painter.end()


def _preview() -> None:
    """``python -m app.ui.composer.composer``: the composer in a window, printing what it emits."""
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    composer = Composer()
    composer.setWindowTitle("Composer preview")
    composer.resize(720, 160)
    composer.set_capabilities(model_loaded=True, vision=True, audio=True, model_name="Gemma 4 E4B (preview)")

    def on_send(text: str, attachments: list[PendingAttachment]) -> None:
        print("sendRequested:", repr(text), [(a.kind, a.name, a.summary) for a in attachments])
        composer.set_busy(True)
        QTimer.singleShot(3000, lambda: composer.set_busy(False))

    composer.sendRequested.connect(on_send)

    def on_stop() -> None:
        print("stopRequested")
        composer.set_busy(False)

    composer.stopRequested.connect(on_stop)
    composer.thinkingToggled.connect(lambda on: print("thinkingToggled:", on))
    composer.modelFileDropped.connect(lambda path: print("modelFileDropped:", path))
    composer.noticeRequested.connect(lambda text: print("noticeRequested:", text))
    composer.show()
    composer.focus_input()
    sys.exit(app.exec())


if __name__ == "__main__":
    _preview()
