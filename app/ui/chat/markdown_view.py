"""Read-only rich-text views that size themselves to their content, for chat messages.

``MarkdownView`` shows rendered markdown and turns clicks on links into
signals (web links open in the system browser only after a click; code-block
Copy / Save as… links are handled by the message). ``StreamingBody`` stacks a
view that only ever grows (finished blocks are appended once) over a small
view holding the unfinished tail, so each repaint while an answer streams
costs the size of the tail, not of the whole answer.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QContextMenuEvent, QDesktopServices, QGuiApplication, QResizeEvent, QTextFormat
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

from app.render.markdown import LIGHT, CodeBlock, StreamingMarkdown, Theme, render_document
from app.ui.chat.formula_view import FormulaObject, formula_at_point, selected_text


class MarkdownView(QTextBrowser):
    """A QTextBrowser without scroll bars whose height follows its document."""

    # Signals
    codeAction = Signal(str, int)  # "copy" or "save", code block index
    heightChanged = Signal()

    def __init__(self, parent: QWidget | None = None, theme: Theme = LIGHT) -> None:
        super().__init__(parent)
        # Images in our HTML are only ever formulas (markdown images show as links): drawn by this handler.
        self.formulas = FormulaObject(self, theme, self._fit)
        self.document().documentLayout().registerHandler(QTextFormat.ObjectTypes.ImageObject, self.formulas)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self.document().setDocumentMargin(2)
        self.anchorClicked.connect(self._on_anchor_clicked)
        self.document().contentsChanged.connect(self._fit)
        self._height = 0

    def _on_anchor_clicked(self, url: QUrl) -> None:
        if url.scheme() == "gd-code":
            action, _, index = url.path().partition(":")
            if index.isdigit():
                self.codeAction.emit(action, int(index))
            return
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)

    def _fit(self) -> None:
        doc = self.document()
        width = self.viewport().width()
        if width > 0 and doc.textWidth() != width:
            doc.setTextWidth(width)
        height = int(doc.size().height()) + 2
        if height != self._height:
            self._height = height
            self.setFixedHeight(height)
            self.heightChanged.emit()

    def createMimeDataFromSelection(self) -> QMimeData:
        """Copying a selection that holds formulas gives their TeX source (``$x^2$``), as plain text."""
        cursor = self.textCursor()
        text = selected_text(self.document(), cursor.selectionStart(), cursor.selectionEnd(), self.formulas)
        if text is None:
            return super().createMimeDataFromSelection()
        mime = QMimeData()
        mime.setText(text)
        return mime

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.createStandardContextMenu(event.pos())
        formula = formula_at_point(self, self.formulas, event.pos())
        if formula is not None:
            source = formula.source
            menu.addAction("Copy formula (TeX)", lambda: QGuiApplication.clipboard().setText(source))
        menu.exec(event.globalPos())
        menu.deleteLater()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height)


class StreamingBody(QWidget):
    """A message body: grows block by block while streaming, one view when done."""

    # Signals
    codeAction = Signal(str, int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.stable = MarkdownView(self, theme)
        self.tail = MarkdownView(self, theme)
        self.tail.hide()
        for view in (self.stable, self.tail):
            view.codeAction.connect(self.codeAction)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.stable)
        layout.addWidget(self.tail)
        self._stream: StreamingMarkdown | None = None
        self._text = ""
        self.code_blocks: list[CodeBlock] = []

    @property
    def text(self) -> str:
        return self._text

    def setAccessibleName(self, name: str) -> None:
        """Name the views too: they take the keyboard focus (to select text), so a screen reader lands on them."""
        super().setAccessibleName(name)
        for view in (self.stable, self.tail):
            view.setAccessibleName(name)

    def set_markdown(self, text: str) -> None:
        """Show finished text (one render, one view)."""
        self._text = text
        self._stream = None
        rendered = render_document(text, self.theme)
        self.code_blocks = rendered.code_blocks
        self.stable.formulas.add(rendered.formulas)
        self.stable.setHtml(rendered.html)
        self.tail.clear()
        self.tail.hide()

    def stream(self, text: str) -> None:
        """Show ``text``, the answer so far: only the changed tail is laid out again."""
        if self._stream is None:
            self._stream = StreamingMarkdown(self.theme)
            self.stable.clear()
            self.tail.show()
        self._text = text
        update = self._stream.update(text)
        self._add_formulas()
        if update.reset:
            self.stable.setHtml(update.stable_appended)
        elif update.stable_appended:
            self.stable.append(update.stable_appended)
        self.tail.setHtml(update.tail)
        self.code_blocks = self._stream.code_blocks

    def finish(self) -> None:
        """Streaming ended: move the last tail into the growing view (one view, so selection
        spans the whole answer) without laying out the whole answer again."""
        if self._stream is None:
            return
        update = self._stream.update(self._text)
        self._add_formulas()
        if update.reset:
            self.stable.setHtml(update.stable_appended + update.tail)
        else:
            if update.stable_appended:
                self.stable.append(update.stable_appended)
            if update.tail:
                self.stable.append(update.tail)
        self.code_blocks = self._stream.code_blocks
        self._stream = None
        self.tail.clear()
        self.tail.hide()

    def _add_formulas(self) -> None:
        if self._stream is not None and self._stream.formulas:
            for view in (self.stable, self.tail):
                view.formulas.add(self._stream.formulas)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.stable.formulas.theme = self.tail.formulas.theme = theme
        if self._stream is None:
            self.set_markdown(self._text)
