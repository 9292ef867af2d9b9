"""Excel workbooks (``.xlsx``, through openpyxl, read-only): one section per worksheet, "Sheet “Name”", its cells
as CSV rows.

Cells hold the values Excel last saved, not formulas (``data_only``): a formula in a file that no spreadsheet
program has saved since it was written has no value, and reads as empty. A long sheet is cut after
MAX_SHEET_ROWS rows or MAX_SHEET_CELLS cells, and a note says so. Runs of empty rows become one empty row.
The caller has already checked the ZIP and turns library errors into one line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterable
from typing import Any, BinaryIO

import openpyxl

from app.media.documents.model import Document, PageChoice, Section
from app.media.errors import MediaError, subject

#: Rows read from one sheet (about 10 tokens a row at the least: 100K tokens).
MAX_SHEET_ROWS = 10_000
#: Cells with a value read from one sheet (2 to 4 tokens each: far beyond most contexts already).
MAX_SHEET_CELLS = 100_000


def read_excel(stream: BinaryIO, *, name: str, choice: PageChoice) -> Document:
    """The chosen worksheets (all by default), one section each."""
    workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True, keep_links=False)
    try:
        sheets = list(workbook.worksheets)
        who = subject(name)
        if not sheets:
            raise MediaError(f"{who} has no worksheets.")
        choice.check_within(len(sheets), who, "sheet")
        sections: list[Section] = []
        notes: list[str] = []
        for number, sheet in enumerate(sheets, start=1):
            if not choice.includes(number):
                continue
            label = f"Sheet “{sheet.title}”"
            text, note = _sheet_csv(sheet, label)
            sections.append(Section(number, label, text))
            if note:
                notes.append(note)
    finally:
        workbook.close()
    return Document(
        name=name,
        kind="Excel workbook",
        language="csv",
        sections=tuple(sections),
        section_count=len(sheets),
        choice=choice,
        notes=tuple(notes),
        unit="sheet",
    )


def _sheet_csv(sheet: Any, label: str) -> tuple[str, str]:
    """The sheet's rows as CSV (trailing empty cells and repeated empty rows dropped), and a note if it was cut."""
    declared_rows = sheet.max_row if isinstance(sheet.max_row, int) else None
    sheet.reset_dimensions()  # read the rows as stored: a wrong declared size neither pads nor cuts them
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    rows = cells = 0
    pending_gap = False
    for values in sheet.iter_rows(values_only=True):
        row = _trimmed(values)
        if not row:
            pending_gap = rows > 0
            continue
        filled = sum(1 for text in row if text)
        if rows >= MAX_SHEET_ROWS or cells + filled > MAX_SHEET_CELLS:
            return out.getvalue().rstrip("\n"), _cut_note(label, rows, declared_rows)
        if pending_gap:
            writer.writerow([])
            rows += 1
            pending_gap = False
        writer.writerow(row)
        rows += 1
        cells += filled
    return out.getvalue().rstrip("\n"), ""


def _trimmed(values: Iterable[object]) -> list[str]:
    row = [_cell_text(v) for v in values]
    while row and not row[-1]:
        row.pop()
    return row


def _cell_text(value: object) -> str:
    """A cell's value as Excel would show it plainly: ``12``, ``0.25``, ``TRUE``, ``2024-03-01``, ``09:30:00``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def _cut_note(label: str, kept: int, declared: int | None) -> str:
    total = f" of about {declared:,}" if declared and declared > kept else ""
    return f"{label} is cut after {kept:,} rows{total}: the rest is not sent."
