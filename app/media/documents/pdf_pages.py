"""PDFium behind one lock: opening a PDF (with a one-line reason when it cannot be), a page's text, a page's picture.

PDFium is not thread-safe, and the window reads documents on a pool thread: every PDFium call in the app runs
inside ``open_pdf``'s block, which holds ``PDFIUM_LOCK`` from the open to the last close. Every PDFium object
(document, page, text page, bitmap) is closed in that block, never left to the garbage collector (which could
close it later, on another thread, outside the lock).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from app.media.errors import MediaError, open_source, read_head, sniff, subject
from app.media.images import DEFAULT_MAX_SIDE, ImageInput, image_from_array

#: Held around every PDFium call (PDFium keeps global state and must not run on two threads at once).
PDFIUM_LOCK = threading.RLock()
#: A page picture has at most this many pixels: Gemma 4's finest vision budget (1120 tokens of 48 × 48-pixel
#: cells). mtmd scales every picture to the chat's budget, so more pixels would only cost memory and time.
PAGE_PICTURE_PIXELS = 1120 * 48 * 48
#: PDF readers accept a header a little way into the file (after junk a mail program added); so does PDFium.
_HEADER_REACH = 1024

# Control characters PDFium leaves in extracted text (soft-hyphen markers, form feeds, NULs) are dropped;
# line breaks and tabs stay.
_DROP = {code: None for code in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0xFFFE, 0xFFFF)}


@dataclass(frozen=True)
class PageText:
    """A page's extracted text, and whether the page draws nothing at all (a blank page is no picture)."""

    number: int  # 1-based
    text: str
    blank: bool


class OpenPdf:
    """An open PDF: its page count, each page's text, and a page's picture. Valid only inside ``open_pdf``."""

    def __init__(self, document: pdfium.PdfDocument, name: str) -> None:
        self._document = document
        self.name = name

    @property
    def page_count(self) -> int:
        return len(self._document)

    def page_text(self, number: int) -> PageText:
        """The text of page ``number`` (1-based), its lines as PDFium found them."""
        page = self._load(number)
        try:
            blank = pdfium_c.FPDFPage_CountObjects(page.raw) == 0
            textpage = page.get_textpage()
            try:
                raw = textpage.get_text_range()
            finally:
                textpage.close()
        except pdfium.PdfiumError:
            raise MediaError(f"{subject(self.name)} is damaged: the text of page {number} cannot be read.") from None
        finally:
            page.close()
        return PageText(number, clean_text(raw), blank)

    def page_picture(self, number: int) -> ImageInput:
        """Page ``number`` drawn on white, its long side within DEFAULT_MAX_SIDE and at most PAGE_PICTURE_PIXELS."""
        page = self._load(number)
        try:
            width, height = page.get_size()
            scale = picture_scale(width, height)
            try:
                bitmap = page.render(scale=scale, rev_byteorder=True, force_bitmap_format=pdfium_c.FPDFBitmap_BGR)
            except pdfium.PdfiumError:
                raise MediaError(f"{subject(self.name)} is damaged: page {number} cannot be drawn.") from None
            try:
                # image_from_array copies the pixels out of PDFium's buffer before the bitmap is closed.
                return image_from_array(bitmap.to_numpy(), name=f"{self.name} page {number}")
            finally:
                bitmap.close()
        finally:
            page.close()

    def _load(self, number: int) -> pdfium.PdfPage:
        try:
            return self._document[number - 1]
        except pdfium.PdfiumError:
            raise MediaError(f"{subject(self.name)} is damaged: page {number} cannot be read.") from None


def picture_scale(width: float, height: float) -> float:
    """Pixels per PDF point so the page's long side fits DEFAULT_MAX_SIDE and its area PAGE_PICTURE_PIXELS."""
    width, height = max(width, 1.0), max(height, 1.0)
    fit = min(DEFAULT_MAX_SIDE / max(width, height), math.sqrt(PAGE_PICTURE_PIXELS / (width * height)))
    # PDFium rounds each side up to a whole pixel: one pixel less on each side keeps the size within both limits.
    return max(fit - 1 / min(width, height), 1 / min(width, height))


def clean_text(raw: str) -> str:
    """PDFium's text with ``\\n`` line ends, no control characters, no trailing spaces, at most one blank line."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").translate(_DROP)
    lines = [line.rstrip() for line in text.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip("\n")


@contextmanager
def open_pdf(path: Path, name: str) -> Iterator[OpenPdf]:
    """Open a PDF under ``PDFIUM_LOCK`` (held until the block ends) and close everything when it ends.

    Raises MediaError naming the file: missing, not readable, empty, not a PDF, damaged, protected by a password.
    """
    stream, label = open_source(path, name)
    with stream, PDFIUM_LOCK:
        _check_header(stream, label)
        document = _load_document(stream, label)
        try:
            yield OpenPdf(document, label)
        finally:
            document.close()


def _check_header(stream: BinaryIO, name: str) -> None:
    head = read_head(stream)
    if b"%PDF" in head[:_HEADER_REACH]:
        return
    found = sniff(head)
    if found is None or found.kind == "a PDF document":
        raise MediaError(f"{subject(name)} is not a PDF, though its name says so.")
    raise MediaError(f"{subject(name)} is not a PDF; it looks like {found.kind}.")


def _load_document(stream: BinaryIO, name: str) -> pdfium.PdfDocument:
    who = subject(name)
    try:
        return pdfium.PdfDocument(stream)
    except pdfium.PdfiumError as error:
        code = error.err_code
        if code == pdfium_c.FPDF_ERR_PASSWORD:
            reason = (
                "is protected by a password; open it in a PDF viewer, save a copy without the password and attach that."
            )
        elif code == pdfium_c.FPDF_ERR_SECURITY:
            reason = (
                "is locked with an encryption this app cannot open; save a copy without the password and attach that."
            )
        elif code == pdfium_c.FPDF_ERR_FORMAT:
            reason = "is damaged or incomplete: it cannot be read as a PDF."
        else:
            reason = "cannot be read as a PDF."
        raise MediaError(f"{who} {reason}") from None
    except OSError as error:
        raise MediaError(f"{who} cannot be read ({error.strerror or error}).") from None
