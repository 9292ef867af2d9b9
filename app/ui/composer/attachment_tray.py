"""Pending attachments: what a dropped or pasted file becomes before it is sent, and the tray of thumbnails.

``decode_file`` / ``decode_image_bytes`` / ``decode_qimage`` do file I/O and decoding: call them through
``run_in_background``, never on the GUI thread. ``AttachmentTray`` shows a tile per attachment, with a spinner
while it is still being decoded and a remove (×) button.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QIODevice, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QScrollArea, QStyle, QToolButton, QWidget

from app.engine.attachments import audio_parts, image_part, video_parts
from app.engine.prompt import Part
from app.media import MAX_VIDEO_SECONDS, AudioInput, ImageInput, MediaError, load_audio, load_image, load_video
from app.media.errors import open_source, read_head, sniff
from app.units import format_duration, format_size

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".flac", ".ogg", ".oga"})
VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".avi", ".mov", ".mkv"})
MODEL_SUFFIX = ".gguf"
#: Tile size in logical pixels; thumbnails are made at this size times the screen's device pixel ratio.
TILE_SIZE = 64


@dataclass(frozen=True)
class PendingAttachment:
    """A decoded attachment waiting in the composer, ready to become message parts."""

    kind: str  # "image" | "audio" | "video"
    name: str  # file name shown
    source_path: Path | None  # None for pasted images
    data: bytes | None  # the original bytes for pasted images (PNG), else None
    parts: tuple[Part, ...]  # decoded message parts for the engine
    thumbnail: QImage | None = field(compare=False, repr=False)  # images/video first frame; None for audio
    summary: str  # e.g. "1.2 MB · 1920×1080", "0:42", "12 frames"
    notes: tuple[str, ...] = ()  # things the user should hear about (a silent recording, a video cut short)

    @property
    def media_id(self) -> str:
        """The content ids of its media parts: two attachments with the same id hold the same media."""
        return "+".join(p.media_id for p in self.parts if p.media_id)


def kind_for_suffix(path: Path) -> str | None:
    """ "image", "audio", "video" or "model" from the extension; "" when there is none; None when unsupported."""
    suffix = path.suffix.lower()
    if not suffix:
        return ""
    for kind, suffixes in (("image", IMAGE_SUFFIXES), ("audio", AUDIO_SUFFIXES), ("video", VIDEO_SUFFIXES)):
        if suffix in suffixes:
            return kind
    return "model" if suffix == MODEL_SUFFIX else None


def unsupported_message(name: str) -> str:
    return f"{name}: Gemma reads pictures, audio and short videos; paste text into the message instead."


def file_filter() -> str:
    """The file picker's filter: the media Gemma reads, and models."""

    def globs(suffixes: frozenset[str]) -> str:
        return " ".join(f"*{s}" for s in sorted(suffixes))

    media = IMAGE_SUFFIXES | AUDIO_SUFFIXES | VIDEO_SUFFIXES
    return ";;".join(
        [
            f"Pictures, audio and video ({globs(media)})",
            f"Pictures ({globs(IMAGE_SUFFIXES)})",
            f"Audio ({globs(AUDIO_SUFFIXES)})",
            f"Video ({globs(VIDEO_SUFFIXES)})",
            f"Gemma models (*{MODEL_SUFFIX})",
        ]
    )


# --- decoding (worker threads) ------------------------------------------------------------------------------


def recording_attachment(path: Path, audio: AudioInput) -> PendingAttachment:
    """A microphone recording, decoded already, saved at ``path`` (the WAV the conversation keeps)."""
    summary = format_duration(audio.duration_s)
    return PendingAttachment("audio", path.name, path, None, tuple(audio_parts(audio)), None, summary)


def decode_file(path: Path, kind: str, *, dpr: float = 1.0) -> PendingAttachment:
    """Decode a picture, sound file or video; ``kind`` "" means: judge by the content. Raises MediaError."""
    if not kind:
        kind = _kind_from_content(path)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # the loader below names the problem
    if kind == "image":
        image = load_image(path)
        summary = f"{format_size(size)} · {image.width}×{image.height}"
        return PendingAttachment("image", path.name, path, None, (image_part(image),), thumbnail(image, dpr), summary)
    if kind == "audio":
        audio = load_audio(path)
        summary = format_duration(audio.duration_s)
        if len(audio.clips) > 1:
            summary += f" · {len(audio.clips)} parts"
        silent = (f"{path.name} sounds silent: Gemma will hear nothing in it.",) if audio.silent else ()
        return PendingAttachment("audio", path.name, path, None, tuple(audio_parts(audio)), None, summary, silent)
    video = load_video(path)
    count = len(video.frames)
    summary = f"{count} frame{'s' * (count != 1)}"
    notes: tuple[str, ...] = ()
    if video.truncated:
        first, whole = format_duration(MAX_VIDEO_SECONDS), format_duration(video.duration_s)
        summary += f" · first {first} of {whole}"
        notes = (f"{path.name} is {whole} long: Gemma will see only its first {first}.",)
    poster = thumbnail(video.frames[0], dpr)
    return PendingAttachment("video", path.name, path, None, tuple(video_parts(video)), poster, summary, notes)


def _kind_from_content(path: Path) -> str:
    """The kind a file without an extension holds, from its first bytes (only a regular file is opened)."""
    stream, _label = open_source(path, "")  # MediaError for a missing file, a folder, a pipe, a device
    with stream:
        found = sniff(read_head(stream))
    if found is not None and found.family in ("image", "audio", "video"):
        return found.family
    raise MediaError(unsupported_message(path.name))


def decode_image_bytes(data: bytes, name: str, *, dpr: float = 1.0) -> PendingAttachment:
    """Decode a pasted picture's bytes. Raises MediaError."""
    image = load_image(data, name=name)
    summary = f"{format_size(len(data))} · {image.width}×{image.height}"
    return PendingAttachment("image", name, None, data, (image_part(image),), thumbnail(image, dpr), summary)


def decode_qimage(image: QImage, name: str, *, dpr: float = 1.0) -> PendingAttachment:
    """A clipboard picture: encoded as PNG (kept as the attachment's bytes), then decoded like any picture."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]  # the stub says bytes; only str works
        raise MediaError(f"{name} could not be read from the clipboard.")
    return decode_image_bytes(bytes(buffer.data().data()), name, dpr=dpr)


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
        self.attachment: PendingAttachment | None = None
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

    def set_attachment(self, attachment: PendingAttachment) -> None:
        self.attachment = attachment
        self.kind = attachment.kind
        self._describe()
        self.update()

    def _describe(self) -> None:
        what = {"image": "Picture", "audio": "Audio", "video": "Video"}.get(self.kind, "File")
        if self.attachment is None:
            self.setToolTip(f"{self.name}\nReading…")
            self.setAccessibleName(f"{what} {self.name}, reading")
        else:
            self.setToolTip(f"{self.name}\n{self.attachment.summary}")
            self.setAccessibleName(f"{what} {self.name}, {self.attachment.summary}")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        box = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.setPen(QPen(_subtle(palette.color(QPalette.ColorRole.Text)), 1))
        painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
        painter.drawRoundedRect(box, 6, 6)
        thumb = self.attachment.thumbnail if self.attachment is not None else None
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
        painter.end()


def _subtle(color: QColor) -> QColor:
    """A faint version of a palette colour, for borders that work in light and dark themes alike."""
    faint = QColor(color)
    faint.setAlpha(60)
    return faint


class AttachmentTray(QScrollArea):
    """A row of attachment tiles above the message input; hidden while empty."""

    # Signals
    removeRequested = Signal(int)  # a tile's token

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tiles: dict[int, AttachmentTile] = {}
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
        tile = AttachmentTile(kind, name, self._row)
        tile.removeClicked.connect(lambda: self.removeRequested.emit(token))
        self._tiles[token] = tile
        self._layout.insertWidget(self._layout.count() - 1, tile)
        self._sync()

    def set_attachment(self, token: int, attachment: PendingAttachment) -> None:
        self._tiles[token].set_attachment(attachment)
        self._sync()

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

    def tile(self, token: int) -> AttachmentTile:
        return self._tiles[token]

    def tiles(self) -> list[AttachmentTile]:
        return list(self._tiles.values())

    def _sync(self) -> None:
        self.setVisible(bool(self._tiles))
        decoding = any(t.attachment is None for t in self._tiles.values())
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
            if tile.attachment is None:
                tile.phase = (tile.phase + 1) % 12
                tile.update()
