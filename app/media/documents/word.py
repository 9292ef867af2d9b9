"""Word documents (``.docx``, through python-docx) as Markdown: paragraphs and tables in the order they appear,
headings as ``#`` lines, list items as ``-`` lines, tables as Markdown tables.

Pictures, text boxes, headers, footers and footnotes are not read. The caller (``office.read_office``) has
already checked the ZIP and turns any library error into one line.
"""

from __future__ import annotations

from typing import BinaryIO

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from app.media.documents.model import Document, Section
from app.media.documents.tables import markdown_table
from app.media.errors import MediaError, subject


def read_word(stream: BinaryIO, *, name: str) -> Document:
    """The whole document as one section of Markdown text."""
    document = docx.Document(stream)
    blocks: list[str] = []
    previous_was_item = False
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            text, is_item = _table_markdown(item), False
        else:
            text, is_item = _paragraph_markdown(item)
        if not text:
            continue
        if is_item and previous_was_item:
            blocks[-1] += "\n" + text  # a list stays one block
        else:
            blocks.append(text)
        previous_was_item = is_item
    body = "\n\n".join(blocks)
    if not body.strip():
        raise MediaError(f"{subject(name)} has no text to read (pictures and drawings are not sent).")
    return Document(
        name=name,
        kind="Word document",
        language="markdown",
        sections=(Section(1, "", body),),
        section_count=1,
        unit="part",
    )


def _paragraph_markdown(paragraph: Paragraph) -> tuple[str, bool]:
    """The paragraph's text with its Markdown mark, and whether it is a list item."""
    text = paragraph.text.strip()
    if not text:
        return "", False
    style = (paragraph.style.name if paragraph.style is not None else None) or ""
    level = _heading_level(style)
    if level:
        return "#" * level + " " + " ".join(text.split()), False
    if style.startswith("List"):
        return "- " + text, True
    return text, False


def _heading_level(style: str) -> int:
    """1 for "Title", N for "Heading N" (1-6, deeper headings are 6), 0 for anything else."""
    if style == "Title":
        return 1
    prefix, _, number = style.partition(" ")
    if prefix == "Heading" and number.isdigit():
        return max(1, min(6, int(number)))
    return 0


def _table_markdown(table: Table) -> str:
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    return markdown_table([row for row in rows if any(text.strip() for text in row)])
