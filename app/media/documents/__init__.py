"""Documents as attachments: text-like files, PDFs and Office files read into typed, Qt-free ``Document``s.

``read_document`` reads any of them (the caller runs it off the GUI thread); every bad input raises
``MediaError`` (or its subclass ``TooManyPages``, which carries the page count so a client can offer a page
range) with one line a user can act on.
"""

from __future__ import annotations

from app.media.documents.model import (
    MIN_TEXT_CHARS,
    Document,
    PageChoice,
    Section,
    format_page_range,
    parse_page_range,
)
from app.media.documents.reader import (
    DOCUMENT_NAMES,
    DOCUMENT_SUFFIXES,
    OFFICE_SUFFIXES,
    PDF_SUFFIX,
    TooManyPages,
    is_document_name,
    read_document,
)

__all__ = [
    "DOCUMENT_NAMES",
    "DOCUMENT_SUFFIXES",
    "MIN_TEXT_CHARS",
    "OFFICE_SUFFIXES",
    "PDF_SUFFIX",
    "Document",
    "PageChoice",
    "Section",
    "TooManyPages",
    "format_page_range",
    "is_document_name",
    "parse_page_range",
    "read_document",
]
