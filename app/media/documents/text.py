"""Text-like documents: plain text, Markdown, source code, CSV/TSV, JSON, YAML, TOML, XML, logs, web pages.

``read_text_file(path, name=…)`` reads a file (only a regular one, refused past ``MAX_TEXT_BYTES`` before
it is read), ``read_text_bytes(data, name=…)`` pasted text; both return a one-section ``Document`` whose
``kind`` and fence ``language`` come from the name, a ``#!`` line or the content (a web page becomes its
readable text). Bad input raises ``MediaError`` with one line naming the file.
"""

from __future__ import annotations

from pathlib import Path

from app.media.documents.html_text import html_to_text
from app.media.documents.model import Document, Section
from app.media.documents.text_encoding import decode_text
from app.media.documents.text_kinds import PLAIN, WEB_PAGE, is_web_page, text_kind
from app.media.errors import MediaError, open_source, sniff, stream_size
from app.units import format_size

#: Past this a text document is refused unread: even Gemma's largest context (256K tokens) holds about 1 MB.
MAX_TEXT_BYTES = 32 * 1024 * 1024


def too_large_message(name: str, size: int) -> str:
    return (
        f"{name} is {format_size(size)}: documents over {format_size(MAX_TEXT_BYTES)} are refused "
        "(even Gemma's largest context holds about 1 MB of text)."
    )


def read_text_file(path: Path, *, name: str) -> Document:
    """A text-like file as a Document (see the module's docstring). Raises MediaError."""
    return read_text_bytes(read_text_source(path, name=name), name=name or path.name)


def read_text_source(path: Path, *, name: str) -> bytes:
    """The bytes of a text document's file: only a regular one, refused unread past ``MAX_TEXT_BYTES``."""
    stream, label = open_source(path, name)
    with stream:
        size = stream_size(stream)
        if size > MAX_TEXT_BYTES:
            raise MediaError(too_large_message(label, size))
        try:
            data = stream.read(MAX_TEXT_BYTES + 1)
        except OSError as error:
            raise MediaError(f"{label} cannot be read ({error.strerror or error}).") from None
    if len(data) > MAX_TEXT_BYTES:  # it grew while we looked
        raise MediaError(too_large_message(label, len(data)))
    return data


def read_text_bytes(data: bytes, *, name: str) -> Document:
    """Text given as bytes (pasted text, a stored copy) as a Document. Raises MediaError."""
    if not data:
        raise MediaError(f"{name} is empty.")
    if len(data) > MAX_TEXT_BYTES:
        raise MediaError(too_large_message(name, len(data)))
    text, notes = decode_text(data, name)
    first_line = text.split("\n", 1)[0]
    kind, language = text_kind(name, first_line)
    if (kind, language) == PLAIN and not Path(name).suffix and _sniffs_as_web_page(data):
        kind, language = WEB_PAGE
    if (kind, language) == WEB_PAGE or is_web_page(name):
        text = html_to_text(text)
    return Document(
        name=name,
        kind=kind,
        language=language,
        sections=(Section(1, "", text),),
        section_count=1,
        notes=notes,
        unit="part",
    )


def _sniffs_as_web_page(data: bytes) -> bool:
    found = sniff(data[:4096])
    return found is not None and found.kind == "a web page"
