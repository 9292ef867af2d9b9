"""What a document becomes: its readable sections (pages, slides, sheets), which of them are sent, and how.

A ``Document`` is what every reader (plain text, PDF, Word, PowerPoint, Excel) returns: typed, Qt-free and
immutable. Its ``sections`` are the parts the user may pick from (a PDF's pages, a deck's slides, a
workbook's sheets; one section for a text file). A ``PageChoice`` says which sections go to the model and
which of them go as pictures (a scanned page, a slide that is mostly a chart); it is stored with the
attachment, so reopening a chat sends exactly what was sent before (and the prefix cache still matches).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.media.errors import MediaError
from app.media.images import ImageInput

#: A page with fewer readable characters than this is judged a picture (a scan, a slide, a chart).
MIN_TEXT_CHARS = 40


class TooManyPages(MediaError):
    """A document with more pages than one message takes whole: ``page_count`` lets a client offer a range."""

    def __init__(self, message: str, *, page_count: int) -> None:
        super().__init__(message)
        self.page_count = page_count


@dataclass(frozen=True)
class PageChoice:
    """Which sections to send (1-based numbers; empty means all) and which of them as pictures.

    ``pictures`` None means: decided by the reader (pages with little or no text go as pictures).
    """

    pages: tuple[int, ...] = ()
    pictures: tuple[int, ...] | None = None

    def includes(self, number: int) -> bool:
        return not self.pages or number in self.pages

    def check_within(self, count: int, who: str, unit: str) -> None:
        """Raise MediaError when the choice names a ``unit`` past the ``count`` the file has (a file changed since
        the pages were picked, or a hand-made choice), e.g. "notes.pdf has only 3 pages; page 5 is not in it any more."
        """
        missing = [n for n in self.pages if n > count]
        if missing:
            plural = "s" * (count != 1)
            raise MediaError(
                f"{who} has only {count:,} {unit}{plural}; {unit} {format_page_range(missing)} is not in it any more."
            )

    def to_json(self) -> str:
        data: dict[str, Any] = {}
        if self.pages:
            data["pages"] = list(self.pages)
        if self.pictures is not None:
            data["pictures"] = list(self.pictures)
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def from_json(text: str | None) -> PageChoice:
        """The choice stored as JSON; anything unreadable is the default choice (all, decided by the reader)."""
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return PageChoice()
        if not isinstance(data, dict):
            return PageChoice()
        pages = _numbers(data.get("pages"))
        pictures = data.get("pictures")
        return PageChoice(pages or (), None if pictures is None else _numbers(pictures))


def _numbers(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(sorted({n for n in value if isinstance(n, int) and not isinstance(n, bool) and n > 0}))


_RANGE = re.compile(r"^\s*(\d+)\s*(?:[-–]\s*(\d+)\s*)?$")


def parse_page_range(text: str, count: int) -> tuple[int, ...]:
    """Pages from "1-5, 8, 10-12" (1-based, within ``count``); raises ValueError with a one-line reason."""
    pages: set[int] = set()
    for piece in text.split(","):
        if not piece.strip():
            continue
        found = _RANGE.match(piece)
        if found is None:
            raise ValueError(f"“{piece.strip()}” is not a page or a range like 3-7.")
        first = int(found.group(1))
        last = int(found.group(2) or first)
        if first < 1 or last < first:
            raise ValueError(f"“{piece.strip()}” is not a range of pages from the first to the last.")
        if last > count:
            raise ValueError(f"There {'is' if count == 1 else 'are'} only {count:,} page{'s' * (count != 1)}.")
        pages.update(range(first, last + 1))
    if not pages:
        raise ValueError("Name at least one page, e.g. 1-5.")
    return tuple(sorted(pages))


def format_page_range(pages: Iterable[int]) -> str:
    """ "1-5, 8" from 1, 2, 3, 4, 5, 8."""
    ordered = sorted(set(pages))
    pieces: list[str] = []
    start = prev = None
    for n in [*ordered, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            pieces.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(pieces)


@dataclass(frozen=True)
class Section:
    """One page, slide or sheet (or the whole of a text file): its number, label, text, and its picture when
    it is sent as one (rendered only for pages the choice sends as pictures)."""

    number: int  # 1-based
    label: str  # "Page 3", "Slide 2", "Sheet “Budget”"; "" for a text file's one section
    text: str
    image: ImageInput | None = None

    @property
    def has_little_text(self) -> bool:
        return len("".join(self.text.split())) < MIN_TEXT_CHARS


@dataclass(frozen=True)
class Document:
    """A read document: the sections the choice sends (in order), how many the file has, and notes."""

    name: str  # what the user calls it, e.g. "notes.pdf"
    kind: str  # what it is, in words: "PDF", "Python", "Markdown", "Word document", "text"
    language: str  # the fence's info string: "python", "csv", "" for plain text
    sections: tuple[Section, ...]
    section_count: int  # sections in the file (pages of a PDF), chosen or not
    choice: PageChoice = field(default_factory=PageChoice)
    notes: tuple[str, ...] = ()  # what the user should hear (e.g. pages sent as pictures, encoding guessed)
    unit: str = "page"  # what a section is called: "page", "slide", "sheet", "part"

    @property
    def text(self) -> str:
        """The readable text of the chosen sections (what an expander shows)."""
        if len(self.sections) == 1 and not self.sections[0].label:
            return self.sections[0].text
        return "\n\n".join(f"{s.label}\n{s.text}" if s.label else s.text for s in self.sections if s.image is None)

    @property
    def pictures(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.image is not None)

    @property
    def media_id(self) -> str:
        """A content id: the same document read with the same choice has the same id."""
        digest = hashlib.sha256()
        digest.update(self.name.encode("utf-8", "replace"))
        for section in self.sections:
            digest.update(b"\x00" + section.label.encode("utf-8", "replace") + b"\x00")
            digest.update(section.text.encode("utf-8", "replace"))
            if section.image is not None:
                digest.update(section.image.media_id.encode())
        return "doc:" + digest.hexdigest()
