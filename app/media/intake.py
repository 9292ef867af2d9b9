"""Intake: what a dropped, picked or pasted file, or a finished recording, becomes before it is sent.

A ``PendingAttachment`` is typed and Qt-free: its kind, name, where its bytes come from, its size, the
decoded media or document (``payload``), a one-line summary for its chip and the notes the user should hear.
A text document keeps its bytes (``data``), so it can still be sent when its file goes away after the drop.
A file that cannot be attached raises ``MediaError``, whose text is the one-line reason, naming the file.

``kind_for_suffix`` judges a path by its name alone (cheap enough for the GUI thread); ``decode_file``,
``decode_image_bytes``, ``decode_text`` (a long paste) and ``recording_attachment`` read and decode, so a
window runs them off its GUI thread. The window shows chips and refusals from them; the conversation core
turns a payload into the engine's message parts (``app.engine.attachments.parts_for``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.media.audio import AudioInput, load_audio
from app.media.documents import Document, PageChoice, is_document_name, read_document
from app.media.documents.reader import document_format
from app.media.documents.text import read_text_bytes, read_text_source
from app.media.errors import MediaError, open_source, read_head, sniff
from app.media.images import ImageInput, load_image
from app.media.video import MAX_VIDEO_SECONDS, VideoFrames, load_video
from app.units import format_duration, format_size

AttachmentKind = Literal["image", "audio", "video", "document"]
#: What a name says: an attachment kind, "model" for a .gguf, "" when there is no suffix (the content decides).
NamedKind = Literal["image", "audio", "video", "document", "model", ""]
Payload = ImageInput | AudioInput | VideoFrames | Document

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"})
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".flac", ".ogg", ".oga"})
VIDEO_SUFFIXES = frozenset({".mp4", ".webm", ".avi", ".mov", ".mkv"})
MODEL_SUFFIX = ".gguf"
_BY_SUFFIX: tuple[tuple[AttachmentKind, frozenset[str]], ...] = (
    ("image", IMAGE_SUFFIXES),
    ("audio", AUDIO_SUFFIXES),
    ("video", VIDEO_SUFFIXES),
)


#: What a long paste is called as an attachment.
PASTED_TEXT_NAME = "Pasted text.txt"


@dataclass(frozen=True)
class PendingAttachment:
    """A decoded attachment waiting to be sent."""

    kind: AttachmentKind
    name: str  # file name shown
    source_path: Path | None  # None for pasted pictures and text
    data: bytes | None  # the bytes of a pasted picture (PNG) or text, or of a text document; else None
    size: int  # bytes of the source (0 when unknown)
    payload: Payload  # the decoded media
    summary: str  # e.g. "1.2 MB · 1920×1080", "0:42", "12 frames", "4.1 KB · 120 lines", "12.0 KB · 3 pages"
    notes: tuple[str, ...] = ()  # things the user should hear about (a silent recording, a video cut short)

    @property
    def media_id(self) -> str:
        """The content ids of its media: two attachments with the same id hold the same media."""
        payload = self.payload
        if isinstance(payload, ImageInput):
            return payload.media_id
        if isinstance(payload, AudioInput):
            return "+".join(clip.media_id for clip in payload.clips)
        if isinstance(payload, Document):
            return payload.media_id
        return "+".join(frame.media_id for frame in payload.frames)


def kind_for_suffix(path: Path) -> NamedKind | None:
    """The kind a path's name says (its extension, or a well-known name such as ``Makefile``); "" when it has
    no extension (the content decides); None when Gemma cannot take it."""
    suffix = path.suffix.lower()
    for kind, suffixes in _BY_SUFFIX:
        if suffix in suffixes:
            return kind
    if is_document_name(path):
        return "document"
    if not suffix:
        return ""
    return "model" if suffix == MODEL_SUFFIX else None


def unsupported_message(name: str) -> str:
    """The one-line refusal of a file that is no picture, sound, video or document (a program, an archive)."""
    return (
        f"{name}: Gemma reads pictures, audio, video and documents (text, code, PDF, Word, PowerPoint, Excel), "
        "not this kind of file."
    )


def decode_file(
    path: Path, kind: AttachmentKind | Literal[""], *, name: str | None = None, choice: PageChoice | None = None
) -> PendingAttachment:
    """Read and decode a picture, sound file, video or document; ``kind`` "" means: judge by the content.
    ``name`` is what the user calls it, when not the file's own name (a file the store keeps under its hash);
    ``choice`` says which pages of a document go, and which as pictures (default: the reader decides).

    Raises MediaError with the one-line reason (missing, a folder, empty, damaged, too large, not media).
    """
    label = name or path.name
    found = kind or _kind_from_content(path)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # the loader below names the problem
    if found == "document":
        return _document_attachment(path, label, size, choice)
    if found == "image":
        image = load_image(path, name=label)
        return PendingAttachment("image", label, path, None, size, image, _image_summary(size, image))
    if found == "audio":
        return _audio_attachment(path, label, size, load_audio(path, name=label))
    return _video_attachment(path, label, size, load_video(path, name=label))


def decode_image_bytes(data: bytes, name: str) -> PendingAttachment:
    """A pasted picture's bytes (PNG, JPEG, …), kept as the attachment's ``data``. Raises MediaError."""
    image = load_image(data, name=name)
    return PendingAttachment("image", name, None, data, len(data), image, _image_summary(len(data), image))


def decode_text(text: str, *, name: str = PASTED_TEXT_NAME) -> PendingAttachment:
    """Pasted text as a text document (its UTF-8 bytes kept as ``data``). Raises MediaError (empty, too large)."""
    data = text.encode("utf-8", "replace")  # a lone surrogate (never typed, but pasted maybe) becomes "?"
    document = read_text_bytes(data, name=name)
    return PendingAttachment("document", name, None, data, len(data), document, document_summary(len(data), document))


def document_summary(size: int, document: Document) -> str:
    """ "4.1 KB · 120 lines" for a text document; "12.0 KB · 3 pages", "… · 2 of 10 pages" for the others."""
    if document.section_count == 1 and not document.sections[0].label:
        lines = document.text.count("\n") + (not document.text.endswith("\n"))
        return f"{format_size(size)} · {lines:,} line{'s' * (lines != 1)}"
    chosen, count, unit = len(document.sections), document.section_count, document.unit
    if chosen == count:
        return f"{format_size(size)} · {count:,} {unit}{'s' * (count != 1)}"
    return f"{format_size(size)} · {chosen:,} of {count:,} {unit}s"


def recording_attachment(path: Path, audio: AudioInput) -> PendingAttachment:
    """A microphone recording, decoded already, saved at ``path`` (the WAV the conversation keeps)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return PendingAttachment("audio", path.name, path, None, size, audio, format_duration(audio.duration_s))


def _document_attachment(path: Path, name: str, size: int, choice: PageChoice | None) -> PendingAttachment:
    """A document; a text document keeps its bytes, so it is sent as read even if its file goes away."""
    data: bytes | None = None
    if document_format(path, name) == "text":
        data = read_text_source(path, name=name)
        document = read_text_bytes(data, name=name)
    else:
        document = read_document(path, name=name, choice=choice)
    summary = document_summary(size, document)
    return PendingAttachment("document", name, path, data, size, document, summary, document.notes)


def _kind_from_content(path: Path) -> AttachmentKind:
    """The kind a file without an extension holds, from its first bytes (only a regular file is opened)."""
    stream, _label = open_source(path, "")  # MediaError for a missing file, a folder, a pipe, a device
    with stream:
        found = sniff(read_head(stream))
    if found is not None:
        if found.family in ("document", "text") or found.kind == "an SVG drawing":
            return "document"
        for kind, _suffixes in _BY_SUFFIX:
            if found.family == kind:
                return kind
    raise MediaError(unsupported_message(path.name))


def _image_summary(size: int, image: ImageInput) -> str:
    return f"{format_size(size)} · {image.width}×{image.height}"


def _audio_attachment(path: Path, name: str, size: int, audio: AudioInput) -> PendingAttachment:
    summary = format_duration(audio.duration_s)
    if len(audio.clips) > 1:
        summary += f" · {len(audio.clips)} parts"
    silent = (f"{name} sounds silent: Gemma will hear nothing in it.",) if audio.silent else ()
    return PendingAttachment("audio", name, path, None, size, audio, summary, silent)


def _video_attachment(path: Path, name: str, size: int, video: VideoFrames) -> PendingAttachment:
    count = len(video.frames)
    summary = f"{count} frame{'s' * (count != 1)}"
    notes: tuple[str, ...] = ()
    if video.truncated:
        first, whole = format_duration(MAX_VIDEO_SECONDS), format_duration(video.duration_s)
        summary += f" · first {first} of {whole}"
        notes = (f"{name} is {whole} long: Gemma will see only its first {first}.",)
    return PendingAttachment("video", name, path, None, size, video, summary, notes)
