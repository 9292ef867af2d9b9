"""Repairing, in place, a chat database damaged only in what can be rebuilt: its indexes and its search index.

Every index and the full-text search index are derived from the rows. When each row of each table still reads
back whole, nothing the user made is damaged, so the file is mended rather than set aside: the derived objects
are taken out of the schema (``PRAGMA writable_schema``, because dropping them normally would read their damaged
pages), ``VACUUM`` copies the rows into clean pages, leaving the damaged ones behind, and the indexes are created
again (``schema.ensure_indexes``; the store rebuilds the search index when it opens the file).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from app.store import schema
from app.store.models import StoreError

log = logging.getLogger(__name__)

_FTS = "message_fts"
_INDEXES = "(type = 'index' AND sql IS NOT NULL) OR name LIKE 'sqlite\\_stat%' ESCAPE '\\'"
_SEARCH_INDEX = f"name = '{_FTS}' OR name LIKE '{_FTS}\\_%' ESCAPE '\\'"
_DERIVED = f"{_INDEXES} OR {_SEARCH_INDEX}"


@dataclass(frozen=True)
class Repaired:
    """What an in-place repair kept (chats the user deleted are not counted)."""

    chats: int
    messages: int
    search_index: bool  # the damage was (at least partly) in the search index

    def notice(self) -> str:
        what = "its search index; it was" if self.search_index else "its indexes; they were"
        chats = f"{self.chats} chat{'' if self.chats == 1 else 's'}"
        messages = f"{self.messages} message{'' if self.messages == 1 else 's'}"
        return f"The chat database was damaged only in {what} rebuilt, and all {chats} and {messages} were kept."


def repair_indexes(path: Path) -> Repaired | None:
    """Rebuild every index of a database whose rows all read back whole; None when the damage lies elsewhere.

    The file is left untouched unless every row was read first; should the repair itself then fail, the rows are
    still all there (what a later salvage reads) and None is returned.
    """
    checked = _rows_intact(path)
    if checked is None:
        return None
    try:
        _drop_derived(path, search_index=checked.search_index)
        db = schema.connect(path)
        try:
            db.execute("VACUUM")
            schema.ensure_indexes(db)
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
        finally:
            db.close()
    except (sqlite3.Error, StoreError) as error:
        log.warning("rebuilding the indexes of %s failed: %s", path, error)
        return None
    if problems != ["ok"]:
        log.warning("%s still fails its check after rebuilding its indexes: %s", path, problems[:3])
        return None
    return checked


def _rows_intact(path: Path) -> Repaired | None:
    """Read every row of every table that holds the user's data (no index used); counts, or None on any error."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return None
    try:
        version = schema.user_version(db)
        if not 0 < version <= schema.SCHEMA_VERSION:
            return None
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND rootpage > 0 "
                f"AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND NOT ({_DERIVED})"
            )
        ]
        for table in tables:
            for _row in db.execute(f'SELECT * FROM "{table}" NOT INDEXED'):
                pass
        chats = db.execute("SELECT count(*) FROM conversations NOT INDEXED WHERE deleted_at IS NULL").fetchone()[0]
        messages = db.execute(
            "SELECT count(*) FROM messages NOT INDEXED WHERE conversation_id IN "
            "(SELECT id FROM conversations NOT INDEXED WHERE deleted_at IS NULL)"
        ).fetchone()[0]
    except sqlite3.Error:
        return None
    else:
        return Repaired(int(chats), int(messages), search_index=not _search_index_readable(db))
    finally:
        db.close()


def _search_index_readable(db: sqlite3.Connection) -> bool:
    try:
        shadows = [
            name
            for (name,) in db.execute(
                f"SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '{_FTS}\\_%' ESCAPE '\\'"
            )
        ]
        for name in shadows:
            for _row in db.execute(f'SELECT * FROM "{name}"'):
                pass
    except sqlite3.Error:
        return False
    return True


def _drop_derived(path: Path, *, search_index: bool) -> None:
    """Take every index and SQLite's statistics out of the schema, and the search index when it is damaged
    (rebuilding it takes longest), in one transaction."""
    db = schema.connect(path)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("PRAGMA writable_schema = ON")
            db.execute(f"DELETE FROM sqlite_master WHERE {_DERIVED if search_index else _INDEXES}")
            db.execute("PRAGMA writable_schema = OFF")
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
    finally:
        db.close()
