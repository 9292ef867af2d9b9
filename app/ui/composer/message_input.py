"""The message text box: grows with its text, Enter sends, and dropped or pasted files and pictures leave as signals.

A paste longer than ``LONG_PASTE`` characters leaves as ``longTextPasted`` too (the composer attaches it as a
text document instead of flooding the box); ``insert_text`` puts text back without that check.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal, Slot
from PySide6.QtGui import QFocusEvent, QFontMetricsF, QImage, QKeyEvent, QResizeEvent, QTextLayout, QTextOption
from PySide6.QtWidgets import QPlainTextEdit, QWidget

PLACEHOLDER = "Ask Gemma…, drop a picture or a document, or paste a screenshot"
#: A pasted text longer than this becomes an attachment ("Pasted text") rather than text in the box.
LONG_PASTE = 2000
_WORD_WRAP = QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere


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
    longTextPasted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setFrameShape(QPlainTextEdit.Shape.NoFrame)
        self.setPlaceholderText(PLACEHOLDER)
        self.setAccessibleName("Message")
        self.setToolTip(
            "Your message. Enter sends, Shift+Enter starts a new line.\n"
            "Paste a screenshot or drop pictures, audio, a short video or documents to attach them.\n"
            f"A pasted text longer than {LONG_PASTE:,} characters is attached as a document."
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
        """Files and pictures become attachments, and so does a long text; other text (also text that comes
        with a picture) pastes as text."""
        files = local_files(source)
        if files:
            self.filesDropped.emit(files)
        elif source.hasImage() and not source.hasText():
            self.imagePasted.emit(QImage(source.imageData()))
        elif source.hasText() and len(text := source.text()) > LONG_PASTE:
            self.longTextPasted.emit(text)
        else:
            self.choose_wrap(source.text())
            super().insertFromMimeData(source)

    def insert_text(self, text: str) -> None:
        """Put ``text`` in at the cursor as it is (a long paste coming back from its chip)."""
        self.choose_wrap(text)
        self.textCursor().insertText(text)
        self.ensureCursorVisible()

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
