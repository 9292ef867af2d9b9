"""Real documents for tests, written by the libraries made for them: PDFs (fpdf2, PDFium), Word, PowerPoint and
Excel files (python-docx, python-pptx, openpyxl), and ZIP files that are not what their names say.

Usage::

    write_pdf(tmp_path / "notes.pdf", ["first page text", "second page", ""], scans={3})
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from fpdf import FPDF
from PIL import Image, ImageDraw

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
