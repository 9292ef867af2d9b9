"""The tray of attachment chips above the message box: a tile per attachment, with its thumbnail or kind icon.

A tile shows a spinner while its attachment is still being read, then the ``Chip`` the intake made: the
Qt-free ``PendingAttachment`` (``app.media.intake``) paired with its thumbnail and its message parts.
``chip_for`` makes both from the decoded media; it runs on a worker thread with the decoding. Documents get
a wider chip with their name, size and token count (``document_chip``); pictures show their count in a badge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAccessible, QColor, QImage, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QStyle, QToolButton, QWidget

from app.engine.attachments import parts_for
from app.engine.prompt import Part
from app.media import AudioInput, ImageInput
from app.media.documents import Document
from app.media.intake import PendingAttachment
from app.ui.accessible import accessible_role
from app.ui.composer.document_chip import DocumentTile

#: Tile size in logical pixels; thumbnails are made at this size times the screen's device pixel ratio.
TILE_SIZE = 64


@dataclass(frozen=True)
class Chip:
    """A pending attachment as the tray shows it: the attachment, its thumbnail (None for audio and text) and
    the message parts it becomes (what its token count is measured on)."""

    attachment: PendingAttachment
    thumbnail: QImage | None = field(compare=False, repr=False)
    parts: tuple[Part, ...] = field(default=(), compare=False, repr=False)


def chip_for(attachment: PendingAttachment, dpr: float = 1.0) -> Chip:
    """The attachment with a thumbnail of its picture, a video's first frame or a document's first picture
    page, and its message parts (any thread)."""
    payload = attachment.payload
    parts = tuple(parts_for(payload))
    if isinstance(payload, AudioInput):
        return Chip(attachment, None, parts)
    if isinstance(payload, Document):
        pictures = payload.pictures
        first = pictures[0].image if pictures else None
        return Chip(attachment, thumbnail(first, dpr) if first is not None else None, parts)
    return Chip(attachment, thumbnail(payload if isinstance(payload, ImageInput) else payload.frames[0], dpr), parts)


def thumbnail(image: ImageInput, dpr: float = 1.0) -> QImage:
    """A square, centre-cropped preview TILE_SIZE logical pixels wide, sharp at device pixel ratio ``dpr``."""
    side = max(1, round(TILE_SIZE * dpr))
    height, width = image.pixels.shape[:2]
    step = max(1, min(width, height) // (2 * side))  # cheap pre-shrink; the smooth scale below finishes it
    small = np.ascontiguousarray(image.pixels[::step, ::step])
    source = QImage(small.data, small.shape[1], small.shape[0], small.strides[0], QImage.Format.Format_RGB888)
    scaled = source.scaled(
        side, side, Qt.AspectRatioMode.KeepAspectRatioByExpanding, Qt.TransformationMode.SmoothTransformation
    )
    result = scaled.copy((scaled.width() - side) // 2, (scaled.height() - side) // 2, side, side)
    result.setDevicePixelRatio(dpr)
    return result


# --- the tray -------------------------------------------------------------------------------------------------


class AttachmentTile(QWidget):
    """One attachment: its thumbnail (or a kind icon), a spinner while it is decoding, and a remove button."""

    # Signals
    removeClicked = Signal()

    def __init__(self, kind: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.name = name
        self.attachment: PendingAttachment | None = None  # None while it is being read
        self.thumbnail: QImage | None = None
        self.tokens = ""  # "280 tokens", "counting…"
        self.phase = 0
        self.setFixedSize(TILE_SIZE, TILE_SIZE)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("×")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setFixedSize(20, 20)
        self.remove_button.move(TILE_SIZE - 21, 1)
        self.remove_button.setAccessibleName(f"Remove {name}")
        self.remove_button.setToolTip(f"Remove {name} from this message")
        self.remove_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.remove_button.clicked.connect(self.removeClicked)
        self._describe()

    def set_chip(self, chip: Chip) -> None:
        self.attachment, self.thumbnail = chip.attachment, chip.thumbnail
        self.kind = chip.attachment.kind
        self._describe()
        self.update()

    def set_tokens(self, label: str) -> None:
        self.tokens = label
        self._describe()
        self.update()

    def _describe(self) -> None:
        what = {"image": "Picture", "audio": "Audio", "video": "Video"}.get(self.kind, "File")
        if self.attachment is None:
            self.setToolTip(f"{self.name}\nReading…")
            self.setAccessibleName(f"{what} {self.name}, reading")
        else:
            summary = " · ".join(p for p in (self.attachment.summary, self.tokens) if p)
            self.setToolTip(f"{self.name}\n{summary}")
            self.setAccessibleName(f"{what} {self.name}, {summary}")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        box = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(_subtle(palette.color(QPalette.ColorRole.Text)), 1))
        painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
        painter.drawRoundedRect(box, 6, 6)
        thumb = self.thumbnail
        if thumb is not None:
            painter.save()
            painter.setClipRect(box.adjusted(1, 1, -1, -1))
            painter.drawImage(self.rect(), thumb)
            painter.restore()
        if thumb is not None:  # a chip under the remove button, so the × reads on any picture
            painter.setPen(Qt.PenStyle.NoPen)
            chip = QColor(palette.color(QPalette.ColorRole.Base))
            chip.setAlpha(210)
            painter.setBrush(chip)
            painter.drawEllipse(QRectF(self.remove_button.geometry()).adjusted(1, 1, -1, -1))
        if self.attachment is None:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 3)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawArc(box.adjusted(20, 20, -20, -20), -self.phase * 16 * 30, 270 * 16)
        elif self.kind in ("audio", "video"):
            icon = QStyle.StandardPixmap.SP_MediaVolume if self.kind == "audio" else QStyle.StandardPixmap.SP_MediaPlay
            size = 32 if self.kind == "audio" else 20
            where = self.rect().center() - QRectF(0, 0, size, size).center().toPoint()
            self.style().standardIcon(icon).paint(painter, where.x(), where.y(), size, size)
        if self.attachment is not None and self.tokens:
            self._paint_badge(painter)
        painter.end()

    def _paint_badge(self, painter: QPainter) -> None:
        """The token count along the bottom edge, on a translucent strip so it reads on any picture."""
        font = self.font()
        font.setPixelSize(10)
        painter.setFont(font)
        text = self.tokens.replace(" tokens", " tok").replace(" token", " tok")
        strip = QRectF(1, TILE_SIZE - 15, TILE_SIZE - 2, 14)
        back = QColor(self.palette().color(QPalette.ColorRole.Base))
        back.setAlpha(200)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(back)
        painter.drawRoundedRect(strip, 4, 4)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.drawText(strip, Qt.AlignmentFlag.AlignCenter, text)


def _subtle(color: QColor) -> QColor:
    """A faint version of a palette colour, for borders that work in light and dark themes alike."""
    faint = QColor(color)
    faint.setAlpha(60)
    return faint


Tile = AttachmentTile | DocumentTile


@accessible_role(QAccessible.Role.Pane)  # focusable, to scroll: a panel, not a filler
class AttachmentTray(QScrollArea):
    """A row of attachment tiles above the message input; hidden while empty."""

    # Signals
    removeRequested = Signal(int)  # a tile's token
    pagesRequested = Signal(int)  # a document's "Pages…"
    pasteBackRequested = Signal(int)  # a long paste's "Paste as text instead"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tiles: dict[int, Tile] = {}
        self._row = QWidget()
        self._layout = QHBoxLayout(self._row)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.setSpacing(6)
        self._layout.addStretch(1)
        self.setWidget(self._row)
        self.setWidgetResizable(True)
        self._row.setAutoFillBackground(False)  # setWidget turned it on: show the composer's own background
        self.viewport().setAutoFillBackground(False)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setAccessibleName("Attachments")
        self._spinner = QTimer(self)
        self._spinner.setInterval(80)
        self._spinner.timeout.connect(self._on_spinner_timeout)
        self._fit_height()
        self.hide()

    def add_placeholder(self, token: int, kind: str, name: str) -> None:
        self._put(token, self._make_tile(token, kind, name))
        self._sync()

    def set_chip(self, token: int, chip: Chip) -> None:
        tile = self._tiles[token]
        is_document = isinstance(chip.attachment.payload, Document)
        if is_document != isinstance(tile, DocumentTile):  # a file judged by its content turned out otherwise
            replacement = self._make_tile(token, "document" if is_document else chip.attachment.kind, tile.name)
            self._put(token, replacement, instead_of=tile)
            tile = replacement
        tile.set_chip(chip)
        self._sync()

    def set_reading(self, token: int) -> None:
        """A document is read again (other pages picked): its chip spins until the new chip arrives."""
        tile = self._tiles[token]
        if isinstance(tile, DocumentTile):
            tile.set_reading()
        self._sync()

    def set_needs_pages(self, token: int, page_count: int) -> None:
        tile = self._tiles[token]
        if isinstance(tile, DocumentTile):
            tile.set_needs_pages(page_count)
        else:  # judged by its content: a PDF without its suffix
            document = DocumentTile("document", tile.name, TILE_SIZE, self._row)
            self._connect_document(token, document)
            self._put(token, document, instead_of=tile)
            document.set_needs_pages(page_count)
        self._sync()

    def set_pasted(self, token: int) -> None:
        """The chip holds a long paste: it offers "Paste as text instead"."""
        tile = self._tiles[token]
        if isinstance(tile, DocumentTile):
            tile.pasted = True

    def set_tokens(self, token: int, label: str) -> None:
        tile = self._tiles.get(token)
        if tile is not None:
            tile.set_tokens(label)

    def remove(self, token: int) -> None:
        tile = self._tiles.pop(token, None)
        if tile is not None:
            self._layout.removeWidget(tile)
            tile.hide()
            tile.deleteLater()
        self._sync()

    def clear(self) -> None:
        for token in list(self._tiles):
            self.remove(token)

    def tile(self, token: int) -> Tile:
        return self._tiles[token]

    def tiles(self) -> list[Tile]:
        return list(self._tiles.values())

    def _make_tile(self, token: int, kind: str, name: str) -> Tile:
        if kind == "document":
            document = DocumentTile(kind, name, TILE_SIZE, self._row)
            self._connect_document(token, document)
            return document
        tile = AttachmentTile(kind, name, self._row)
        tile.removeClicked.connect(lambda: self.removeRequested.emit(token))
        return tile

    def _connect_document(self, token: int, tile: DocumentTile) -> None:
        tile.removeClicked.connect(lambda: self.removeRequested.emit(token))
        tile.pagesClicked.connect(lambda: self.pagesRequested.emit(token))
        tile.pasteBackClicked.connect(lambda: self.pasteBackRequested.emit(token))

    def _put(self, token: int, tile: Tile, instead_of: Tile | None = None) -> None:
        self._tiles[token] = tile
        if instead_of is None:
            self._layout.insertWidget(self._layout.count() - 1, tile)
            return
        if isinstance(tile, DocumentTile) and isinstance(instead_of, DocumentTile):
            tile.pasted = instead_of.pasted
        self._layout.replaceWidget(instead_of, tile)
        tile.show()
        instead_of.hide()
        instead_of.deleteLater()

    def _sync(self) -> None:
        self.setVisible(bool(self._tiles))
        decoding = any(_is_reading(t) for t in self._tiles.values())
        if decoding and not self._spinner.isActive():
            self._spinner.start()
        elif not decoding:
            self._spinner.stop()

    def _fit_height(self) -> None:
        bar = self.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(TILE_SIZE + 8 + bar)

    @Slot()
    def _on_spinner_timeout(self) -> None:
        for tile in self._tiles.values():
            if _is_reading(tile):
                tile.phase = (tile.phase + 1) % 12
                tile.update()


def _is_reading(tile: Tile) -> bool:
    return tile.attachment is None and not (isinstance(tile, DocumentTile) and tile.page_count)
