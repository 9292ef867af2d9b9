"""Word, PowerPoint and Excel files written by their own libraries, read back as text and tables; zip bombs and
files that are not what their names say, refused in one line before any library unpacks them."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest

from app.media.documents import PageChoice, read_document, zip_guard
from app.media.documents.excel import MAX_SHEET_ROWS
from app.media.errors import MediaError
from tests.media.documents.sample_files import (
    write_docx,
    write_plain_zip,
    write_pptx,
    write_xlsx,
    write_zip_bomb,
)


def test_a_word_document_reads_as_markdown_in_body_order(tmp_path: Path) -> None:
    document = read_document(write_docx(tmp_path / "report.docx"))
    assert (document.kind, document.language, document.section_count) == ("Word document", "markdown", 1)
    text = document.text
    assert text.startswith("# Harbour report\n\n# Summary\n\nThe lighthouse keeper counted forty ships")
    assert "- Calm seas in April\n- Storms in May" in text
    assert "| Month | Ships |\n|---|---|\n| April | 25 |\n| May | 15 \\| late |" in text
    # The table sits between the list and the second heading, as in the document.
    assert text.index("Storms in May") < text.index("| Month") < text.index("## Details") < text.index("ledger")


def test_a_presentation_reads_slide_by_slide(tmp_path: Path) -> None:
    document = read_document(write_pptx(tmp_path / "review.pptx"))
    assert (document.kind, document.unit, document.section_count) == ("PowerPoint presentation", "slide", 5)
    slides = {s.label: s.text for s in document.sections}
    assert list(slides) == ["Slide 1", "Slide 2", "Slide 3", "Slide 4", "Slide 5"]
    assert "Harbour review" in slides["Slide 1"] and "Spring season" in slides["Slide 1"]
    assert "Forty ships came in\n  Most in April" in slides["Slide 2"]
    assert "Notes: Mention the storm in May." in slides["Slide 2"]
    assert "| Month | Ships |\n|---|---|\n| April | 25 |" in slides["Slide 3"]
    assert "| April | 25 |\n| May | 15 |" in slides["Slide 5"]  # the chart's data
    assert document.notes == ("Slide 4 shows pictures Gemma does not see; only its text is sent.",)


def test_slides_can_be_picked(tmp_path: Path) -> None:
    path = write_pptx(tmp_path / "review.pptx")
    picked = read_document(path, choice=PageChoice(pages=(2, 3)))
    assert [s.number for s in picked.sections] == [2, 3] and picked.notes == ()
    with pytest.raises(MediaError, match=r"^review\.pptx has only 5 slides; slide 7-8 is not in it any more\.$"):
        read_document(path, choice=PageChoice(pages=(1, 7, 8)))


def test_a_workbook_reads_sheet_by_sheet_as_values(tmp_path: Path) -> None:
    document = read_document(write_xlsx(tmp_path / "budget.xlsx"))
    assert (document.kind, document.unit, document.language) == ("Excel workbook", "sheet", "csv")
    assert [s.label for s in document.sections] == ["Sheet “Budget”", "Sheet “Notes”"]
    assert document.sections[0].text == (
        "Item,Cost,Paid,Due\n"
        '"Rope, 50 m",120,TRUE,2024-03-01\n'
        "Lamp oil,35.5,FALSE,2024-04-02 09:30:00\n"
        "Total\n"  # a formula no spreadsheet program has computed yet has no value; never its formula text
        "\n"  # five empty rows become one
        "Checked by,Ada"
    )
    assert document.sections[1].text == "Order more oil before winter." and document.notes == ()
    only_notes = read_document(tmp_path / "budget.xlsx", choice=PageChoice(pages=(2,)))
    assert [s.label for s in only_notes.sections] == ["Sheet “Notes”"] and only_notes.section_count == 2


def test_a_long_sheet_is_cut_with_a_note(tmp_path: Path) -> None:
    document = read_document(write_xlsx(tmp_path / "log.xlsx", long_rows=MAX_SHEET_ROWS + 50))
    log = document.sections[2]
    lines = log.text.split("\n")
    assert len(lines) == MAX_SHEET_ROWS and lines[-1] == f"{MAX_SHEET_ROWS},entry {MAX_SHEET_ROWS}"
    assert document.notes == ("Sheet “Log” is cut after 10,000 rows of about 10,050: the rest is not sent.",)


def test_a_zip_bomb_named_docx_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    path = write_zip_bomb(tmp_path / "invoice.docx")
    assert path.stat().st_size < 2_000_000
    started = time.perf_counter()
    with pytest.raises(
        MediaError,
        match=r"^invoice\.docx looks like a zip bomb \(its part word/media/zeros\.bin unpacks 1\.1 MB into 1\.1 GB\)",
    ):
        read_document(path)
    assert time.perf_counter() - started < 2.0  # unpacking the gigabyte takes seconds


def test_many_parts_or_a_huge_total_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crowd = tmp_path / "crowd.xlsx"
    with zipfile.ZipFile(crowd, "w") as archive:
        for n in range(zip_guard.MAX_MEMBERS + 1):
            archive.writestr(f"xl/part{n}.xml", b"")
    with pytest.raises(
        MediaError, match=r"^crowd\.xlsx looks like a zip bomb \(10,001 parts; the limit is 10,000\)\.$"
    ):
        read_document(crowd)
    # Many parts, each below the size at which one part's expansion is judged, together far too many bytes.
    spread = tmp_path / "spread.pptx"
    with zipfile.ZipFile(spread, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for n in range(210):
            archive.writestr(f"ppt/slides/slide{n}.xml", bytes(zip_guard.RATIO_FLOOR))
    with pytest.raises(MediaError, match=r"^spread\.pptx looks like a zip bomb \(it unpacks to 210\.0 MB; the limit"):
        read_document(spread)
    # A big file that is only big: said so, not called a bomb.
    monkeypatch.setattr(zip_guard, "MAX_UNPACKED_BYTES", 1_000_000)
    big = write_plain_zip(tmp_path / "big.docx", {"word/media/noise.bin": os.urandom(2_000_000)})
    with pytest.raises(
        MediaError, match=r"^big\.docx is too large to read \(it unpacks to 2\.0 MB; the limit is 1\.0 MB\)\.$"
    ):
        read_document(big)


def test_files_that_are_not_the_office_file_their_name_says(tmp_path: Path) -> None:
    text = tmp_path / "letter.docx"
    text.write_text("Dear harbour master, …", encoding="utf-8")
    with pytest.raises(MediaError, match=r"^letter\.docx is not a Word document; it looks like text\.$"):
        read_document(text)
    noise = tmp_path / "noise.pptx"
    noise.write_bytes(b"\x01\x02" + os.urandom(4000))
    with pytest.raises(MediaError, match=r"^noise\.pptx is not a PowerPoint presentation, though its name says so\.$"):
        read_document(noise)
    archive = write_plain_zip(tmp_path / "photos.docx", {"holiday/notes.txt": b"sun"})
    with pytest.raises(MediaError, match=r"^photos\.docx is a ZIP archive, not a Word document\.$"):
        read_document(archive)
    workbook = write_xlsx(tmp_path / "budget.xlsx")
    renamed = workbook.rename(tmp_path / "budget.docx")
    with pytest.raises(MediaError, match=r"^budget\.docx is really an Excel workbook; rename it to end in \.xlsx"):
        read_document(renamed)
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"^empty\.xlsx is empty \(0 bytes\)\.$"):
        read_document(empty)


def test_old_and_encrypted_office_files_say_what_to_do(tmp_path: Path) -> None:
    """Old .doc files and password-protected Office files are both OLE containers (the latter hold an
    ``EncryptedPackage`` stream); their headers are written here by hand."""
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    old = tmp_path / "minutes.docx"
    old.write_bytes(ole + b"WordDocument".ljust(4096, b"\x00"))
    with pytest.raises(MediaError, match=r"^minutes\.docx is an old-style \.doc file; save it as \.docx"):
        read_document(old)
    locked = tmp_path / "salaries.xlsx"
    # The stream's name sits in the container's directory, which may lie anywhere in the file.
    locked.write_bytes(ole + bytes(300_000) + "EncryptedPackage".encode("utf-16-le").ljust(4096, b"\x00"))
    with pytest.raises(MediaError, match=r"^salaries\.xlsx is protected by a password; save a copy without"):
        read_document(locked)


def test_a_damaged_office_file_is_refused_in_one_line(tmp_path: Path) -> None:
    whole = write_docx(tmp_path / "whole.docx").read_bytes()
    cut = tmp_path / "cut.docx"
    cut.write_bytes(whole[: len(whole) - 200])  # the ZIP's directory is gone
    with pytest.raises(MediaError, match=r"^cut\.docx is damaged: its ZIP structure is broken\.$"):
        read_document(cut)
    # The directory is intact but the document's own XML part is scrambled.
    with zipfile.ZipFile(tmp_path / "whole.docx") as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members["word/document.xml"] = b"<w:document><w:body><w:p>unclosed"
    scrambled = write_plain_zip(tmp_path / "scrambled.docx", members)
    with pytest.raises(MediaError, match=r"^scrambled\.docx is damaged: it cannot be read as a Word document\.$"):
        read_document(scrambled)


def test_a_word_document_without_text_is_refused(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    with pytest.raises(MediaError, match=r"^blank\.docx has no text to read \(pictures and drawings are not sent\)\.$"):
        read_document(path)


def test_office_files_saved_without_their_suffix_are_known_by_their_zip(tmp_path: Path) -> None:
    for write, kind in ((write_docx, "Word document"), (write_pptx, "PowerPoint presentation"),
                        (write_xlsx, "Excel workbook")):  # fmt: skip
        made = write(tmp_path / f"made{kind[0]}.zip")
        bare = made.rename(tmp_path / f"attachment-{kind[0]}")  # e.g. saved from a mail without its name
        assert read_document(bare).kind == kind
    with pytest.raises(MediaError, match=r"^plain is not a Word, PowerPoint or Excel file\.$"):
        read_document(write_plain_zip(tmp_path / "archive.zip", {"a.txt": b"hello"}).rename(tmp_path / "plain"))
