"""PDF documents: the text of each chosen page, and pictures of the pages that have little text (scans, slides).

``read_pdf`` reads the pages a ``PageChoice`` names (all of them by default) through PDFium. A page with little
or no text is sent to Gemma's vision as a picture: the reader picks those pages itself, unless the choice lists
the picture pages (the user changed it per page). Only pages sent as pictures are drawn.

``pdf_page_count`` and ``pdf_page_summaries`` are the cheap reads a page picker needs: the count alone (no
text), and each page's amount of text (no drawing).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from app.media.documents.model import (
    MIN_TEXT_CHARS,
    Document,
    PageChoice,
    Section,
    TooManyPages,
    format_page_range,
)
from app.media.documents.pdf_pages import OpenPdf, PageText, open_pdf
from app.media.errors import MediaError, subject

#: Pages one message takes from a PDF. Gemma 4's largest context is 256K tokens and a page of text is about
#: 500 tokens, so 500 pages is as much as the biggest context can hold; a longer PDF needs a page range.
MAX_PDF_PAGES = 500
#: Pages one message sends as pictures. Each is up to 2.6 MP (about 8 MB) in memory until it is sent, and
#: up to 1,120 tokens: 100 scanned pages already fill a 128K context at the finest vision budget.
MAX_PICTURE_PAGES = 100


class PageSummary(NamedTuple):
    """A page as a picker shows it: its number and how many readable characters it has."""

    number: int  # 1-based
    chars: int  # characters other than white space

    @property
    def has_little_text(self) -> bool:
        """Whether the reader would send this page as a picture (the rule ``Section.has_little_text`` uses)."""
        return self.chars < MIN_TEXT_CHARS


def pdf_page_count(path: Path, name: str = "") -> int:
    """How many pages the PDF has (read from its page tree; no page is parsed). Raises MediaError."""
    with open_pdf(path, name or path.name) as pdf:
        return pdf.page_count


def pdf_page_summaries(path: Path, name: str = "", pages: Iterable[int] | None = None) -> list[PageSummary]:
    """Each page's amount of text (all pages, or those named), without drawing any. Raises MediaError."""
    with open_pdf(path, name or path.name) as pdf:
        count = pdf.page_count
        numbers = range(1, count + 1) if pages is None else sorted({n for n in pages if 1 <= n <= count})
        return [PageSummary(n, _visible_chars(pdf.page_text(n).text)) for n in numbers]


def read_pdf(path: Path, *, name: str, choice: PageChoice) -> Document:
    """Read the chosen pages' text, and draw the pages that go as pictures.

    Raises ``TooManyPages`` when no pages are chosen and the PDF has more than MAX_PDF_PAGES (found from the
    page count alone, before any text is read), when more than MAX_PDF_PAGES are chosen, or when more than
    MAX_PICTURE_PAGES would go as pictures; MediaError for a file that cannot be read.
    """
    with open_pdf(path, name) as pdf:
        numbers = _chosen_pages(pdf, choice)
        texts = [pdf.page_text(n) for n in numbers]
        pictures = _picture_pages(texts, choice)
        if len(pictures) > MAX_PICTURE_PAGES:
            raise TooManyPages(_too_many_pictures(pdf.name, len(pictures), choice), page_count=pdf.page_count)
        sections = tuple(
            Section(t.number, f"Page {t.number}", t.text, pdf.page_picture(t.number) if t.number in pictures else None)
            for t in texts
        )
        count = pdf.page_count
    notes = (_pictures_note(sorted(pictures), automatic=choice.pictures is None),) if pictures else ()
    return Document(
        name=name, kind="PDF", language="", sections=sections, section_count=count, choice=choice, notes=notes
    )


def _chosen_pages(pdf: OpenPdf, choice: PageChoice) -> list[int]:
    count = pdf.page_count
    who = subject(pdf.name)
    if count == 0:
        raise MediaError(f"{who} has no pages.")
    if not choice.pages:
        if count > MAX_PDF_PAGES:
            raise TooManyPages(
                f"{who} has {count:,} pages; pick up to {MAX_PDF_PAGES:,} pages to attach.", page_count=count
            )
        return list(range(1, count + 1))
    choice.check_within(count, who, "page")
    if len(choice.pages) > MAX_PDF_PAGES:
        raise TooManyPages(
            f"{len(choice.pages):,} pages of {who} are picked; pick up to {MAX_PDF_PAGES:,} pages to attach.",
            page_count=count,
        )
    return list(choice.pages)


def _picture_pages(texts: list[PageText], choice: PageChoice) -> set[int]:
    """The pages sent as pictures: those the choice lists, or else those with little text that draw something."""
    if choice.pictures is not None:
        listed = set(choice.pictures)
        return {t.number for t in texts if t.number in listed}
    return {t.number for t in texts if not t.blank and _visible_chars(t.text) < MIN_TEXT_CHARS}


def _visible_chars(text: str) -> int:
    return len("".join(text.split()))


def _too_many_pictures(name: str, pictures: int, choice: PageChoice) -> str:
    who = subject(name)
    if choice.pictures is None:
        return (
            f"{who} has {pictures:,} pages with little text (scans or pictures); "
            f"pick up to {MAX_PICTURE_PAGES:,} of them to attach."
        )
    return f"{pictures:,} pages of {who} are picked to go as pictures; pick up to {MAX_PICTURE_PAGES:,}."


def _pictures_note(pages: list[int], *, automatic: bool) -> str:
    """ "Pages 3, 7 have little text and go to Gemma as pictures." """
    many = len(pages) > 1
    which = f"Page{'s' * many} {format_page_range(pages)}"
    if not automatic:
        return f"{which} go{'es' * (not many)} to Gemma as {'pictures' if many else 'a picture'}."
    return f"{which} ha{'ve' if many else 's'} little text and go{'es' * (not many)} to Gemma as " + (
        "pictures." if many else "a picture."
    )
