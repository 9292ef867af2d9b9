"""Search: finding conversations by the words in their title or messages, and keeping the FTS5 index in step.

Each word must appear (case-folded) in the title or in one of the messages. With the FTS5 trigram
index, words long enough for it are looked up there first; without it, or for short words, the messages are
scanned. A message enters the index when it is no longer streaming.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from app.store import schema
from app.store.models import ConversationSummary


def find_conversations(db: sqlite3.Connection, search: str, *, indexed: bool) -> list[ConversationSummary]:
    """Pinned ones first, then newest first, without deleted ones; ``search`` keeps those whose title or messages
    hold every word."""
    where, params = ["c.deleted_at IS NULL"], []
    for term in schema.search_terms(search):
        in_messages = "SELECT conversation_id FROM messages WHERE instr(gd_fold(content), ?) > 0"
        if indexed and len(term) >= schema.MIN_INDEXED_TERM:
            in_messages += " AND id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ?)"
            params += [term, term, schema.fts_query(term)]
        else:
            params += [term, term]
        where.append(f"(instr(gd_fold(c.title), ?) > 0 OR c.id IN ({in_messages}))")
    rows = db.execute(
        f"SELECT c.id, c.title, c.created_at, c.updated_at, c.pinned FROM conversations c "
        f"WHERE {' AND '.join(where)} ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC",
        params,
    ).fetchall()
    return [
        ConversationSummary(cid, title, created, updated, bool(pinned)) for cid, title, created, updated, pinned in rows
    ]


def index_text(db: sqlite3.Connection, message_id: int, content: str) -> None:
    """Add a new message's text to the index."""
    db.execute("INSERT INTO message_fts(rowid, content) VALUES (?, ?)", (message_id, content))


def index_stored(db: sqlite3.Connection, message_ids: Sequence[int]) -> None:
    """Add messages to the index with the text they have in the database now."""
    db.executemany(
        "INSERT INTO message_fts(rowid, content) SELECT id, content FROM messages WHERE id = ?",
        [(i,) for i in message_ids],
    )


def unindex(db: sqlite3.Connection, message_id: int) -> None:
    db.execute("DELETE FROM message_fts WHERE rowid = ?", (message_id,))


def unindex_conversations(db: sqlite3.Connection, ids_query: str, params: Sequence[object]) -> None:
    """Drop from the index the messages of the conversations ``ids_query`` selects."""
    db.execute(
        f"DELETE FROM message_fts WHERE rowid IN (SELECT id FROM messages WHERE conversation_id IN ({ids_query}))",
        params,
    )
