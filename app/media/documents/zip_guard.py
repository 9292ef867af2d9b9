"""Checks an Office file's ZIP before any library unpacks it: that it is a ZIP at all, of the right kind, and
no zip bomb (a small file that unpacks to gigabytes, or holds countless parts).

Word, PowerPoint and Excel files (``.docx``, ``.pptx``, ``.xlsx``) are ZIP archives of XML parts. The
libraries that read them unpack parts whole, so a crafted file could fill the memory: ``check_office_zip``
reads only the ZIP's directory (the sizes each part declares; Python's ``zipfile`` never unpacks more than a
part declares) and the small ``[Content_Types].xml`` that says which kind of Office file it is.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from app.media.errors import MediaError, read_head, sniff, subject
from app.units import format_size

#: The most all parts together may unpack to. Real documents are far smaller (pictures stay compressed).
MAX_UNPACKED_BYTES = 200 * 1000 * 1000
#: The most one part may expand, for parts that unpack to more than RATIO_FLOOR: XML compresses about 10:1;
#: a zip bomb's parts expand about 1000:1.
MAX_RATIO = 100
RATIO_FLOOR = 1000 * 1000
#: The most parts a file may hold (a large deck or workbook has hundreds).
MAX_MEMBERS = 10_000
#: The most ``[Content_Types].xml`` may unpack to (a few kilobytes in real files).
_MAX_CONTENT_TYPES = 1000 * 1000

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of old .doc/.ppt/.xls and of encrypted Office files
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


@dataclass(frozen=True)
class OfficeKind:
    """One kind of Office file, as messages name it and as its ``[Content_Types].xml`` declares it."""

    suffix: str  # ".docx"
    kind: str  # "Word document" (the Document's kind)
    article: str  # "a Word document"
    family: str  # the content type's family: "wordprocessingml"
    old_suffix: str  # the old binary format's suffix: ".doc"


WORD = OfficeKind(".docx", "Word document", "a Word document", "wordprocessingml", ".doc")
POWERPOINT = OfficeKind(".pptx", "PowerPoint presentation", "a PowerPoint presentation", "presentationml", ".ppt")
EXCEL = OfficeKind(".xlsx", "Excel workbook", "an Excel workbook", "spreadsheetml", ".xls")
KINDS = (WORD, POWERPOINT, EXCEL)


def check_office_zip(stream: BinaryIO, name: str, expected: OfficeKind) -> None:
    """Raise MediaError (one line, naming the file) unless ``stream`` is a sound ZIP of ``expected``'s kind.

    Leaves the stream at its start.
    """
    who = subject(name)
    head = read_head(stream)
    if not head.startswith(b"PK\x03\x04"):
        raise MediaError(_not_a_zip_message(who, stream, head, expected))
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            _check_sizes(who, members)
            declared = _content_types(archive)
    except zipfile.BadZipFile:
        raise MediaError(f"{who} is damaged: its ZIP structure is broken.") from None
    except (OSError, EOFError, ValueError):
        raise MediaError(f"{who} is damaged: its ZIP structure is broken.") from None
    finally:
        stream.seek(0)
    if declared is None:
        raise MediaError(f"{who} is a ZIP archive, not {expected.article}.")
    if expected.family not in declared:
        other = next((kind for kind in KINDS if kind.family in declared), None)
        if other is not None:
            raise MediaError(
                f"{who} is really {other.article}; rename it to end in {other.suffix} and attach it again."
            )
        raise MediaError(f"{who} is a ZIP archive, not {expected.article}.")


def _not_a_zip_message(who: str, stream: BinaryIO, head: bytes, expected: OfficeKind) -> str:
    if head.startswith(_OLE_MAGIC):
        if _holds(stream, _ENCRYPTED_PACKAGE):
            return f"{who} is protected by a password; save a copy without the password and attach that."
        return (
            f"{who} is an old-style {expected.old_suffix} file; save it as {expected.suffix} "
            f"(in Office or LibreOffice) and attach that."
        )
    found = sniff(head)
    if found is None:
        return f"{who} is not {expected.article}, though its name says so."
    return f"{who} is not {expected.article}; it looks like {found.kind}."


def _holds(stream: BinaryIO, needle: bytes, chunk: int = 1 << 20) -> bool:
    """Whether the stream's bytes contain ``needle`` (read a megabyte at a time; the stream is left at its start)."""
    stream.seek(0)
    tail = b""
    try:
        while block := stream.read(chunk):
            if needle in tail + block:
                return True
            tail = block[-len(needle) :]
        return False
    finally:
        stream.seek(0)


def _check_sizes(who: str, members: list[zipfile.ZipInfo]) -> None:
    """Member count, each part's expansion, and the total, all from the ZIP's directory."""
    if len(members) > MAX_MEMBERS:
        raise MediaError(f"{who} looks like a zip bomb ({len(members):,} parts; the limit is {MAX_MEMBERS:,}).")
    total = packed = 0
    for member in members:
        total += member.file_size
        packed += member.compress_size
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise MediaError(
                f"{who} looks like a zip bomb (its part {member.filename} unpacks "
                f"{format_size(member.compress_size)} into {format_size(member.file_size)})."
            )
    if total > MAX_UNPACKED_BYTES:
        unpacked = f"it unpacks to {format_size(total)}; the limit is {format_size(MAX_UNPACKED_BYTES)}"
        if total > MAX_RATIO * max(packed, 1):
            raise MediaError(f"{who} looks like a zip bomb ({unpacked}).")
        raise MediaError(f"{who} is too large to read ({unpacked}).")


def _content_types(archive: zipfile.ZipFile) -> str | None:
    """``[Content_Types].xml`` as text (every Office file has one), or None when the ZIP has none."""
    try:
        info = archive.getinfo("[Content_Types].xml")
    except KeyError:
        return None
    if info.file_size > _MAX_CONTENT_TYPES:
        return None
    return archive.read(info).decode("utf-8", errors="replace")
