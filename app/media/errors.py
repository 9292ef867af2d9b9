"""Media errors, and the checks every loader shares: opening the user's file and naming what it really is."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import BinaryIO, NamedTuple

from app.regular_file import NotRegularFile, open_regular

#: How many leading bytes are enough to recognise a file's real kind.
SNIFF_BYTES = 4096


class MediaError(Exception):
    """A file or recording that cannot be used: ``str(error)`` is one line, naming the file, fit to show a user."""


class Sniffed(NamedTuple):
    """What a file's first bytes say it is, in words (``kind``) and as a broad ``family``."""

    kind: str  # e.g. "a web page", "text", "an MP4, MOV or M4A file"
    family: str  # "image", "audio", "video", "document" or "text"


def subject(name: str) -> str:
    """How a message names the input: the file name as the user gave it, or "The file" when there is none."""
    return name or "The file"


def open_source(source: str | os.PathLike[str] | bytes, name: str) -> tuple[BinaryIO, str]:
    """Open a path or wrap bytes as a seekable binary stream; return it with the name messages should use.

    Only a regular file is opened: a folder, a named pipe, a device or a socket is refused before ``open``
    (a pipe would block it for ever, a device never ends), and checked again on the open file in case the
    path was swapped in between. Raises MediaError for those, a missing file, a file that cannot be read,
    or an empty input. The caller closes the stream.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        label = name
        if len(source) == 0:
            raise MediaError(f"{subject(label)} is empty.")
        return io.BytesIO(bytes(source)), label
    path = os.fspath(source)
    label = name or Path(path).name or path
    who = subject(label)
    try:
        stream, info = open_regular(path)
    except NotRegularFile as error:
        if error.is_folder:
            raise MediaError(f"{who} is a folder, not a file; {_ATTACH_HINT}") from None
        raise MediaError(f"{who} is not a regular file ({error.kind}); {_ATTACH_HINT}") from None
    except OSError as error:
        raise MediaError(_open_error_message(who, error)) from None
    if info.st_size == 0:
        stream.close()
        raise MediaError(f"{who} is empty (0 bytes).")
    return stream, label


_ATTACH_HINT = "attach a picture, sound, video or document file."


def _open_error_message(who: str, error: OSError) -> str:
    if isinstance(error, FileNotFoundError | NotADirectoryError):
        return f"{who} was not found (it may have been moved or deleted)."
    if isinstance(error, IsADirectoryError):
        return f"{who} is a folder, not a file; {_ATTACH_HINT}"
    if isinstance(error, PermissionError):
        return f"{who} cannot be read: permission denied."
    if error.errno == errno.ENXIO:  # a socket, or a pipe with no writer opened non-blocking for writing
        return f"{who} is not a regular file (a socket); {_ATTACH_HINT}"
    if error.errno == errno.ELOOP:
        return f"{who} is a link that leads nowhere (it loops back on itself)."
    return f"{who} cannot be read ({error.strerror or error})."


def read_head(stream: BinaryIO, count: int = SNIFF_BYTES) -> bytes:
    """The first ``count`` bytes of a seekable stream, leaving the stream at its start."""
    stream.seek(0)
    head = stream.read(count)
    stream.seek(0)
    return head


def stream_size(stream: BinaryIO) -> int:
    """The stream's length in bytes, leaving it at its start."""
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return size


_SIGNATURES: tuple[tuple[bytes, int, Sniffed], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, Sniffed("a PNG image", "image")),
    (b"\xff\xd8\xff", 0, Sniffed("a JPEG image", "image")),
    (b"GIF8", 0, Sniffed("a GIF image", "image")),
    (b"WEBP", 8, Sniffed("a WebP image", "image")),
    (b"WAVE", 8, Sniffed("a WAV audio file", "audio")),
    (b"AVI ", 8, Sniffed("an AVI video", "video")),
    (b"fLaC", 0, Sniffed("a FLAC audio file", "audio")),
    (b"OggS", 0, Sniffed("an Ogg file", "audio")),
    (b"ID3", 0, Sniffed("an MP3 audio file", "audio")),
    (b"\x1a\x45\xdf\xa3", 0, Sniffed("a WebM or MKV video", "video")),
    (b"%PDF", 0, Sniffed("a PDF document", "document")),
    (b"PK\x03\x04", 0, Sniffed("a ZIP archive or an Office document", "document")),
)

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


def sniff(head: bytes) -> Sniffed | None:
    """Recognise a file from its first bytes, or None when it is nothing we can name."""
    for magic, offset, found in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return found
    if head[4:8] == b"ftyp":
        if head[8:12] in _HEIF_BRANDS:
            return Sniffed("a HEIC photo", "image")
        return Sniffed("an MP4, MOV or M4A file", "video")
    if _is_mpeg_audio_frame(head):
        return Sniffed("an MP3 audio file", "audio")
    return _sniff_text(head)


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG audio frame header (an MP3 without ID3 tags): sync bits, and no reserved version, layer or rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def _sniff_text(head: bytes) -> Sniffed | None:
    """Text, a web page or an SVG drawing, judged from the leading bytes."""
    if not head or b"\x00" in head:
        return None
    text = head.decode("utf-8", errors="ignore")
    if len(text) < len(head) * 0.7:  # mostly not UTF-8: binary
        return None
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if printable < len(text) * 0.95:
        return None
    lowered = text.lstrip("\ufeff \r\n\t").lower()
    if lowered.startswith(("<!doctype html", "<html")) or "<html" in lowered[:1024]:
        return Sniffed("a web page", "text")
    if "<svg" in lowered[:1024]:
        return Sniffed("an SVG drawing", "image")
    return Sniffed("text", "text")
