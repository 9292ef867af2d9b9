"""The chat store: conversations and their message trees in one SQLite file, plus the attachments folder.

One ``Store`` owns one connection. The app calls it from a single thread (``app.ui.tasks.run_on_db``); a lock
guards it anyway. Every write commits at once (WAL, ``synchronous=NORMAL``), so a partial answer survives the app
being killed. Every failure is a ``StoreError`` whose text can be shown as it is.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from app import paths
from app.store import export, repair, salvage, schema
from app.store.attachments import AttachmentFolder
from app.store.models import (
    ATTACHMENT_KINDS,
    DEFAULT_TITLE,
    ROLES,
    STATUSES,
    AttachmentKind,
    AttachmentRef,
    Conversation,
    ConversationSummary,
    CorruptDatabase,
    Message,
    NotFound,
    Role,
    SchemaTooNew,
    Status,
    StoreError,
    auto_title,
)

__all__ = ["Store", "auto_title", "set_aside"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

DB_NAME = "chats.sqlite3"

_MESSAGE_COLUMNS = (
    "id, conversation_id, parent_id, role, content, thinking, thinking_seconds, status, error, stats_json, model, "
    "created_at, updated_at"
)
_CONVERSATION_COLUMNS = "id, title, created_at, updated_at, system_prompt, thinking, settings_json, leaf_id, deleted_at"
_CHUNK = 500  # ids per IN (...) query


def default_path() -> Path:
    """``<data dir>/chats.sqlite3``."""
    return paths.data_dir() / DB_NAME


def _locked(fn: Callable[Concatenate[Store, P], T]) -> Callable[Concatenate[Store, P], T]:
    """Run a method under the store's lock, turning sqlite3 and OS errors into StoreError."""

    @functools.wraps(fn)
    def wrapper(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            if self._closed:
                raise StoreError("The chat database is closed.")
            try:
                return fn(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as error:
                raise schema.translate(error, self.db_path) from None

    return wrapper


class Store:
    """Conversations, their message trees and attachments. Open with ``Store.open`` or ``open_or_recover``."""

    def __init__(self, db: sqlite3.Connection, path: Path, files: AttachmentFolder, *, search_index: bool) -> None:
        self._db = db
        self._lock = threading.RLock()
        self._closed = False
        self._fts = search_index
        self.db_path = path
        self.files = files
        self._stored_now: set[str] = set()  # files stored this session: maybe in a draft, so never purged

    # --- opening and closing -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        attachments_dir: str | os.PathLike[str] | None = None,
        search_index: bool = True,
        check: bool = True,
    ) -> Store:
        """Open or create the database and bring it to the current schema.

        Raises CorruptDatabase (unreadable file), SchemaTooNew (made by a newer app; left untouched) or StoreError.
        ``check`` reads every page once to catch a damaged file now rather than mid-conversation.
        ``search_index`` False searches by scanning instead of with FTS5.
        """
        db_path = Path(path)
        files = Path(attachments_dir) if attachments_dir is not None else db_path.parent / "attachments"
        schema.inspect(db_path, thorough=check)
        db = schema.connect(db_path)
        try:
            schema.configure(db)
            schema.migrate(db)
            schema.ensure_indexes(db)
            fts = schema.prepare_search_index(db, use_fts=search_index)
        except BaseException as error:
            db.close()
            if isinstance(error, sqlite3.Error | OSError):
                raise schema.translate(error, db_path) from None
            raise
        return cls(db, db_path, AttachmentFolder(files), search_index=fts)

    @classmethod
    def open_default(cls) -> Store:
        """The user's own database, ``<data dir>/chats.sqlite3`` (see ``open_or_recover`` for start-up)."""
        return cls.open(default_path())

    @classmethod
    def open_or_recover(
        cls, path: str | os.PathLike[str] | None = None, *, attachments_dir: str | os.PathLike[str] | None = None
    ) -> tuple[Store, str | None]:
        """Open the database whatever state it is in, with a notice for the user when something was repaired,
        salvaged or set aside.

        - Damaged only in its indexes or search index (every row still reads back): repaired in place.
        - Otherwise damaged: the file is renamed to ``chats.corrupt-YYYYmmdd-HHMMSS.sqlite3`` (never overwritten
          nor deleted) and what can still be read from it is salvaged into a fresh database in its place
          (``salvage.salvage``: bounded in time, so a huge file cannot hold up the start for long).
        - Made by a newer Gemma Desk: left exactly as it is, so the newer app still finds it; this version keeps
          its chats beside it in ``chats.v<N>.sqlite3`` (and its own attachments folder).
        """
        db_path = Path(path) if path is not None else default_path()
        files = Path(attachments_dir) if attachments_dir is not None else db_path.parent / "attachments"
        try:
            return cls._open_or_set_aside(db_path, files)
        except SchemaTooNew as error:
            version = schema.SCHEMA_VERSION
            side = db_path.with_name(f"{db_path.stem}.v{version}{db_path.suffix}")
            store, side_notice = cls._open_or_set_aside(side, files.with_name(f"{files.name}.v{version}"))
            notice = (
                f"Your chats in {db_path} were saved by a newer version of Gemma Desk (database version "
                f"{error.found}; this one reads up to {version}). They were left unchanged for that version; "
                f"chats you make now are kept separately in {side}."
            )
            return store, notice + (" " + side_notice if side_notice else "")

    @classmethod
    def _open_or_set_aside(cls, path: Path, files: Path) -> tuple[Store, str | None]:
        try:
            return cls.open(path, attachments_dir=files), None
        except CorruptDatabase as error:
            log.warning("%s", error)
        repaired = repair.repair_indexes(path)
        if repaired is not None:
            with contextlib.suppress(CorruptDatabase):
                return cls.open(path, attachments_dir=files), repaired.notice()
        kept = set_aside(path, "corrupt")
        notice = f"Your chat database could not be read; a copy was kept at {kept}."
        try:
            notice = salvage.salvage(kept, path, AttachmentFolder(files)).notice(kept)
        except StoreError:
            raise  # the new file cannot be written (disk full, read-only folder): neither can a fresh one
        except Exception:  # a bug in the salvage must not keep the app from starting; the damaged file is kept
            log.exception("salvaging %s failed", kept)
        return cls.open(path, attachments_dir=files), notice

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA optimize")
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def search_indexed(self) -> bool:
        """Whether searches use the FTS5 index (False: a plain scan)."""
        return self._fts

    # --- conversations ---------------------------------------------------------------------------------

    @_locked
    def create_conversation(
        self,
        title: str = DEFAULT_TITLE,
        system_prompt: str | None = None,
        thinking: bool = False,
        settings: Mapping[str, Any] | None = None,
    ) -> Conversation:
        now = time.time()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO conversations(title, created_at, updated_at, system_prompt, thinking, settings_json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (title.strip() or DEFAULT_TITLE, now, now, system_prompt, int(thinking), _dump(settings or {})),
            )
            conversation_id = cast(int, cursor.lastrowid)
        return self.get_conversation(conversation_id)

    @_locked
    def get_conversation(self, conversation_id: int) -> Conversation:
        row = self._db.execute(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise NotFound("That conversation no longer exists.")
        return _conversation(row)

    @_locked
    def list_conversations(self, search: str = "") -> list[ConversationSummary]:
        """Newest first, without deleted ones; ``search`` keeps those whose title or messages hold every word."""
        where, params = ["c.deleted_at IS NULL"], []
        for term in schema.search_terms(search):
            in_messages = "SELECT conversation_id FROM messages WHERE instr(gd_fold(content), ?) > 0"
            if self._fts and len(term) >= schema.MIN_INDEXED_TERM:
                in_messages += " AND id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ?)"
                params += [term, term, schema.fts_query(term)]
            else:
                params += [term, term]
            where.append(f"(instr(gd_fold(c.title), ?) > 0 OR c.id IN ({in_messages}))")
        rows = self._db.execute(
            f"SELECT c.id, c.title, c.created_at, c.updated_at FROM conversations c WHERE {' AND '.join(where)} "
            "ORDER BY c.updated_at DESC, c.id DESC",
            params,
        ).fetchall()
        return [ConversationSummary(*row) for row in rows]

    @_locked
    def rename(self, conversation_id: int, title: str) -> None:
        self._set(conversation_id, "title", title.strip() or DEFAULT_TITLE)

    @_locked
    def set_thinking(self, conversation_id: int, thinking: bool) -> None:
        self._set(conversation_id, "thinking", int(thinking))

    @_locked
    def set_system_prompt(self, conversation_id: int, system_prompt: str | None) -> None:
        self._set(conversation_id, "system_prompt", system_prompt)

    @_locked
    def set_settings(self, conversation_id: int, settings: Mapping[str, Any]) -> None:
        self._set(conversation_id, "settings_json", _dump(settings))

    @_locked
    def delete(self, conversation_id: int) -> None:
        """Hide the conversation (``undo_delete`` brings it back; ``purge_deleted`` removes it for good)."""
        self._set(conversation_id, "deleted_at", time.time())

    @_locked
    def undo_delete(self, conversation_id: int) -> None:
        self._set(conversation_id, "deleted_at", None)

    @_locked
    def purge_deleted(self, older_than_s: float = 0) -> int:
        """Really delete conversations deleted at least ``older_than_s`` ago, and their now-unused files."""
        doomed = "SELECT id FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?"
        cutoff = (time.time() - older_than_s,)
        with self._write() as db:
            hashes = [
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT a.sha256 FROM attachments a JOIN messages m ON m.id = a.message_id "
                    f"WHERE m.conversation_id IN ({doomed})",
                    cutoff,
                )
            ]
            if self._fts:
                db.execute(
                    f"DELETE FROM message_fts WHERE rowid IN "
                    f"(SELECT id FROM messages WHERE conversation_id IN ({doomed}))",
                    cutoff,
                )
            db.execute(f"UPDATE conversations SET leaf_id = NULL WHERE id IN ({doomed})", cutoff)
            db.execute(f"DELETE FROM messages WHERE conversation_id IN ({doomed})", cutoff)
            count = db.execute(f"DELETE FROM conversations WHERE id IN ({doomed})", cutoff).rowcount
            unused = [
                sha
                for sha in hashes
                if sha not in self._stored_now
                and db.execute("SELECT 1 FROM attachments WHERE sha256 = ? LIMIT 1", (sha,)).fetchone() is None
            ]
        self.files.remove(unused)
        return count

    # --- messages --------------------------------------------------------------------------------------

    @_locked
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
        for ref in attachments:
            if ref.kind not in ATTACHMENT_KINDS:
                raise StoreError(f"Unknown attachment kind {ref.kind!r}.")
        now = time.time()
        with self._write() as db:
            title = self._conversation_title(conversation_id)
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
            db.executemany(
                "INSERT INTO attachments(message_id, sha256, ext, kind, name, mime, size, position) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(message_id, a.sha256, a.ext, a.kind, a.name, a.mime, a.size, i) for i, a in enumerate(attachments)],
            )
            if self._fts and status != "streaming":
                db.execute("INSERT INTO message_fts(rowid, content) VALUES (?, ?)", (message_id, content))
            if title == DEFAULT_TITLE and role == "user":
                title = auto_title(content) or title
            db.execute(
                "UPDATE conversations SET leaf_id = ?, updated_at = ?, title = ? WHERE id = ?",
                (message_id, now, title, conversation_id),
            )
        return self._with_siblings(self._messages([message_id]))[0]

    @_locked
    def get_message(self, message_id: int) -> Message:
        found = self._messages([message_id])
        if not found:
            raise NotFound("That message no longer exists.")
        return self._with_siblings(found)[0]

    @_locked
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
    ) -> None:
        """Change the given fields (None: leave as is) and commit: cheap enough to call per streamed token batch.

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
            "stats_json": None if stats is None else _dump(stats),
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
                db.execute("DELETE FROM message_fts WHERE rowid = ?", (message_id,))
                if current != "streaming":
                    db.execute(
                        "INSERT INTO message_fts(rowid, content) SELECT id, content FROM messages WHERE id = ?",
                        (message_id,),
                    )
            if status is not None:
                db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    @_locked
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
                db.executemany(
                    "INSERT INTO message_fts(rowid, content) SELECT id, content FROM messages WHERE id = ?",
                    [(i,) for i in ids],
                )
        return len(ids)

    # --- branches --------------------------------------------------------------------------------------

    @_locked
    def path(self, conversation_id: int) -> list[Message]:
        """The active branch, first message to leaf, each with its place among its siblings."""
        leaf = self._db.execute("SELECT leaf_id FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if leaf is None:
            raise NotFound("That conversation no longer exists.")
        tree = self._tree(conversation_id)
        leaf_id = leaf[0] if leaf[0] in tree.parent else tree.latest_leaf(None)
        return self._branch(tree, leaf_id)

    @_locked
    def switch_sibling(self, message_id: int, direction: int) -> list[Message]:
        """Show the previous (-1) or next (+1) alternative of a message, continuing down its most recent branch.

        At the first or last alternative the path is returned unchanged.
        """
        row = self._db.execute("SELECT conversation_id FROM messages WHERE id = ?", (message_id,)).fetchone()
        if row is None:
            raise NotFound("That message no longer exists.")
        tree = self._tree(row[0])
        siblings = tree.siblings(message_id)
        index = siblings.index(message_id) + direction
        if 0 <= index < len(siblings) and direction:
            leaf_id = tree.latest_leaf(siblings[index])
            with self._write() as db:
                db.execute("UPDATE conversations SET leaf_id = ? WHERE id = ?", (leaf_id, row[0]))
        return self.path(row[0])

    @_locked
    def all_messages(self, conversation_id: int) -> list[Message]:
        """Every message of every branch, oldest first."""
        tree = self._tree(conversation_id)
        placed = []
        for message in self._messages(list(tree.parent)):
            siblings = tree.siblings(message.id)
            placed.append(_replace(message, siblings.index(message.id) + 1, len(siblings)))
        return placed

    # --- attachments and export ------------------------------------------------------------------------

    def store_attachment_file(
        self, source: str | os.PathLike[str] | bytes, name: str, kind: AttachmentKind, mime: str
    ) -> AttachmentRef:
        """Copy a file (or bytes) into the attachments folder, once per content; pass the ref to add_message."""
        ref = self.files.store(source, name, kind, mime)
        with self._lock:
            self._stored_now.add(ref.sha256)
        return ref

    def attachment_path(self, ref: AttachmentRef) -> Path:
        return self.files.path(ref)

    @_locked
    def export_markdown(self, conversation_id: int, folder: str | os.PathLike[str]) -> Path:
        """Write ``<title>.md`` (the active branch; pictures copied into ``<title>_files/``) and return its path."""
        conversation = self.get_conversation(conversation_id)
        return export.write_markdown(conversation, self.path(conversation_id), self.files.path, Path(folder))

    @_locked
    def export_json(self, conversation_id: int) -> dict[str, Any]:
        """The whole conversation, every branch, as plain JSON data."""
        conversation = self.get_conversation(conversation_id)
        active = [m.id for m in self.path(conversation_id)]
        return export.to_json(conversation, self.all_messages(conversation_id), active)

    @_locked
    def export_json_file(self, conversation_id: int, path: str | os.PathLike[str]) -> Path:
        return export.write_json(self.export_json(conversation_id), Path(path))

    # --- helpers ---------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed at the end (rolled back on any error)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _set(self, conversation_id: int, column: str, value: object) -> None:
        with self._write() as db:
            cursor = db.execute(f"UPDATE conversations SET {column} = ? WHERE id = ?", (value, conversation_id))
            if cursor.rowcount == 0:
                raise NotFound("That conversation no longer exists.")

    def _conversation_title(self, conversation_id: int) -> str:
        row = self._db.execute("SELECT title FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise NotFound("That conversation no longer exists.")
        return cast(str, row[0])

    def _tree(self, conversation_id: int) -> Tree:
        rows = self._db.execute(
            "SELECT id, parent_id, role, updated_at FROM messages WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        ).fetchall()
        return Tree(rows)

    def _branch(self, tree: Tree, leaf_id: int | None) -> list[Message]:
        ids = tree.ancestry(leaf_id)
        by_id = {m.id: m for m in self._messages(ids)}
        branch = []
        for message_id in ids:
            siblings = tree.siblings(message_id)
            branch.append(
                _replace(by_id[message_id], siblings.index(message_id) + 1, len(siblings)),
            )
        return branch

    def _with_siblings(self, messages: list[Message]) -> list[Message]:
        """Messages with their place among their alternatives (one small indexed query each)."""
        placed = []
        for message in messages:
            siblings = [
                row[0]
                for row in self._db.execute(
                    "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? AND role = ? ORDER BY id",
                    (message.conversation_id, message.parent_id, message.role),
                )
            ]
            placed.append(_replace(message, siblings.index(message.id) + 1, len(siblings)))
        return placed

    def _messages(self, ids: Sequence[int]) -> list[Message]:
        """Full messages with their attachments, in id order."""
        rows: list[tuple[Any, ...]] = []
        refs: dict[int, list[AttachmentRef]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = list(ids[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id IN ({marks})", chunk)
            for message_id, sha, ext, kind, name, mime, size in self._db.execute(
                "SELECT message_id, sha256, ext, kind, name, mime, size FROM attachments "
                f"WHERE message_id IN ({marks}) ORDER BY message_id, position",
                chunk,
            ):
                refs.setdefault(message_id, []).append(AttachmentRef(sha, kind, name, mime, size, ext))
        rows.sort(key=lambda row: cast(int, row[0]))
        return [_message(row, tuple(refs.get(row[0], ()))) for row in rows]


def set_aside(path: Path, label: str) -> Path:
    """Rename a database (and its -wal/-shm/-journal files) to ``<stem>.<label>-YYYYmmdd-HHMMSS<suffix>``.

    An existing name is never reused: ``-2``, ``-3``, … are added instead.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    companions = ("", "-wal", "-shm", "-journal")
    number = 1
    while True:
        tail = "" if number == 1 else f"-{number}"
        target = path.with_name(f"{path.stem}.{label}-{stamp}{tail}{path.suffix}")
        if not any(os.path.lexists(f"{target}{c}") for c in companions):
            break
        number += 1
    try:
        for companion in companions:
            source = Path(f"{path}{companion}")
            if source.exists():
                os.rename(source, f"{target}{companion}")
    except OSError as error:
        raise schema.os_error(error, f"The damaged chat database {path}") from None
    return target


def _dump(value: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise StoreError(f"These settings cannot be saved ({error}).") from None


def _load(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _conversation(row: tuple[Any, ...]) -> Conversation:
    cid, title, created, updated, system_prompt, thinking, settings, leaf_id, deleted_at = row
    return Conversation(
        cid, title, created, updated, system_prompt, bool(thinking), _load(settings) or {}, leaf_id, deleted_at
    )


def _message(row: tuple[Any, ...], attachments: tuple[AttachmentRef, ...]) -> Message:
    mid, cid, parent, role, content, thinking, seconds, status, error, stats, model, created, updated = row
    return Message(
        mid, cid, parent, role, content, thinking, seconds, status, error, _load(stats), model, created, updated,
        attachments,
    )  # fmt: skip


def _replace(message: Message, index: int, count: int) -> Message:
    return replace(message, sibling_index=index, sibling_count=count)


class Tree:
    """A conversation's message tree from ``(id, parent_id, role, updated_at)`` rows in id order."""

    def __init__(self, rows: Sequence[tuple[int, int | None, str, float]]) -> None:
        self.parent: dict[int, int | None] = {}
        self.children: dict[int | None, list[int]] = {}
        self._role: dict[int, str] = {}
        self._activity: dict[int, float] = {}  # the latest update anywhere beneath (and at) a message
        for message_id, parent_id, role, updated_at in rows:
            self.parent[message_id] = parent_id
            self.children.setdefault(parent_id, []).append(message_id)
            self._role[message_id] = role
            self._activity[message_id] = updated_at
        for message_id in reversed(self.parent):  # a child's id is always above its parent's
            parent_id = self.parent[message_id]
            if parent_id is not None and parent_id in self._activity:
                self._activity[parent_id] = max(self._activity[parent_id], self._activity[message_id])

    def siblings(self, message_id: int) -> list[int]:
        """The message and its alternatives (same parent, same role), oldest first."""
        role = self._role[message_id]
        return [m for m in self.children[self.parent[message_id]] if self._role[m] == role]

    def latest_leaf(self, start: int | None) -> int | None:
        """Go down from ``start`` (None: the roots), always into the child with the most recent activity."""
        node = start
        while kids := self.children.get(node):
            node = max(kids, key=lambda k: (self._activity[k], k))
        return node

    def ancestry(self, leaf_id: int | None) -> list[int]:
        """Ids from the first message down to ``leaf_id``."""
        chain: list[int] = []
        node = leaf_id
        while node is not None:
            chain.append(node)
            node = self.parent.get(node)
        return chain[::-1]
