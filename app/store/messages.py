"""Messages: adding one (a new branch when it has siblings), reading them back, and updating a streaming answer."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from app.store.connection import StoreConnection, locked
from app.store.conversations import conversation_title
from app.store.models import (
    ATTACHMENT_KINDS,
    DEFAULT_TITLE,
    ROLES,
    STATUSES,
    AttachmentRef,
    Message,
    NotFound,
    Role,
    Status,
    StoreError,
    auto_title,
)
from app.store.rows import MESSAGE_COLUMNS, dump_json, dump_tools, message_from_row, placed, stored_choice
from app.store.search import index_stored, index_text, unindex

_CHUNK = 500  # ids per IN (...) query


class MessagesMixin(StoreConnection):
    """The ``Store``'s message methods."""

    @locked
    def add_message(
        self,
        conversation_id: int,
        *,
        parent_id: int | None,
        role: Role,
        content: str = "",
        thinking: str = "",
        status: Status = "complete",
        attachments: Sequence[AttachmentRef] = (),
        model: str | None = None,
    ) -> Message:
        """Add a message under ``parent_id`` (None: a first message) and make it the conversation's active leaf.

        Regenerating is a new assistant message with the old one's parent; editing is a new user message with
        the edited one's parent. The first user message names a "New chat".
        """
        if role not in ROLES:
            raise StoreError(f"Unknown message role {role!r}.")
        if status not in STATUSES:
            raise StoreError(f"Unknown message status {status!r}.")
        _check_kinds(attachments)
        now = time.time()
        with self._write() as db:
            title = conversation_title(db, conversation_id)
            if parent_id is not None:
                owner = db.execute("SELECT conversation_id FROM messages WHERE id = ?", (parent_id,)).fetchone()
                if owner is None or owner[0] != conversation_id:
                    raise NotFound("The message this one answers is not in this conversation.")
            cursor = db.execute(
                "INSERT INTO messages(conversation_id, parent_id, role, content, thinking, status, model, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, parent_id, role, content, thinking, status, model, now, now),
            )
            message_id = cast(int, cursor.lastrowid)
            _insert_attachments(db, message_id, attachments, first=0)
            if self._fts and status != "streaming":
                index_text(db, message_id, content)
            if title == DEFAULT_TITLE and role == "user":
                title = auto_title(content) or title
            db.execute(
                "UPDATE conversations SET leaf_id = ?, updated_at = ?, title = ? WHERE id = ?",
                (message_id, now, title, conversation_id),
            )
        return with_siblings(self._db, read_messages(self._db, [message_id]))[0]

    @locked
    def get_message(self, message_id: int) -> Message:
        found = read_messages(self._db, [message_id])
        if not found:
            raise NotFound("That message no longer exists.")
        return with_siblings(self._db, found)[0]

    @locked
    def add_attachments(self, message_id: int, refs: Sequence[AttachmentRef]) -> None:
        """Append files (refs from ``store_attachment_file``) to an existing message, after the ones it has.

        Used for the pictures a tool returned, which belong to the answer that called it.
        """
        _check_kinds(refs)
        with self._write() as db:
            if not db.execute(
                "UPDATE messages SET updated_at = ? WHERE id = ? RETURNING id", (time.time(), message_id)
            ).fetchall():
                raise NotFound("That message no longer exists.")
            last = db.execute("SELECT max(position) FROM attachments WHERE message_id = ?", (message_id,)).fetchone()
            _insert_attachments(db, message_id, refs, first=0 if last[0] is None else last[0] + 1)

    @locked
    def update_message(
        self,
        message_id: int,
        *,
        content: str | None = None,
        thinking: str | None = None,
        thinking_seconds: float | None = None,
        status: Status | None = None,
        error: str | None = None,
        stats: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Change the given fields (None: leave as is) and commit: cheap enough to call per streamed token batch.

        ``tools`` replaces the answer's tool steps (JSON objects the store keeps as they are).

        The search index is touched only when the message is not streaming, so a stream costs one UPDATE a call.
        """
        if status is not None and status not in STATUSES:
            raise StoreError(f"Unknown message status {status!r}.")
        now = time.time()
        fields: dict[str, object] = {
            "content": content,
            "thinking": thinking,
            "thinking_seconds": thinking_seconds,
            "status": status,
            "error": error,
            "stats_json": None if stats is None else dump_json(stats),
            "tools_json": None if tools is None else dump_tools(tools),
        }
        changes = {name: value for name, value in fields.items() if value is not None}
        assignments = "".join(f"{name} = ?, " for name in changes)
        with self._write() as db:
            rows = db.execute(
                f"UPDATE messages SET {assignments}updated_at = ? WHERE id = ? RETURNING conversation_id, status",
                (*changes.values(), now, message_id),
            ).fetchall()
            if not rows:
                raise NotFound("That message no longer exists.")
            conversation_id, current = rows[0]
            if self._fts and (content is not None or status is not None):
                unindex(db, message_id)
                if current != "streaming":
                    index_stored(db, [message_id])
            if status is not None:
                db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    @locked
    def recover_interrupted(self) -> int:
        """At start-up: answers left 'streaming' by a killed app become 'stopped', keeping their text."""
        with self._write() as db:
            ids = [
                row[0]
                for row in db.execute(
                    "UPDATE messages SET status = 'stopped', updated_at = ? WHERE status = 'streaming' RETURNING id",
                    (time.time(),),
                ).fetchall()
            ]
            if self._fts:
                index_stored(db, ids)
        return len(ids)


def _check_kinds(refs: Sequence[AttachmentRef]) -> None:
    for ref in refs:
        if ref.kind not in ATTACHMENT_KINDS:
            raise StoreError(f"Unknown attachment kind {ref.kind!r}.")


def _insert_attachments(db: sqlite3.Connection, message_id: int, refs: Sequence[AttachmentRef], *, first: int) -> None:
    """Attachment rows for a message, at positions ``first``, ``first + 1``, …"""
    db.executemany(
        "INSERT INTO attachments(message_id, sha256, ext, kind, name, mime, size, position, choice_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (message_id, a.sha256, a.ext, a.kind, a.name, a.mime, a.size, first + i, a.choice or "{}")
            for i, a in enumerate(refs)
        ],
    )


def read_messages(db: sqlite3.Connection, ids: Sequence[int]) -> list[Message]:
    """Full messages with their attachments, in id order."""
    rows: list[tuple[Any, ...]] = []
    refs: dict[int, list[AttachmentRef]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start : start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        rows += db.execute(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id IN ({marks})", chunk)
        for message_id, sha, ext, kind, name, mime, size, choice in db.execute(
            "SELECT message_id, sha256, ext, kind, name, mime, size, choice_json FROM attachments "
            f"WHERE message_id IN ({marks}) ORDER BY message_id, position",
            chunk,
        ):
            ref = AttachmentRef(sha, kind, name, mime, size, ext, stored_choice(choice))
            refs.setdefault(message_id, []).append(ref)
    rows.sort(key=lambda row: cast(int, row[0]))
    return [message_from_row(row, tuple(refs.get(row[0], ()))) for row in rows]


def with_siblings(db: sqlite3.Connection, messages: list[Message]) -> list[Message]:
    """Messages with their place among their alternatives (one small indexed query each)."""
    out = []
    for message in messages:
        siblings = [
            row[0]
            for row in db.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? AND role = ? ORDER BY id",
                (message.conversation_id, message.parent_id, message.role),
            )
        ]
        out.append(placed(message, siblings.index(message.id) + 1, len(siblings)))
    return out
