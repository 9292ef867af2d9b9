"""Salvage: read what a damaged chat database still holds, defensively, and write it into a fresh file.

Rows are read twice over. First through SQLite, in rowid order: when a damaged page makes the scan fail, a
galloping search finds where reading works again, so one bad page costs only its own rows. Then, where SQLite
could not reach (a damaged interior page hides every leaf beneath it; a damaged first page hides the whole file),
``pagescan`` reads the leaf pages directly and picks out our rows by their shape. The indexes, read apart from
their tables, say which messages and chats existed. ``rebuild`` turns all that into the new file and the counts.

The damaged file is only ever read. Reading stops at a deadline, so a huge file cannot hold up the start for
long; the notice then says the salvage was cut short. The search index is rebuilt when the store opens the file.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from app.store import schema
from app.store.attachments import AttachmentFolder
from app.store.models import ATTACHMENT_KINDS, ROLES, STATUSES
from app.store.pagescan import PageFile, Record, Value
from app.store.rebuild import (
    ATTACHMENT_COLUMNS,
    CONVERSATION_COLUMNS,
    MAX_ROWID,
    MESSAGE_COLUMNS,
    MIN_ROWID,
    OPTIONAL_COLUMNS,
    TABLES,
    Found,
    Plan,
    Row,
    SalvageReport,
    write,
)

#: How long a salvage may read before it writes what it has.
TIME_LIMIT_S = 30.0


def salvage(
    source: Path, destination: Path, attachments: AttachmentFolder, *, time_limit_s: float = TIME_LIMIT_S
) -> SalvageReport:
    """Read what ``source`` still holds and write it as a new database at ``destination`` (which must not exist).

    ``source`` is opened read-only and left exactly as it is. Raises StoreError only when the new file cannot be
    written (disk full, read-only folder).
    """
    started = time.monotonic()
    clock = _Clock(started + time_limit_s)
    found = Found()
    _read_with_sqlite(source, found, clock)
    if found.needs_page_scan() and not clock.out():
        _read_pages(source, found, clock)
    plan = Plan.make(found, attachments)
    write(plan, destination)
    report = plan.report()
    report.counted = found.counted
    report.out_of_time = clock.expired
    report.seconds = time.monotonic() - started
    return report


# --- reading ---------------------------------------------------------------------------------------------


class _Clock:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False

    def out(self) -> bool:
        if not self.expired and time.monotonic() > self.deadline:
            self.expired = True
        return self.expired


def _read_with_sqlite(source: Path, found: Found, clock: _Clock) -> None:
    try:
        db = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return
    try:
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            return  # not a database any more, or its schema is gone: the page scan has to do
        for table, columns in TABLES.items():
            if clock.out():
                return
            rows, unreadable = _scan_table(db, table, columns, clock)
            found.rows[table].update(rows)
            found.unreadable[table] = unreadable
        _gather_evidence(db, found, clock)
    finally:
        db.close()


def _scan_table(
    db: sqlite3.Connection, table: str, columns: tuple[str, ...], clock: _Clock
) -> tuple[dict[int, Row], list[tuple[int, int]]]:
    """Every readable row in rowid order, stepping over what fails; returns the rows and the unreadable ranges."""
    rows: dict[int, Row] = {}
    unreadable: list[tuple[int, int]] = []
    present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    wanted = [c if c in present else OPTIONAL_COLUMNS.get(c, c) for c in columns[1:]]  # an older file's rows
    select = f"SELECT rowid, {', '.join(wanted)} FROM {table} NOT INDEXED WHERE rowid >= ? ORDER BY rowid"
    start = MIN_ROWID
    while True:
        try:
            for n, row in enumerate(db.execute(select, (start,))):
                rows[row[0]] = row
                start = row[0] + 1
                if n % 256 == 0 and clock.out():
                    unreadable.append((start, MAX_ROWID))
                    return rows, unreadable
            return rows, unreadable
        except sqlite3.DatabaseError as error:
            if not _is_damage(error):
                return {}, [(MIN_ROWID, MAX_ROWID)]  # e.g. no such table: leave it all to the page scan
        resume = _next_readable(db, select, start, clock)
        unreadable.append((start, (MAX_ROWID + 1 if resume is None else resume) - 1))
        if resume is None:
            return rows, unreadable
        start = resume


def _next_readable(db: sqlite3.Connection, select: str, failed: int, clock: _Clock) -> int | None:
    """The first rowid above ``failed`` from which reading works again (galloping, then bisecting), or None.

    Reading "from x" works when the first row at or after x can be read, so the answer lies past every row that
    fails and before the next one that does not; an island of good rows between two bad pages may be skipped
    (the page scan finds those).
    """

    def works(rowid: int) -> bool:
        try:
            db.execute(select + " LIMIT 1", (rowid,)).fetchall()
        except sqlite3.DatabaseError:
            return False
        return True

    bad, step = failed, 1
    while True:
        if clock.out():
            return None
        probe = min(bad + step, MAX_ROWID)
        if works(probe):
            break
        if probe == MAX_ROWID:
            return None
        bad, step = probe, step * 2
    good = probe
    while good - bad > 1 and not clock.out():
        middle = (bad + good) // 2
        bad, good = (bad, middle) if works(middle) else (middle, good)
    return good


def _is_damage(error: sqlite3.DatabaseError) -> bool:
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    return code in (11, 26, 10) or "malformed" in str(error)  # CORRUPT, NOTADB, IOERR


def _gather_evidence(db: sqlite3.Connection, found: Found, clock: _Clock) -> None:
    """Which messages, chats and attachments existed, from the indexes (each readable apart from the table)."""
    links, complete = _rows(
        db, "SELECT id, conversation_id, parent_id FROM messages INDEXED BY messages_by_conversation", clock
    )
    for mid, cid, parent in links:
        found.message_ids.add(mid)
        found.message_links[mid] = (cid, parent)
    by_parent, also_complete = _rows(db, "SELECT id FROM messages INDEXED BY messages_by_parent", clock)
    found.message_ids.update(mid for (mid,) in by_parent)
    found.counted = complete or also_complete
    state, _ = _rows(db, "SELECT value FROM store_meta WHERE key = 'search_index'", clock)
    if state == [(schema.INDEX_FORMAT,)]:  # an up-to-date search index holds every finished message
        indexed, _ = _rows(db, "SELECT id FROM message_fts_docsize", clock)
        found.message_ids.update(mid for (mid,) in indexed)
    chats, _ = _rows(db, "SELECT id, deleted_at FROM conversations INDEXED BY conversations_by_time", clock)
    for cid, deleted_at in chats:
        found.conversation_ids.add(cid)
        found.deleted[cid] = deleted_at
    owners, _ = _rows(db, "SELECT id, message_id FROM attachments INDEXED BY attachments_by_message", clock)
    found.attachment_owner.update(owners)


def _rows(db: sqlite3.Connection, query: str, clock: _Clock) -> tuple[list[Row], bool]:
    """The rows of a query until it fails or time runs out, and whether it got them all."""
    rows: list[Row] = []
    try:
        for row in db.execute(query):
            rows.append(row)
            if len(rows) % 256 == 0 and clock.out():
                return rows, False
    except sqlite3.DatabaseError:
        return rows, False
    return rows, True


def _read_pages(source: Path, found: Found, clock: _Clock) -> None:
    """Rows from the leaf pages that SQLite could not reach (or all of them, when SQLite read nothing)."""
    try:
        pages = PageFile(source)
    except (OSError, ValueError):
        return
    try:
        free = pages.freelist()  # deleted rows linger in free pages: never bring those back
        for record in pages.table_records(columns=_SHAPE_COLUMNS, skip=free, stop=clock.out):
            _take(record, found)
    except (OSError, ValueError):
        return
    finally:
        pages.close()


def _take(record: Record, found: Found) -> None:
    for table, fits in _SHAPES.items():
        row = fits(record)
        if row is None:
            continue
        if not found.could_not_read(table, record.rowid):
            return  # SQLite read that stretch: a row it did not see there was deleted
        rows = found.rows[table]
        if record.rowid in rows and not _newer(table, row, record.complete, rows[record.rowid], found):
            return
        rows[record.rowid] = row
        if table == "messages":
            if record.complete:
                found.partial.discard(record.rowid)
            else:
                found.partial.add(record.rowid)
        return


def _newer(table: str, row: Row, complete: bool, other: Row, found: Found) -> bool:
    """Whether a second copy of a row beats the first: whole beats cut short, then the later ``updated_at``
    (an old copy can linger in a page SQLite no longer uses)."""
    if complete == (row[0] in found.partial):
        return complete
    updated = _UPDATED_AT.get(table)
    if updated is None:
        return False
    mine, theirs = row[updated], other[updated]
    return isinstance(mine, int | float) and (not isinstance(theirs, int | float) or mine > theirs)


# --- telling our rows apart by their shape (what the page scan found) --------------------------------------


def _conversation_shape(record: Record) -> Row | None:
    v = record.values
    if record.complete and len(v) == len(CONVERSATION_COLUMNS) - 2:  # a row from before pins and title authors
        v = (*v, 0, None)
    if not record.complete or len(v) != len(CONVERSATION_COLUMNS):
        return None
    if v[9] not in (0, 1) or not _opt(v[10], str):
        return None
    if not (_is_id(v[0], record.rowid) and isinstance(v[1], str) and _num(v[2]) and _num(v[3])):
        return None
    if not (_opt(v[4], str) and v[5] in (0, 1) and isinstance(v[6], str) and _opt(v[7], int) and _optnum(v[8])):
        return None
    return (record.rowid, *v[1:])


def _message_shape(record: Record) -> Row | None:
    """A message; one cut short keeps its place in the tree and as much of its text as was readable."""
    v = record.values
    if len(v) < 4 or not (_is_id(v[0], record.rowid) and isinstance(v[1], int) and _opt(v[2], int)):
        return None
    if v[3] not in ROLES:
        return None
    if len(v) == len(MESSAGE_COLUMNS) - 1:  # a row from before tool steps, or one cut short in them
        v = (*v, "[]")
    if record.complete or len(v) == len(MESSAGE_COLUMNS):
        if len(v) != len(MESSAGE_COLUMNS) or not (isinstance(v[4], str) and isinstance(v[5], str)):
            return None
        if not (_optnum(v[6]) and v[7] in STATUSES and _num(v[11]) and _num(v[12]) and isinstance(v[13], str)):
            return None
        return (record.rowid, *v[1:])
    text = v[4] if len(v) > 4 else record.cut
    if not isinstance(text, str):
        return None
    return (record.rowid, v[1], v[2], v[3], text, "", None, "stopped", None, None, None, None, None, "[]")


def _attachment_shape(record: Record) -> Row | None:
    v = record.values
    if record.complete and len(v) == len(ATTACHMENT_COLUMNS) - 1:  # a row from before page choices
        v = (*v, "{}")
    if not record.complete or len(v) != len(ATTACHMENT_COLUMNS) or not _is_id(v[0], record.rowid):
        return None
    if not isinstance(v[9], str):
        return None
    if not (isinstance(v[1], int) and isinstance(v[2], str) and len(v[2]) == 64 and isinstance(v[3], str)):
        return None
    if not (v[4] in ATTACHMENT_KINDS and isinstance(v[5], str) and isinstance(v[6], str)):
        return None
    if not (isinstance(v[7], int) and isinstance(v[8], int)):
        return None
    return (record.rowid, *v[1:])


_SHAPES: dict[str, Callable[[Record], Row | None]] = {
    "messages": _message_shape,
    "conversations": _conversation_shape,
    "attachments": _attachment_shape,
}
_SHAPE_COLUMNS = frozenset(
    {
        *(len(columns) for columns in TABLES.values()),
        len(ATTACHMENT_COLUMNS) - 1,
        len(MESSAGE_COLUMNS) - 1,
        len(CONVERSATION_COLUMNS) - 2,
    }
)
_UPDATED_AT = {
    "messages": MESSAGE_COLUMNS.index("updated_at"),
    "conversations": CONVERSATION_COLUMNS.index("updated_at"),
}


def _is_id(value: Value, rowid: int) -> bool:
    return value is None or value == rowid  # an INTEGER PRIMARY KEY is stored as NULL: the rowid is the value


def _num(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _optnum(value: Value) -> bool:
    return value is None or _num(value)


def _opt(value: Value, kind: type) -> bool:
    return value is None or isinstance(value, kind)


# --- what goes into the new file ---------------------------------------------------------------------------
