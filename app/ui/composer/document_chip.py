"""A document's chip in the composer's tray: a page icon, its name, size and token count, and its actions.

"notes.py · 4.1 KB · 1,210 tokens". A multi-page document (a PDF, a deck, a workbook) offers "Pages…"
(also by clicking the chip, and in its context menu); a long paste offers "Paste as text instead"; a PDF too
long to send whole waits for its pages to be picked instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QContextMenuEvent, QFont, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from app.media.documents import Document
from app.media.intake import PendingAttachment
from app.ui.shell.theme import muted
from app.units import format_size

if TYPE_CHECKING:
    from app.ui.composer.attachment_tray import Chip

#: The chip's width in logical pixels (its height is the tray's tile size).
CHIP_WIDTH = 288


def unit_of(document: Document | None, name: str) -> str:
    """What the document's parts are called: "page", "slide", "sheet"."""
    if document is not None:
        return document.unit
    return {".pptx": "slide", ".xlsx": "sheet"}.get(Path(name).suffix.lower(), "page")


def is_multi_page(document: Document) -> bool:
    """Whether the user may pick parts of it (pages of a PDF, slides, sheets)."""
    return document.section_count > 1 and document.unit in ("page", "slide", "sheet")


class DocumentIcon(QWidget):
    """A sheet of paper with a folded corner and the file's type ("PY", "PDF"), a picture page's thumbnail
    when there is one, or a spinner while the document is being read."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        suffix = Path(name).suffix.lstrip(".").upper()
        self.label = suffix[:4] if suffix else "TXT"
        self.thumbnail: QImage | None = None
        self.reading = True
        self.phase = 0
        self.setFixedSize(36, 46)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        box = QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5)
        fold = 10.0
        page = QPainterPath()
        page.moveTo(box.topLeft())
        page.lineTo(box.right() - fold, box.top())
        page.lineTo(box.right(), box.top() + fold)
        page.lineTo(box.bottomRight())
        page.lineTo(box.bottomLeft())
        page.closeSubpath()
        text = palette.text().color()
        painter.setPen(QPen(text, 1.2))
        painter.setBrush(palette.base())
        painter.drawPath(page)
        if self.thumbnail is not None and not self.reading:
            painter.save()
            painter.setClipPath(page)
            painter.drawImage(box, self.thumbnail)
            painter.restore()
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolyline(
            [QPointF(box.right() - fold, box.top()), QPointF(box.right() - fold, box.top() + fold),
             QPointF(box.right(), box.top() + fold)]
        )  # fmt: skip
        if self.reading:
            pen = QPen(palette.highlight().color(), 3)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawArc(box.adjusted(7, 12, -7, -10), -self.phase * 16 * 30, 270 * 16)
        elif self.thumbnail is None:
            font = QFont(self.font())
            font.setBold(True)
            font.setPixelSize(10 if len(self.label) <= 3 else 8)
            painter.setFont(font)
            painter.setPen(palette.highlight().color())
            painter.drawText(box.adjusted(0, fold, 0, 0), Qt.AlignmentFlag.AlignCenter, self.label)
        painter.end()


def _link(text: str, tip: str, parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(text.rstrip("…"))
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.setStyleSheet("QToolButton { padding: 0 2px; text-decoration: underline; }")
    button.hide()
    return button


class DocumentTile(QWidget):
    """One document in the tray: icon, name, "size · tokens", and "Pages…" / "Paste as text instead"."""

    # Signals
    removeClicked = Signal()
    pagesClicked = Signal()
    pasteBackClicked = Signal()

    def __init__(self, kind: str, name: str, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.name = name
        self.attachment: PendingAttachment | None = None  # None while it is read (or waits for its pages)
        self.thumbnail: QImage | None = None
        self.tokens = ""
        self.pasted = False  # a long paste: it can go back into the message box
        self.page_count = 0  # a document too long to send whole: its pages must be picked first
        self.setFixedSize(CHIP_WIDTH, height)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._build()
        self._describe()

    @property
    def phase(self) -> int:
        return self.icon.phase

    @phase.setter
    def phase(self, value: int) -> None:
        self.icon.phase = value
        self.icon.update()

    def _build(self) -> None:
        self.icon = DocumentIcon(self.name, self)
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.detail = QLabel(self)
        muted(self.detail)
        self.pages_button = _link("Pages…", "Choose which pages to send, and which as pictures", self)
        self.paste_button = _link("Paste as text instead", "Put this text back into the message box", self)
        self.pages_button.clicked.connect(self.pagesClicked)
        self.paste_button.clicked.connect(self.pasteBackClicked)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("×")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setFixedSize(20, 20)
        self.remove_button.setAccessibleName(f"Remove {self.name}")
        self.remove_button.setToolTip(f"Remove {self.name} from this message")
        self.remove_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.remove_button.clicked.connect(self.removeClicked)
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.setSpacing(2)
        actions.addWidget(self.pages_button)
        actions.addWidget(self.paste_button)
        actions.addStretch(1)
        text = QVBoxLayout()
        text.setContentsMargins(0, 0, 0, 0)
        text.setSpacing(0)
        text.addWidget(self.title)
        text.addWidget(self.detail)
        text.addLayout(actions)
        text.addStretch(1)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 2, 2)
        row.setSpacing(6)
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(text, 1)
        row.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)

    # --- state --------------------------------------------------------------------------------------------

    def set_chip(self, chip: Chip) -> None:
        """The document is read."""
        self.attachment = chip.attachment
        self.thumbnail = chip.thumbnail
        self.kind = self.attachment.kind
        self.page_count = 0
        self.icon.reading = False
        self.icon.thumbnail = self.thumbnail
        self._describe()

    def set_reading(self) -> None:
        """It is being read again (other pages were picked)."""
        self.attachment = None
        self.page_count = 0
        self.icon.reading = True
        self._describe()

    def set_needs_pages(self, page_count: int) -> None:
        """Too many pages to send whole: the chip waits for the user to pick some."""
        self.attachment = None
        self.page_count = page_count
        self.icon.reading = False
        self._describe()

    def set_tokens(self, label: str) -> None:
        self.tokens = label
        self._describe()

    @property
    def document(self) -> Document | None:
        payload = self.attachment.payload if self.attachment is not None else None
        return payload if isinstance(payload, Document) else None

    def detail_text(self) -> str:
        """ "4.1 KB · 1,210 tokens", "pages 2-3 of 10 · 120.0 KB · counting…", "300 pages: pick some"."""
        if self.page_count:
            return f"{self.page_count:,} {unit_of(None, self.name)}s: pick which to send"
        if self.attachment is None:
            return "Reading…"
        pieces: list[str] = []
        document = self.document
        if document is not None and is_multi_page(document):
            chosen, whole = len(document.sections), document.section_count
            unit = document.unit
            pieces.append(f"{chosen} of {whole:,} {unit}s" if chosen < whole else f"{whole:,} {unit}s")
        if self.attachment.size:
            pieces.append(format_size(self.attachment.size))
        if self.tokens:
            pieces.append(self.tokens)
        return " · ".join(pieces)

    def _describe(self) -> None:
        width = CHIP_WIDTH - 6 - 36 - 6 - 22
        self.title.setText(self.title.fontMetrics().elidedText(self.name, Qt.TextElideMode.ElideMiddle, width))
        detail = self.detail_text()
        self.detail.setText(self.detail.fontMetrics().elidedText(detail, Qt.TextElideMode.ElideRight, width))
        document = self.document
        unit = unit_of(document, self.name)
        can_pick = self.page_count > 0 or (document is not None and is_multi_page(document))
        self.pages_button.setText(f"Pick {unit}s…" if self.page_count else f"{unit.capitalize()}s…")
        self.pages_button.setAccessibleName(f"Choose {unit}s of {self.name}")
        self.pages_button.setVisible(can_pick)
        self.paste_button.setVisible(self.pasted and self.attachment is not None)
        kind = document.kind if document is not None else "Document"
        self.setToolTip(f"{self.name}\n{kind} · {detail}" + ("\nClick to choose pages" if can_pick else ""))
        self.setAccessibleName(f"{kind} {self.name}, {detail}")
        self.icon.update()

    # --- mouse --------------------------------------------------------------------------------------------

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.pages_button.isVisible():
            self.pagesClicked.emit()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu()
        menu.exec(event.globalPos())
        menu.deleteLater()

    def context_menu(self) -> QMenu:
        """Pages…, Paste as text instead, Remove (whichever apply)."""
        menu = QMenu(self)
        if self.pages_button.isVisible():
            menu.addAction(self.pages_button.text(), self.pagesClicked.emit)
        if self.paste_button.isVisible():
            menu.addAction("Paste as text instead", self.pasteBackClicked.emit)
        menu.addAction("Remove", self.removeClicked.emit)
        return menu

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        border = palette.text().color()
        border.setAlpha(60)
        painter.setPen(QPen(border, 1))
        painter.setBrush(palette.alternateBase())
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.end()
