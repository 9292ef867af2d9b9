"""Real documents for tests, written by the libraries made for them: PDFs (fpdf2, PDFium), Word, PowerPoint and
Excel files (python-docx, python-pptx, openpyxl), and ZIP files that are not what their names say.

Usage::

    write_pdf(tmp_path / "notes.pdf", ["first page text", "second page", ""], scans={3})
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Collection, Sequence
from pathlib import Path

import docx
import numpy as np
import openpyxl
import pptx
import pypdfium2 as pdfium
from fpdf import FPDF
from PIL import Image, ImageDraw
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Emu

from app.media.documents.pdf_pages import PDFIUM_LOCK

LOREM = (
    "Gemma reads every page of this report. The harbour opened in spring, the lighthouse keeper counted "
    "forty ships, and the ledger shows the tides for each week of the year. "
)


def scan_image(seed: int = 0) -> Image.Image:
    """A "scanned page": greyish paper with dark blocks where lines of print would be, and no text layer."""
    rng = np.random.default_rng(seed)
    paper = rng.integers(225, 245, (1100, 850), dtype=np.uint8)
    picture = Image.fromarray(paper).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for row in range(12):
        top = 120 + row * 70
        draw.rectangle((100, top, 100 + int(rng.integers(350, 650)), top + 22), fill=(20, 20, 20))
    return picture


def pdf_bytes(texts: Sequence[str], *, scans: Collection[int] = (), compress: bool = True) -> bytes:
    """A PDF with one page per entry of ``texts`` (1-based page numbers in ``scans`` hold a scan instead)."""
    pdf = FPDF(unit="pt", format="A4")
    pdf.set_compression(compress)
    pdf.set_font("helvetica", size=10)
    scan = scan_image()
    for number, text in enumerate(texts, start=1):
        pdf.add_page()
        if number in scans:
            pdf.image(scan, x=0, y=0, w=pdf.w, h=pdf.h)
        elif text:
            pdf.multi_cell(0, 12, text=text)
    return bytes(pdf.output())


def write_pdf(path: Path, texts: Sequence[str], *, scans: Collection[int] = ()) -> Path:
    path.write_bytes(pdf_bytes(texts, scans=scans))
    return path


def write_text_pdf(path: Path, pages: int, chars_per_page: int = 2000) -> Path:
    """A PDF of ``pages`` full pages of prose, each about ``chars_per_page`` characters and starting "Page N"."""
    body = (LOREM * (chars_per_page // len(LOREM) + 1))[:chars_per_page]
    return write_pdf(path, [f"Page {n} of the report. {body}" for n in range(1, pages + 1)])


def write_blank_pdf(path: Path, pages: int) -> Path:
    """``pages`` empty pages, written by PDFium (10,000 pages take a fraction of a second)."""
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument.new()
        try:
            for _ in range(pages):
                document.new_page(200, 200).close()
            with path.open("wb") as out:
                document.save(out)
        finally:
            document.close()
    return path


def write_encrypted_pdf(path: Path, text: str = LOREM) -> Path:
    """A PDF that opens only with its user password ("open sesame")."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    pdf.add_page()
    pdf.multi_cell(0, 5, text=text)
    pdf.set_encryption(owner_password="owner secret", user_password="open sesame")
    path.write_bytes(bytes(pdf.output()))
    return path


def write_pdf_with_broken_page(path: Path, broken: int = 2, pages: int = 3) -> Path:
    """A PDF whose page ``broken`` is no page any more (its object's /Type was damaged); the others read."""
    data = pdf_bytes([f"{LOREM} page {n}" for n in range(1, pages + 1)], compress=False)
    spots = [m.start() for m in re.finditer(rb"/Type /Page\b", data)]
    start = spots[broken - 1]
    path.write_bytes(data[:start] + b"/Type /Xxxx" + data[start + len(b"/Type /Page") :])
    return path


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    scan_image().save(buffer, "PNG")
    return buffer.getvalue()


def write_zip_bomb(path: Path, *, gigabytes: int = 1, main_part: str = "word/document.xml") -> Path:
    """A small ZIP (about 1 MB a gigabyte) that unpacks ``gigabytes`` GB of zeros, beside a tiny ``main_part``.

    The deflate stream is one compressed megabyte repeated: after a full flush zlib starts afresh, so the same
    input compresses to the same bytes, and the big member is written without compressing (or holding) a gigabyte.
    """
    megabyte = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(megabyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    repeats = 1024 * gigabytes
    crc = 0
    for _ in range(repeats):
        crc = zlib.crc32(megabyte, crc)
    small = b"<w:document/>"
    entries = [
        _ZipEntry(main_part, 0, zlib.crc32(small), len(small), len(small)),
        _ZipEntry("word/media/zeros.bin", 8, crc, len(block) * repeats + len(tail), repeats << 20),
    ]
    with path.open("wb") as out:
        for entry, chunks in zip(entries, ([small], [block] * repeats + [tail]), strict=True):
            entry.offset = out.tell()
            out.write(entry.local_header())
            for chunk in chunks:
                out.write(chunk)
        directory = b"".join(entry.central_header() for entry in entries)
        start = out.tell()
        out.write(directory)
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    return path


class _ZipEntry:
    """One member's headers, written by hand (zipfile cannot take data that is already compressed)."""

    _DATE = (1 << 5) | 1  # 1 January 1980

    def __init__(self, name: str, method: int, crc: int, compressed: int, size: int) -> None:
        self.name, self.method, self.crc, self.compressed, self.size = name.encode(), method, crc, compressed, size
        self.offset = 0

    def local_header(self) -> bytes:
        fields = (20, 0, self.method, 0, self._DATE, self.crc, self.compressed, self.size, len(self.name), 0)
        return struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + self.name

    def central_header(self) -> bytes:
        fields = (20, 20, 0, self.method, 0, self._DATE, self.crc, self.compressed, self.size, len(self.name))
        return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", *fields, 0, 0, 0, 0, 0, self.offset) + self.name


def write_plain_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def write_docx(path: Path) -> Path:
    """A report: a title, headings, a list, a table (with a ``|`` in a cell) between paragraphs."""
    document = docx.Document()
    document.add_heading("Harbour report", level=0)
    document.add_heading("Summary", level=1)
    document.add_paragraph("The lighthouse keeper counted forty ships this spring.")
    document.add_paragraph("Calm seas in April", style="List Bullet")
    document.add_paragraph("Storms in May", style="List Bullet")
    table = document.add_table(rows=3, cols=2)
    for row, (month, ships) in zip(
        table.rows, [("Month", "Ships"), ("April", "25"), ("May", "15 | late")], strict=True
    ):
        row.cells[0].text, row.cells[1].text = month, ships
    document.add_heading("Details", level=2)
    document.add_paragraph("The ledger shows the tides for each week.")
    document.save(str(path))
    return path


def write_pptx(path: Path) -> Path:
    """Five slides: a title, bullets with speaker notes, a table, a lone picture, a column chart."""
    presentation = pptx.Presentation()
    title = presentation.slides.add_slide(presentation.slide_layouts[0])
    title.shapes.title.text = "Harbour review"
    title.placeholders[1].text = "Spring season"
    bullets = presentation.slides.add_slide(presentation.slide_layouts[1])
    bullets.shapes.title.text = "What happened"
    body = bullets.placeholders[1].text_frame
    body.text = "Forty ships came in"
    detail = body.add_paragraph()
    detail.text, detail.level = "Most in April", 1
    bullets.notes_slide.notes_text_frame.text = "Mention the storm in May."
    blank = presentation.slide_layouts[6]
    table_slide = presentation.slides.add_slide(blank)
    shape = table_slide.shapes.add_table(2, 2, Emu(0), Emu(0), Emu(3_000_000), Emu(1_000_000))
    for (r, c), text in {(0, 0): "Month", (0, 1): "Ships", (1, 0): "April", (1, 1): "25"}.items():
        shape.table.cell(r, c).text = text
    picture = presentation.slides.add_slide(blank)
    picture.shapes.add_picture(io.BytesIO(png_bytes()), Emu(0), Emu(0))
    chart_slide = presentation.slides.add_slide(blank)
    data = CategoryChartData()
    data.categories = ["April", "May"]
    data.add_series("Ships", (25, 15))
    chart_slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Emu(0), Emu(0), Emu(4_000_000), Emu(3_000_000), data)
    presentation.save(str(path))
    return path


def write_xlsx(path: Path, *, long_rows: int = 0) -> Path:
    """A "Budget" sheet (numbers, a date, a truth value, a formula, a comma in a cell, a gap of empty rows), a
    "Notes" sheet, and with ``long_rows`` a "Log" sheet of that many rows."""
    workbook = openpyxl.Workbook()  # not write-only: its sheets declare their size, as Excel's do
    budget = workbook.active
    budget.title = "Budget"
    budget.append(["Item", "Cost", "Paid", "Due"])
    budget.append(["Rope, 50 m", 120, True, dt.date(2024, 3, 1)])
    budget.append(["Lamp oil", 35.5, False, dt.datetime(2024, 4, 2, 9, 30)])
    budget.append(["Total", "=B2+B3"])
    for _ in range(5):
        budget.append([])
    budget.append(["Checked by", "Ada"])
    notes = workbook.create_sheet("Notes")
    notes.append(["Order more oil before winter."])
    if long_rows:
        log = workbook.create_sheet("Log")
        for n in range(1, long_rows + 1):
            log.append([n, f"entry {n}"])
    workbook.save(str(path))
    return path
