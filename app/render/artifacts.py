"""Code artifacts in answers: which blocks can be previewed, and the whole HTML page an answer holds.

Pure functions over the rendered ``CodeBlock``s and the answer's text (no Qt), used by the message
widget (its Preview links and the "Preview page" button) and the window (what the preview shows).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol


class CodeBlock(Protocol):
    """What these functions read of a code block (``app.render.markdown.CodeBlock`` has it): no import of
    markdown here, which imports this module for its Preview links."""

    @property
    def index(self) -> int: ...
    @property
    def language(self) -> str: ...
    @property
    def code(self) -> str: ...


PREVIEW_LANGUAGES = frozenset({"html", "htm", "xhtml", "svg"})
_DOCUMENT = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_RAW_DOCUMENT = re.compile(r"<!doctype\s+html.*?(?:</html\s*>|\Z)", re.IGNORECASE | re.DOTALL)


def is_previewable(language: str, code: str) -> bool:
    """HTML and SVG blocks (an ``xml`` or unlabelled block that is an SVG or an HTML page counts too)."""
    lang = language.lower()
    if lang in PREVIEW_LANGUAGES:
        return True
    head = code.lstrip()[:200].lower()
    return lang in ("", "xml") and (head.startswith("<svg") or bool(_DOCUMENT.match(head)))


def is_document(code: str) -> bool:
    """A whole HTML page (``<!DOCTYPE html>`` or ``<html>``), not a fragment."""
    return bool(_DOCUMENT.match(code.lstrip()[:200]))


def page_for(block: CodeBlock) -> str:
    """What the preview renders for a block: the page itself, or a fragment/SVG in a bare page."""
    if is_document(block.code):
        return block.code
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{block.code}</body></html>'


def find_page(text: str, blocks: Sequence[CodeBlock]) -> tuple[int, str] | None:
    """The answer's whole HTML page: (block index, html) for a fenced one, (-1, html) for one written
    without a fence; None when there is none. A page still being written counts (it streams)."""
    for block in blocks:
        if block.language.lower() in ("html", "htm", "xhtml", "") and is_document(block.code):
            return block.index, block.code
    if not any(is_previewable(b.language, b.code) for b in blocks):
        match = _RAW_DOCUMENT.search(text)
        if match:
            return -1, match.group(0)
    return None
