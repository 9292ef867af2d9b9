"""The message box at the bottom of the chat window: text, attachments (dropped, pasted or picked), Think and Send/Stop.

Files are classified here on the GUI thread by name only; reading and decoding them runs through
``run_in_background`` (``app.ui.composer.attachment_tray``), with a spinner tile until each one is ready.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QMimeData, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QFocusEvent,
    QFontMetricsF,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QShortcut,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPlainTextEdit, QPushButton, QToolButton, QVBoxLayout, QWidget

from app.media import AudioInput, MediaError
from app.ui.composer.attachment_tray import (
    AttachmentTray,
    PendingAttachment,
    decode_file,
    decode_image_bytes,
    decode_qimage,
    file_filter,
    kind_for_suffix,
    recording_attachment,
    unsupported_message,
)
from app.ui.tasks import run_in_background

__all__ = ["MAX_ATTACHMENTS", "Composer", "MessageInput", "PendingAttachment"]

log = logging.getLogger(__name__)

#: Attachments one message may carry; more are left out with a notice.
MAX_ATTACHMENTS = 16
PLACEHOLDER = "Ask Gemma…, drop a picture, or paste a screenshot"
_WORD_WRAP = QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere


def _keys(sequence: str) -> str:
    """A shortcut as this platform writes it (Ctrl+O, ⌘O)."""
    return QKeySequence(sequence).toString(QKeySequence.SequenceFormat.NativeText)


def local_files(mime: QMimeData) -> list[Path]:
    """The local files a drop or paste carries (none when any URL is remote: that pastes as text)."""
    if not mime.hasUrls():
        return []
    urls = mime.urls()
    if not urls or not all(url.isLocalFile() for url in urls):
        return []
    return [Path(url.toLocalFile()) for url in urls]


class MessageInput(QPlainTextEdit):
    """Multi-line input that grows with its text up to MAX_LINES; Enter submits, Shift+Enter starts a new line."""

    MAX_LINES = 10
    #: Characters past which the height is simply the maximum (no layout work), and the longest unbroken run that
    #: still wraps at word boundaries: Qt's word wrapping is quadratic in a run's length (a 1 MB line of base64
    #: takes it 40 s), so text with a longer run wraps anywhere instead (0.3 s).
    LONG = 5000

    # Signals
    submitRequested = Signal()
    filesDropped = Signal(list)  # list[Path]
    imagePasted = Signal(QImage)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setFrameShape(QPlainTextEdit.Shape.NoFrame)
        self.setPlaceholderText(PLACEHOLDER)
        self.setAccessibleName("Message")
        self.setToolTip(
            "Your message. Enter sends, Shift+Enter starts a new line.\n"
            "Paste a screenshot or drop pictures, audio or a short video to attach them."
        )
        self.textChanged.connect(self._on_self_textChanged)
        self._fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if modifiers == Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                self.ensureCursorVisible()
                event.accept()
                return
            if modifiers in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier):
                event.accept()
                self.submitRequested.emit()
                return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(local_files(source)) or source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        """Files and pictures become attachments; text (also text that comes with a picture) pastes as text."""
        files = local_files(source)
        if files:
            self.filesDropped.emit(files)
        elif source.hasImage() and not source.hasText():
            self.imagePasted.emit(QImage(source.imageData()))
        else:
            self.choose_wrap(source.text())
            super().insertFromMimeData(source)

    def choose_wrap(self, incoming: str) -> None:
        """Before ``incoming`` is inserted: wrap anywhere if it holds an unbroken run Qt would take ages to wrap."""
        if len(incoming) > self.LONG and max(map(len, incoming.split()), default=0) > self.LONG:
            self.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)

    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self._repaint_parent()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._repaint_parent()

    def _repaint_parent(self) -> None:
        """The composer draws the field's border, stronger while the input has focus."""
        if (parent := self.parentWidget()) is not None:
            parent.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()

    def visual_lines(self) -> int:
        """Wrapped lines the text takes at the current width, capped at MAX_LINES (bounded work, whatever the size)."""
        document = self.document()
        if document.blockCount() > self.MAX_LINES or document.characterCount() > self.LONG:
            return self.MAX_LINES
        width = max(1.0, self.viewport().width() - 2 * document.documentMargin())
        option = QTextOption()
        option.setWrapMode(self.wordWrapMode())
        if document.isEmpty():  # make room for the placeholder text
            texts = self.placeholderText().split("\n")
        else:
            texts = []
            block = document.firstBlock()
            while block.isValid():
                texts.append(block.text())
                block = block.next()
        lines = 0
        for text in texts:
            layout = QTextLayout(text, self.font())
            layout.setTextOption(option)
            layout.beginLayout()
            while lines < self.MAX_LINES and (line := layout.createLine()).isValid():
                line.setLineWidth(width)
                lines += 1
            layout.endLayout()
        return max(1, min(lines, self.MAX_LINES))

    def _fit_height(self) -> None:
        line = math.ceil(QFontMetricsF(self.font()).lineSpacing())  # laid-out lines are whole pixels high
        margins = self.contentsMargins()
        # The document margin above and below, and the pixel QPlainTextEdit keeps free before it shows a scroll bar.
        chrome = 2 * self.document().documentMargin() + 1 + margins.top() + margins.bottom()
        self.setFixedHeight(math.ceil(self.visual_lines() * line + chrome))

    @Slot()
    def _on_self_textChanged(self) -> None:
        if self.wordWrapMode() != _WORD_WRAP and self.document().characterCount() <= self.LONG:
            self.setWordWrapMode(_WORD_WRAP)  # the long text is gone
        self._fit_height()


@dataclass(frozen=True)
class _Job:
    """An attachment to read: what it is believed to be, and the work (given the device pixel ratio)."""

    kind: str  # "" when only the content can tell
    name: str
    key: str  # the file's absolute path, to catch the same file twice ("" for pasted pictures)
    run: Callable[[float], PendingAttachment]


class Composer(QWidget):
    """Message input, attachments tray, Attach, Think and Send/Stop."""

    # Signals
    sendRequested = Signal(str, list)  # text, list[PendingAttachment]
    stopRequested = Signal()
    thinkingToggled = Signal(bool)
    modelFileDropped = Signal(object)  # Path to a .gguf
    noticeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: dict[int, PendingAttachment | None] = {}  # by token, in tray order; None while decoding
        self._keys: dict[int, str] = {}
        self._futures: dict[int, Future[PendingAttachment]] = {}
        self._tokens = itertools.count(1)
        self._busy = False
        self._model_loaded = False
        self._vision = False
        self._audio = False
        self._model_name = ""
        self._last_dir = str(Path.home())
        self._send_when_ready = False  # a push-to-talk clip: send as soon as it is read
        self.setAcceptDrops(True)
        self._build()
        self._update_send()

    def _build(self) -> None:
        self.tray = AttachmentTray(self)
        self.input = MessageInput(self)
        self.attach_button = QToolButton(self)
        self.attach_button.setText("Attach")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.setToolTip(f"Attach pictures, audio or a short video ({_keys('Ctrl+O')})")
        self.think_button = QToolButton(self)
        self.think_button.setText("Think")
        self.think_button.setCheckable(True)
        self.think_button.setAccessibleName("Think before answering")
        self.think_button.setToolTip(
            "Think: Gemma reasons step by step before it answers — slower, often better on hard questions.\n"
            f"Applies to this conversation ({_keys('Ctrl+T')})."
        )
        self.send_button = QPushButton("Send", self)
        metrics = self.send_button.fontMetrics()
        self.send_button.setMinimumWidth(max(metrics.horizontalAdvance(t) for t in ("Send", "Stop")) + 32)
        for button in (self.attach_button, self.think_button):
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.attach_button)
        row.addWidget(self.think_button)
        self._tools_at = row.count()
        row.addStretch(1)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(4)
        layout.addWidget(self.tray)
        layout.addWidget(self.input)
        layout.addLayout(row)
        self._row = row
        self.setFocusProxy(self.input)

        self.input.submitRequested.connect(self._on_input_submitRequested)
        self.input.filesDropped.connect(self._on_input_filesDropped)
        self.input.imagePasted.connect(self._on_input_imagePasted)
        self.input.textChanged.connect(self._update_send)
        self.tray.removeRequested.connect(self._on_tray_removeRequested)
        self.attach_button.clicked.connect(self._on_attach_button_clicked)
        self.think_button.toggled.connect(self.thinkingToggled)
        self.send_button.clicked.connect(self._on_send_button_clicked)

        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self._stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self, context=context)
        self._stop_shortcut.activated.connect(self.stopRequested)
        self._stop_shortcut.setEnabled(False)  # Esc is only ours while a reply is being generated
        QShortcut(QKeySequence("Ctrl+O"), self, context=context).activated.connect(self._on_attach_button_clicked)
        QShortcut(QKeySequence("Ctrl+T"), self, context=context).activated.connect(self.think_button.toggle)

    # --- public API ---------------------------------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        """While a reply is generated, Send becomes Stop (Esc too) and Enter does nothing."""
        self._busy = busy
        self._stop_shortcut.setEnabled(busy)
        self._update_send()

    def set_capabilities(self, *, model_loaded: bool, vision: bool, audio: bool, model_name: str = "") -> None:
        self._model_loaded, self._vision, self._audio, self._model_name = model_loaded, vision, audio, model_name
        self._update_send()

    def set_thinking(self, on: bool) -> None:
        """Show the conversation's setting, without emitting thinkingToggled."""
        blocked = self.think_button.blockSignals(True)
        self.think_button.setChecked(on)
        self.think_button.blockSignals(blocked)

    def add_files(self, paths: list[Path]) -> None:
        """Attach pictures, audio and videos (decoded in the background); a .gguf is offered as a model."""
        jobs: list[_Job] = []
        model_offered = False
        for path in map(Path, paths):
            kind = kind_for_suffix(path)
            if kind is None:
                self.noticeRequested.emit(unsupported_message(path.name))
            elif kind == "model":
                if model_offered:
                    self.noticeRequested.emit(f"{path.name}: load one model at a time.")
                else:
                    model_offered = True
                    self.modelFileDropped.emit(path)
            elif refusal := self._refusal(kind, path.name):
                self.noticeRequested.emit(refusal)
            else:
                key = os.path.normcase(os.path.abspath(path))
                if key in self._keys.values() or any(job.key == key for job in jobs):
                    self.noticeRequested.emit(f"{path.name} is already attached.")
                else:
                    jobs.append(_Job(kind, path.name, key, _file_decoder(path, kind)))
        self._start(jobs)

    def add_tool(self, widget: QWidget) -> None:
        """Put a button (camera, microphone) in the row after Think."""
        self._row.insertWidget(self._tools_at, widget)
        self._tools_at += 1

    def add_bar(self, widget: QWidget) -> None:
        """Put a bar (the recording meter) above the text box."""
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(layout.indexOf(self.input), widget)

    def add_recording(self, path: Path, audio: AudioInput, *, send: bool) -> None:
        """Attach a push-to-talk clip already decoded (``audio``, saved at ``path``); ``send``: send it at once."""
        self._send_when_ready = send
        attachment = recording_attachment(path, audio)
        key = os.path.normcase(os.path.abspath(path))
        self._start([_Job("audio", path.name, key, lambda _dpr: attachment)])

    def add_qimage(self, image: QImage, name: str = "pasted image.png") -> None:
        """Attach a picture held as a QImage (the clipboard's, a rendered page); encoded off the GUI thread."""
        self._add_image(_Job("image", name, "", lambda dpr: decode_qimage(image, name, dpr=dpr)))

    def add_image_bytes(self, data: bytes, name: str = "pasted image.png") -> None:
        """Attach a picture held in memory (PNG, JPEG, …), e.g. a pasted screenshot."""
        self._add_image(_Job("image", name, "", lambda dpr: decode_image_bytes(data, name, dpr=dpr)))

    def text(self) -> str:
        return self.input.toPlainText()

    def set_text(self, text: str) -> None:
        self.input.choose_wrap(text)
        self.input.setPlainText(text)
        self.input.moveCursor(self.input.textCursor().MoveOperation.End)

    def clear(self) -> None:
        """Empty the input and drop every attachment (decodes still running are abandoned)."""
        self.input.clear()
        for token in list(self._items):
            self._drop(token)

    def attachments(self) -> list[PendingAttachment]:
        return [item for item in self._items.values() if item is not None]

    def pending_decodes(self) -> int:
        return sum(item is None for item in self._items.values())

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

    # --- attachments --------------------------------------------------------------------------------------

    def _refusal(self, kind: str, name: str) -> str | None:
        """Why the loaded model cannot take this kind of media, or None (also None before a model is loaded)."""
        if not self._model_loaded:
            return None
        model = self._model_name or "This model"
        if kind in ("image", "video") and not self._vision:
            what = "see pictures" if kind == "image" else "watch videos"
            return f"{name}: {model} was loaded without its vision projector (mmproj), so it cannot {what}."
        if kind == "audio" and not self._audio:
            return f"{name}: {model} cannot hear audio: only Gemma 4 E2B and E4B (with their mmproj) take audio."
        return None

    def _add_image(self, job: _Job) -> None:
        if refusal := self._refusal("image", job.name):
            self.noticeRequested.emit(refusal)
        else:
            self._start([job])

    def _start(self, jobs: list[_Job]) -> None:
        room = max(0, MAX_ATTACHMENTS - len(self._items))
        if len(jobs) > room:
            left = len(jobs) - room
            were = "was" if left == 1 else "were"
            self.noticeRequested.emit(f"Only {MAX_ATTACHMENTS} attachments fit in one message; {left} {were} left out.")
            jobs = jobs[:room]
        dpr = self.devicePixelRatioF()
        for job in jobs:
            token = next(self._tokens)
            self._items[token] = None
            self._keys[token] = job.key
            self.tray.add_placeholder(token, job.kind, job.name)
            self._submit(token, job, dpr)
        self._update_send()

    def _submit(self, token: int, job: _Job, dpr: float) -> None:
        self._futures[token] = run_in_background(
            lambda: job.run(dpr),
            lambda result: self._later(lambda: self._on_decoded(token, result)),
            lambda error: self._later(lambda: self._on_decode_failed(token, job.name, error)),
        )

    def _later(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` from the event loop: never inside add_files (run_in_background calls back at once when
        the work is already done) and not at all once this widget is gone."""
        if shiboken6.isValid(self):
            QTimer.singleShot(0, self, fn)

    def _on_decoded(self, token: int, attachment: PendingAttachment) -> None:
        if token not in self._items or self._items[token] is not None:
            return  # removed or cleared meanwhile
        if refusal := self._refusal(attachment.kind, attachment.name):
            self._drop(token)
            self.noticeRequested.emit(refusal)
            return
        twins = [(t, a) for t, a in self._items.items() if a is not None and a.media_id == attachment.media_id]
        if twins:  # the same media twice: keep the one added first, whichever finished first
            twin, other = twins[0]
            if twin < token:
                self._drop(token)
                self.noticeRequested.emit(_same_media_message(attachment.name, other.name))
                return
            self._drop(twin)
            self.noticeRequested.emit(_same_media_message(other.name, attachment.name))
        self._futures.pop(token, None)
        self._items[token] = attachment
        self.tray.set_attachment(token, attachment)
        self._update_send()
        for note in attachment.notes:
            self.noticeRequested.emit(note)
        if self._send_when_ready and not self.pending_decodes():
            self._send_when_ready = False
            if self._busy:
                self.noticeRequested.emit("The recording is attached: send it (Enter) once this answer is done.")
            else:
                self._send()

    def _on_decode_failed(self, token: int, name: str, error: BaseException) -> None:
        if token not in self._items:
            return
        self._send_when_ready = False
        self._drop(token)
        if isinstance(error, MediaError):
            self.noticeRequested.emit(str(error))
        else:
            log.error("reading %s failed", name, exc_info=error)
            self.noticeRequested.emit(f"{name} could not be read ({type(error).__name__}: {error}).")

    def _drop(self, token: int) -> None:
        self._items.pop(token, None)
        self._keys.pop(token, None)
        future = self._futures.pop(token, None)
        if future is not None:
            future.cancel()  # only stops one that has not started; a running one's result is ignored
        self.tray.remove(token)
        self._update_send()

    # --- sending ------------------------------------------------------------------------------------------

    def _has_text(self) -> bool:
        """Whether there is non-blank text, without copying a long text on every keystroke."""
        count = self.input.document().characterCount()
        return count > 4096 or (count > 1 and bool(self.text().strip()))

    def _send_blocker(self) -> str | None:
        """Why Send cannot run now (shown as its tooltip), or None."""
        if not self._model_loaded:
            return "Load a model first"
        if pending := self.pending_decodes():
            return f"Wait: {pending} attachment{'s are' if pending > 1 else ' is'} still being read"
        for attachment in self.attachments():
            if refusal := self._refusal(attachment.kind, attachment.name):
                return f"{refusal} Remove it to send."
        if not self._items and not self._has_text():
            return "Type a message or attach a file"
        return None

    @Slot()
    def _update_send(self) -> None:
        button = self.send_button
        if self._busy:
            button.setText("Stop")
            button.setEnabled(True)
            button.setAccessibleName("Stop generating")
            button.setToolTip(f"Stop generating ({_keys('Esc')})")
            return
        blocker = self._send_blocker()
        button.setText("Send")
        button.setEnabled(blocker is None)
        button.setAccessibleName("Send message")
        button.setToolTip(blocker or "Send (Enter; Shift+Enter for a new line)")

    def _send(self) -> None:
        blocker = self._send_blocker()
        if blocker is not None:
            if self._items or self._has_text():
                self.noticeRequested.emit(blocker + ".")
            return
        text = re.sub(r"\A(?:[ \t]*\n)+", "", self.text().rstrip())
        if not text and not self._items:
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
        self._drop(token)
        self.focus_input()

    @Slot()
    def _on_attach_button_clicked(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach to your message", self._last_dir, file_filter())
        if paths:
            self._last_dir = str(Path(paths[0]).parent)
            self.add_files([Path(p) for p in paths])

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


def _same_media_message(dropped: str, kept: str) -> str:
    if dropped == kept:
        return f"{dropped} is already attached."
    return f"{dropped} is the same as {kept}, which is already attached."


def _file_decoder(path: Path, kind: str) -> Callable[[float], PendingAttachment]:
    return lambda dpr: decode_file(path, kind, dpr=dpr)


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
