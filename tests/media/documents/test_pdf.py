"""The PDF reader on real PDFs written by the tests: page text, scanned pages sent as pictures, page choices,
long PDFs refused from their page count alone, and every kind of bad file refused in one line."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from app.engine.attachments import parts_for
from app.media.documents import Document, PageChoice, TooManyPages, read_document
from app.media.documents.pdf import (
    MAX_PDF_PAGES,
    MAX_PICTURE_PAGES,
    pdf_page_count,
    pdf_page_summaries,
    read_pdf,
)
from app.media.documents.pdf_pages import PAGE_PICTURE_PIXELS, OpenPdf
from app.media.errors import MediaError
from app.media.images import DEFAULT_MAX_SIDE
from tests.media.documents.sample_files import (
    LOREM,
    pdf_bytes,
    png_bytes,
    write_blank_pdf,
    write_encrypted_pdf,
    write_pdf,
    write_pdf_with_broken_page,
)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    """Three pages: two of prose, the third a scan with no text layer."""
    return write_pdf(tmp_path / "report.pdf", [f"Harbour {LOREM}", f"Ledger {LOREM}", ""], scans={3})


def test_each_page_is_a_section_with_its_text(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "notes.pdf", [f"Alpha {LOREM}", f"Bravo {LOREM}", f"Charlie {LOREM}"])
    document = read_document(path)
    assert (document.kind, document.unit, document.language, document.section_count) == ("PDF", "page", "", 3)
    assert [s.label for s in document.sections] == ["Page 1", "Page 2", "Page 3"]
    assert [s.text.split()[0] for s in document.sections] == ["Alpha", "Bravo", "Charlie"]
    assert "lighthouse keeper" in document.sections[0].text and "\r" not in document.text
    assert document.pictures == () and document.notes == ()


def test_a_scanned_page_goes_as_a_picture_of_the_page(report: Path) -> None:
    document = read_document(report)
    scan = document.sections[2]
    assert scan.image is not None and [s.image is None for s in document.sections[:2]] == [True, True]
    assert document.notes == ("Page 3 has little text and goes to Gemma as a picture.",)
    # Drawn to fit: long side within the intake's limit, no more pixels than Gemma's finest budget uses.
    assert max(scan.image.width, scan.image.height) <= DEFAULT_MAX_SIDE
    assert scan.image.width * scan.image.height <= PAGE_PICTURE_PIXELS
    assert scan.image.height > scan.image.width > 1000  # an A4 page, upright, at a useful size
    # The scan's dark print lines are in the picture, on its light paper.
    row_darkness = scan.image.pixels.mean(axis=(1, 2))
    assert row_darkness.min() < 80 and np.median(row_darkness) > 200
    # The model gets both pages' text in one block and the third page as one picture.
    parts = parts_for(document)
    assert [p.type for p in parts].count("image") == 1
    assert "Harbour" in parts[0].text and "Ledger" in parts[0].text and "Page 3" not in document.text


def test_the_user_chooses_which_pages_go_as_pictures(report: Path) -> None:
    chosen = read_pdf(report, name="report.pdf", choice=PageChoice(pictures=(1,)))
    assert [s.image is not None for s in chosen.sections] == [True, False, False]
    assert chosen.notes == ("Page 1 goes to Gemma as a picture.",)
    assert chosen.choice == PageChoice(pictures=(1,))
    none = read_pdf(report, name="report.pdf", choice=PageChoice(pictures=()))
    assert none.pictures == () and none.notes == ()
    both = read_pdf(report, name="report.pdf", choice=PageChoice(pictures=(1, 3)))
    assert both.notes == ("Pages 1, 3 go to Gemma as pictures.",)
    assert both.media_id != chosen.media_id != none.media_id
    assert len({both.media_id, chosen.media_id, none.media_id}) == 3


def test_a_page_range_reads_only_those_pages(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "long.pdf", [f"Part{n} {LOREM}" for n in range(1, 11)])
    document = read_pdf(path, name="long.pdf", choice=PageChoice(pages=(2, 3, 9)))
    assert [s.number for s in document.sections] == [2, 3, 9] and document.section_count == 10
    assert document.sections[2].text.startswith("Part9")


def test_a_blank_page_is_no_picture(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "gap.pdf", [LOREM, "", LOREM])
    document = read_document(path)
    assert document.pictures == () and document.sections[1].text == ""


def test_the_page_picker_reads_counts_and_text_amounts_without_drawing(report: Path) -> None:
    assert pdf_page_count(report) == 3
    summaries = pdf_page_summaries(report, "report.pdf")
    assert [s.number for s in summaries] == [1, 2, 3]
    assert [s.has_little_text for s in summaries] == [False, False, True]
    assert summaries[0].chars == len("".join(f"Harbour {LOREM}".split()))
    assert [s.number for s in pdf_page_summaries(report, pages=[3, 9, 1])] == [1, 3]


def test_a_ten_thousand_page_pdf_is_refused_from_its_page_count_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_blank_pdf(tmp_path / "big.pdf", 10_000)
    extracted: list[int] = []
    real_page_text = OpenPdf.page_text
    monkeypatch.setattr(OpenPdf, "page_text", lambda self, n: extracted.append(n) or real_page_text(self, n))
    started = time.perf_counter()
    with pytest.raises(TooManyPages, match=r"^big\.pdf has 10,000 pages; pick up to 500 pages to attach\.$") as caught:
        read_document(path)
    assert time.perf_counter() - started < 2.0 and extracted == []
    assert caught.value.page_count == 10_000
    assert pdf_page_count(path) == 10_000
    # A range within the limit reads.
    document = read_pdf(path, name="big.pdf", choice=PageChoice(pages=tuple(range(9_990, 10_001))))
    assert len(document.sections) == 11 and document.section_count == 10_000


def test_choosing_more_pages_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = write_blank_pdf(tmp_path / "big.pdf", MAX_PDF_PAGES + 10)
    with pytest.raises(TooManyPages, match=r"^501 pages of big\.pdf are picked; pick up to 500 pages to attach\.$"):
        read_pdf(path, name="big.pdf", choice=PageChoice(pages=tuple(range(1, MAX_PDF_PAGES + 2))))
    with pytest.raises(MediaError, match=r"^big\.pdf has only 510 pages; page 600-601 is not in it any more\.$"):
        read_pdf(path, name="big.pdf", choice=PageChoice(pages=(1, 600, 601)))


def test_too_many_scanned_pages_are_refused_before_any_is_drawn(tmp_path: Path) -> None:
    count = MAX_PICTURE_PAGES + 1
    path = tmp_path / "scans.pdf"
    path.write_bytes(pdf_bytes([""] * count, scans=set(range(1, count + 1))))
    started = time.perf_counter()
    with pytest.raises(
        TooManyPages, match=r"^scans\.pdf has 101 pages with little text \(scans or pictures\); pick up to 100"
    ):
        read_document(path)
    assert time.perf_counter() - started < 5.0  # drawing 101 pages would take far longer
    picked = read_pdf(path, name="scans.pdf", choice=PageChoice(pages=(1, 2)))
    assert len(picked.pictures) == 2


def test_an_encrypted_pdf_asks_for_a_copy_without_the_password(tmp_path: Path) -> None:
    path = write_encrypted_pdf(tmp_path / "secret.pdf")
    with pytest.raises(
        MediaError, match=r"^secret\.pdf is protected by a password; .* save a copy without the password"
    ):
        read_document(path)


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\n" + b"not really a pdf at all " * 50, pdf_bytes([LOREM] * 3)[:1500]],
    ids=["garbage after the header", "cut short"],
)
def test_a_damaged_pdf_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=r"^broken\.pdf is damaged or incomplete: it cannot be read as a PDF\.$"):
        read_document(path)


def test_a_page_that_cannot_be_read_names_the_page(tmp_path: Path) -> None:
    path = write_pdf_with_broken_page(tmp_path / "torn.pdf", broken=2)
    with pytest.raises(MediaError, match=r"^torn\.pdf is damaged: page 2 cannot be read\.$"):
        read_document(path)
    assert len(read_pdf(path, name="torn.pdf", choice=PageChoice(pages=(1, 3))).sections) == 2


def test_files_that_are_no_pdf_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"^empty\.pdf is empty \(0 bytes\)\.$"):
        read_document(empty)
    picture = tmp_path / "photo.pdf"
    picture.write_bytes(png_bytes())
    with pytest.raises(MediaError, match=r"^photo\.pdf is not a PDF; it looks like a PNG image\.$"):
        read_document(picture)
    noise = tmp_path / "noise.pdf"
    noise.write_bytes(os.urandom(4096))
    with pytest.raises(MediaError, match=r"^noise\.pdf is not a PDF, though its name says so\.$"):
        read_document(noise)
    with pytest.raises(MediaError, match=r"^gone\.pdf was not found"):
        read_document(tmp_path / "gone.pdf")


def test_the_name_the_user_gave_is_the_one_messages_use(tmp_path: Path) -> None:
    path = tmp_path / "blob-1234"
    path.write_bytes(b"%PDF-1.4\ntruncated")
    with pytest.raises(MediaError, match=r"^Q3 report\.pdf is damaged"):
        read_document(path, name="Q3 report.pdf")


def test_pdfs_read_on_many_threads_at_once_read_the_same(report: Path) -> None:
    """The window reads on a pool thread while a picker may count pages: PDFium runs one call at a time."""
    first = read_document(report)
    with ThreadPoolExecutor(max_workers=4) as pool:
        reads = list(pool.map(lambda _: read_document(report), range(8)))
        counts = list(pool.map(lambda _: pdf_page_count(report), range(8)))
    assert all(isinstance(d, Document) and d.media_id == first.media_id for d in reads)
    assert counts == [3] * 8
