"""Turning salvaged rows into a new chat database, and counting what was lost.

Each field is made fit for the schema (or given a plain default); a message whose parent was lost hangs from its
nearest surviving ancestor, and a chat whose own row was lost is rebuilt around its messages, titled after its
first question. Attachment rows are kept where their file is still in the attachments folder. The indexes and the
rows' own references tell which messages existed, so the report can say exactly how many were lost.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.store import schema
from app.store.attachments import AttachmentFolder
from app.store.models import (
    ATTACHMENT_KINDS,
    DEFAULT_TITLE,
    ROLES,
    STATUSES,
    AttachmentRef,
    StoreError,
    auto_title,
)
from app.store.rows import stored_choice

#: The columns of the tables worth saving, as ``SCHEMA_VERSION`` has them (the first is the rowid).
CONVERSATION_COLUMNS = (
    "id", "title", "created_at", "updated_at", "system_prompt", "thinking", "settings_json", "leaf_id", "deleted_at",
    "pinned", "title_by",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "conversation_id", "parent_id", "role", "content", "thinking", "thinking_seconds", "status", "error",
    "stats_json", "model", "created_at", "updated_at", "tools_json",
)  # fmt: skip
ATTACHMENT_COLUMNS = ("id", "message_id", "sha256", "ext", "kind", "name", "mime", "size", "position", "choice_json")
#: Columns a database of an older version may lack, and what such rows read as.
OPTIONAL_COLUMNS = {"choice_json": "'{}'", "tools_json": "'[]'", "pinned": "0", "title_by": "NULL"}
#: Who wrote a title, as the store keeps it (see ``Conversation.title_by``).
TITLE_BY = ("words", "model", "user")
TABLES = {"conversations": CONVERSATION_COLUMNS, "messages": MESSAGE_COLUMNS, "attachments": ATTACHMENT_COLUMNS}

#: Appended to a message whose text could be read only in part.
CUT_MARK = "\n\n[The rest of this message could not be recovered.]"

MIN_ROWID, MAX_ROWID = -(1 << 63), (1 << 63) - 1
_SHA_CHARS = frozenset("0123456789abcdef")

Row = tuple[Any, ...]


@dataclass
class Found:
    """Rows by table and rowid, the rowid ranges SQLite could not read, and evidence of rows that existed."""

    rows: dict[str, dict[int, Row]] = field(default_factory=lambda: {t: {} for t in TABLES})
    partial: set[int] = field(default_factory=set)  # message ids whose text was cut short
    unreadable: dict[str, list[tuple[int, int]]] = field(
        default_factory=lambda: {t: [(MIN_ROWID, MAX_ROWID)] for t in TABLES}
    )
    message_ids: set[int] = field(default_factory=set)  # messages that existed, whatever their fate
    message_links: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # id: (conversation, parent)
    conversation_ids: set[int] = field(default_factory=set)
    deleted: dict[int, float | None] = field(default_factory=dict)  # conversation id: deleted_at, from the index
    attachment_owner: dict[int, int] = field(default_factory=dict)  # attachment id: message id, from the index
    counted: bool = False  # every message id was listed by an index

    def needs_page_scan(self) -> bool:
        return any(self.unreadable.values())

    def could_not_read(self, table: str, rowid: int) -> bool:
        return any(low <= rowid <= high for low, high in self.unreadable[table])


@dataclass
class SalvageReport:
    """What a salvage recovered and what it knows it lost. Counts leave out chats the user had deleted."""

    chats: int = 0
    messages: int = 0
    partial: int = 0  # messages recovered only in part (counted in ``messages`` too)
    untitled: int = 0  # chats whose own row was lost: rebuilt around their messages (counted in ``chats`` too)
    lost_chats: int = 0
    lost_messages: int = 0
    lost_attachments: int = 0  # rows of recovered messages' attachments that could not be read
    missing_files: int = 0  # attachments left out because their file is gone from the attachments folder
    counted: bool = True  # False: the file's indexes were unreadable too, so what was lost cannot be counted
    out_of_time: bool = False
    seconds: float = 0.0

    def notice(self, kept: Path) -> str:
        """The notice for the user: what came back, what is known to be lost, where the damaged file is."""
        recovered = self.chats or self.messages
        if not (recovered or self.lost_chats or self.lost_messages or self.out_of_time):
            return f"Your chat database could not be read; a copy was kept at {kept}."
        if recovered:
            untitled = f" ({self.untitled} without {'its' if self.untitled == 1 else 'their'} title and settings)"
            partial = f" ({self.partial} only in part)" if self.partial else ""
            text = (
                f"Recovered {_count(self.chats, 'chat')}{untitled if self.untitled else ''} "
                f"and {_count(self.messages, 'message')}{partial}"
            )
        else:
            text = "Nothing could be recovered"
        counts = ((self.lost_chats, "chat"), (self.lost_messages, "message"), (self.lost_attachments, "attachment"))
        lost = [_count(n, word) for n, word in counts if n]
        if lost:
            text += f"; {_join(lost)} could not be read"
        if recovered and not self.out_of_time:
            if not self.counted:
                text += "; what else it held is unknown, so some chats may be missing"
            elif not lost:
                text += f", and nothing {'else ' if self.partial else ''}is known to be missing"
        text = f"The chat database was damaged. {text}."
        if self.missing_files:
            files = "its file is" if self.missing_files == 1 else "their files are"
            text += (
                f" {_count(self.missing_files, 'attachment')} left out: {files} no longer in the attachments folder."
            )
        text += f" The damaged file was kept as {kept}."
        if self.out_of_time:
            text += f" The salvage stopped after {self.seconds:.0f} seconds, so more may be missing."
        return text


# --- what goes into the new file ---------------------------------------------------------------------------


@dataclass
class Plan:
    conversations: dict[int, list[Any]]
    messages: dict[int, list[Any]]
    attachments: list[Row]
    partial: set[int]
    untitled: set[int]
    lost_messages: set[int]
    lost_chats: set[int]
    lost_attachments: int
    missing_files: int

    @classmethod
    def make(cls, found: Found, files: AttachmentFolder) -> Plan:
        now = time.time()
        messages = {mid: m for mid, row in found.rows["messages"].items() if (m := _clean_message(row)) is not None}
        conversations = {
            cid: c for cid, row in found.rows["conversations"].items() if (c := _clean_conversation(row, now))
        }
        untitled = {m[1] for m in messages.values()} - set(conversations)
        for cid in untitled:  # a chat lost, its messages not: rebuilt around them
            conversations[cid] = _stand_in(cid, messages.values(), found.deleted.get(cid), now)
        parents = {mid: parent for mid, (_cid, parent) in found.message_links.items()}
        for mid, message in messages.items():
            parents[mid] = message[2]
        for mid in sorted(messages):
            message = messages[mid]
            message[2] = _nearest_kept(message[2], mid, message[1], messages, parents)
            if message[11] is None:  # a message cut short lost its times: borrow its parent's
                parent = messages.get(message[2]) if message[2] is not None else None
                message[11] = message[12] = parent[12] if parent else conversations[message[1]][2]
        for cid, conversation in conversations.items():
            conversation[7] = _nearest_kept(conversation[7], None, cid, messages, parents)
        attachments, unread, missing = _attachments(found, messages, files)

        existed = found.message_ids | set(found.rows["messages"]) | set(found.attachment_owner.values())
        existed |= {p for p in parents.values() if isinstance(p, int)}
        existed |= {c[7] for c in found.rows["conversations"].values() if isinstance(c[7], int)}
        deleted_chat = {cid for cid, at in found.deleted.items() if at is not None}
        lost_messages = {
            mid for mid in existed - set(messages) if found.message_links.get(mid, (None, None))[0] not in deleted_chat
        }
        chats_existed = found.conversation_ids | {cid for cid, _p in found.message_links.values()}
        lost_chats = chats_existed - set(conversations) - deleted_chat
        partial = found.partial & set(messages)
        for mid in partial:
            messages[mid][4] += CUT_MARK
        return cls(conversations, messages, attachments, partial, untitled, lost_messages, lost_chats, unread, missing)

    def report(self) -> SalvageReport:
        visible = {cid for cid, c in self.conversations.items() if c[8] is None}
        shown = [mid for mid, m in self.messages.items() if m[1] in visible]
        return SalvageReport(
            chats=len(visible),
            messages=len(shown),
            partial=len(self.partial & set(shown)),
            untitled=len(self.untitled & visible),
            lost_chats=len(self.lost_chats),
            lost_messages=len(self.lost_messages),
            lost_attachments=self.lost_attachments,
            missing_files=self.missing_files,
        )


def _nearest_kept(
    start: int | None, child: int | None, cid: int, messages: dict[int, list[Any]], parents: dict[int, int | None]
) -> int | None:
    """``start`` if it was recovered (in the same chat, older than ``child``), else its nearest such ancestor."""
    seen: set[int] = set()
    node = start
    while node is not None and node not in seen:
        seen.add(node)
        kept = messages.get(node)
        if kept is not None and kept[1] == cid and (child is None or node < child):
            return node
        node = parents.get(node)
    return None


def _attachments(found: Found, messages: dict[int, list[Any]], files: AttachmentFolder) -> tuple[list[Row], int, int]:
    """The attachment rows to keep (message recovered, file still there); how many of the recovered messages'
    attachment rows could not be read; how many were left out for want of their file."""
    kept: list[Row] = []
    missing = 0
    rows = found.rows["attachments"]
    for aid in sorted(rows):
        aid, mid, sha, ext, kind, name, mime, size, position, choice = rows[aid]
        if mid not in messages:
            continue
        ref = AttachmentRef(str(sha), kind, str(name), str(mime), int(size or 0), str(ext or ""), stored_choice(choice))
        if not _file_present(files, ref):
            missing += 1
            continue
        row = (aid, mid, ref.sha256, ref.ext, ref.kind, ref.name, ref.mime, ref.size, int(position or 0))
        kept.append((*row, ref.choice or "{}"))
    unread = {aid for aid, mid in found.attachment_owner.items() if mid in messages and aid not in rows}
    return kept, len(unread), missing


def _file_present(files: AttachmentFolder, ref: AttachmentRef) -> bool:
    if ref.kind not in ATTACHMENT_KINDS or len(ref.sha256) != 64 or not set(ref.sha256) <= _SHA_CHARS:
        return False
    try:
        return files.path(ref).is_file()
    except (StoreError, OSError):
        return False


def _clean_message(row: Row) -> list[Any] | None:
    """A message row made fit for the schema, field by field; None when it cannot be placed (no chat or role)."""
    mid, cid, parent, role, content, thinking, seconds, status, error, stats, model, created, updated, tools = row
    if not isinstance(mid, int) or not isinstance(cid, int) or role not in ROLES:
        return None
    return [
        mid,
        cid,
        parent if isinstance(parent, int) else None,
        role,
        _text(content) or "",
        _text(thinking) or "",
        _real(seconds),
        status if status in STATUSES else "stopped",
        _text(error),
        stats if isinstance(stats, str) and _json_object(stats) else None,
        _text(model),
        _real(created),
        _real(updated) if _real(updated) is not None else _real(created),
        tools if isinstance(tools, str) and _json_list(tools) else "[]",
    ]


def _clean_conversation(row: Row, now: float) -> list[Any] | None:
    cid, title, created, updated, system_prompt, thinking, settings, leaf_id, deleted_at, pinned, title_by = row
    if not isinstance(cid, int):
        return None
    created_at = _real(created) or now
    title = _text(title) or DEFAULT_TITLE
    if title_by not in TITLE_BY:  # a row from before titles had an author: kept as it is unless still untitled
        title_by = "words" if title == DEFAULT_TITLE else "user"
    return [
        cid,
        title,
        created_at,
        _real(updated) or created_at,
        _text(system_prompt),
        1 if thinking else 0,
        settings if isinstance(settings, str) and _json_object(settings) else "{}",
        leaf_id if isinstance(leaf_id, int) else None,
        _real(deleted_at),
        1 if pinned else 0,
        title_by,
    ]


def _stand_in(cid: int, messages: Iterable[list[Any]], deleted_at: float | None, now: float) -> list[Any]:
    """A chat whose own row was lost but whose messages were not: titled after its first question."""
    own = sorted((m for m in messages if m[1] == cid), key=lambda m: m[0])
    times = [t for m in own for t in (m[11], m[12]) if t is not None]
    first = next((m[4] for m in own if m[3] == "user" and m[4]), "")

    title = auto_title(first) or "Recovered chat"
    return [cid, title, min(times, default=now), max(times, default=now), None, 0, "{}", None, deleted_at, 0, "words"]


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, int | float):
        return str(value)
    return None


def _real(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _json_list(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


def write(plan: Plan, destination: Path) -> None:
    """The plan as a new database: written beside the destination, then renamed into place."""
    temp = destination.with_name(f"{destination.name}.salvage-{os.getpid()}")
    for stale in (temp, Path(f"{temp}-journal")):
        stale.unlink(missing_ok=True)
    db = schema.connect(temp)
    try:
        db.execute("PRAGMA foreign_keys=ON")
        schema.migrate(db)
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            f"INSERT INTO conversations({', '.join(CONVERSATION_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(CONVERSATION_COLUMNS))})",
            [(*c[:7], None, *c[8:]) for _cid, c in sorted(plan.conversations.items())],
        )
        db.executemany(
            f"INSERT INTO messages({', '.join(MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})",
            [(*m[:11], m[11] or 0.0, m[12] or m[11] or 0.0, m[13]) for _mid, m in sorted(plan.messages.items())],
        )
        db.executemany(
            f"INSERT INTO attachments({', '.join(ATTACHMENT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(ATTACHMENT_COLUMNS))})",
            plan.attachments,
        )
        db.executemany(
            "UPDATE conversations SET leaf_id = ? WHERE id = ?",
            [(c[7], cid) for cid, c in plan.conversations.items() if c[7] is not None],
        )
        db.execute("COMMIT")
        db.close()
        os.replace(temp, destination)
    except (sqlite3.Error, OSError) as error:
        db.close()
        temp.unlink(missing_ok=True)
        raise schema.translate(error, destination) from None


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
