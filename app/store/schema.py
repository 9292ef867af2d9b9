"""The chat database's layout: connection settings, versioned migrations, the search index, and error wording.

The schema version lives in ``PRAGMA user_version``; ``MIGRATIONS[i]`` takes a database from version ``i`` to
``i + 1`` inside one transaction. The full-text index (FTS5, trigram) is derived data: it is created and rebuilt
at open when SQLite has FTS5, and searching falls back to a plain scan when it does not.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from app.store.models import DEFAULT_TITLE, CorruptDatabase, SchemaTooNew, StoreError

Migration = Callable[[sqlite3.Connection], None]

BUSY_TIMEOUT_MS = 5000

_V1 = (
    """CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        system_prompt TEXT,
        thinking INTEGER NOT NULL DEFAULT 0,
        settings_json TEXT NOT NULL DEFAULT '{}',
        leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
        deleted_at REAL
    )""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        parent_id INTEGER REFERENCES messages(id),
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
        content TEXT NOT NULL DEFAULT '',
        thinking TEXT NOT NULL DEFAULT '',
        thinking_seconds REAL,
        status TEXT NOT NULL DEFAULT 'complete'
            CHECK (status IN ('complete', 'streaming', 'stopped', 'error')),
        error TEXT,
        stats_json TEXT,
        model TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    """CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL,
        ext TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'video', 'file')),
        name TEXT NOT NULL,
        mime TEXT NOT NULL,
        size INTEGER NOT NULL,
        position INTEGER NOT NULL
    )""",
    "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE INDEX messages_by_conversation ON messages(conversation_id, parent_id)",
    "CREATE INDEX messages_by_parent ON messages(parent_id)",
    "CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming'",
    "CREATE INDEX conversations_by_time ON conversations(deleted_at, updated_at)",
    "CREATE INDEX conversations_by_leaf ON conversations(leaf_id)",
    "CREATE INDEX attachments_by_message ON attachments(message_id, position)",
    "CREATE INDEX attachments_by_sha ON attachments(sha256)",
)


def _migrate_to_1(db: sqlite3.Connection) -> None:
    """Everything: conversations, the message tree, attachments, a key/value table for the store's own state."""
    for statement in _V1:
        db.execute(statement)


_V2_ATTACHMENTS = """CREATE TABLE attachments_v2 (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL,
        ext TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL CHECK (kind IN ('image', 'audio', 'video', 'document', 'file')),
        name TEXT NOT NULL,
        mime TEXT NOT NULL,
        size INTEGER NOT NULL,
        position INTEGER NOT NULL,
        choice_json TEXT NOT NULL DEFAULT '{}'
    )"""
_V1_ATTACHMENT_COLUMNS = "id, message_id, sha256, ext, kind, name, mime, size, position"


def _migrate_to_2(db: sqlite3.Connection) -> None:
    """Documents: attachments of kind 'document', each with its page choice (which pages go, which as pictures).

    SQLite cannot change a CHECK in place, so the table is rebuilt (rows copied, ids kept) with its indexes.
    """
    db.execute(_V2_ATTACHMENTS)
    db.execute(f"INSERT INTO attachments_v2({_V1_ATTACHMENT_COLUMNS}) SELECT {_V1_ATTACHMENT_COLUMNS} FROM attachments")
    db.execute("DROP TABLE attachments")  # its indexes go with it
    db.execute("ALTER TABLE attachments_v2 RENAME TO attachments")
    db.execute("CREATE INDEX attachments_by_message ON attachments(message_id, position)")
    db.execute("CREATE INDEX attachments_by_sha ON attachments(sha256)")


def _migrate_to_3(db: sqlite3.Connection) -> None:
    """Tools: an answer's tool steps (the calls the model made, their results), kept so a reopened chat shows them
    again and an export holds them. One JSON array per message, which the conversation core writes and reads.

    Adding a column with a constant default leaves the existing rows as they are (they read back as '[]').
    """
    db.execute("ALTER TABLE messages ADD COLUMN tools_json TEXT NOT NULL DEFAULT '[]'")


def _migrate_to_4(db: sqlite3.Connection) -> None:
    """The sidebar: chats pinned to the top of the list, and who wrote a chat's title.

    ``title_by`` is 'words' while the title is the first words of the first question (the loaded model may then
    write a better one after the first answer), 'model' once the model has had its say, 'user' once the user
    renamed the chat (the model never overwrites it). A chat made before this version that has messages, or a
    title of its own, keeps its title as it is: its rename, if any, cannot be told from first words, so it counts
    as the user's.
    """
    db.execute("ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "ALTER TABLE conversations ADD COLUMN title_by TEXT NOT NULL DEFAULT 'words' "
        "CHECK (title_by IN ('words', 'model', 'user'))"
    )
    db.execute(
        "UPDATE conversations SET title_by = 'user' WHERE title != ? "
        "OR EXISTS (SELECT 1 FROM messages WHERE messages.conversation_id = conversations.id)",
        (DEFAULT_TITLE,),
    )


MIGRATIONS: tuple[Migration, ...] = (_migrate_to_1, _migrate_to_2, _migrate_to_3, _migrate_to_4)
SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """Open (or create) the file; nothing is written until ``configure``. Raises StoreError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise os_error(error, f"The folder {path.parent}") from None
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as error:
        raise translate(error, path) from None
    db.create_function("gd_fold", 1, _fold, deterministic=True)
    return db


def user_version(db: sqlite3.Connection) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    return int(version)


def inspect(path: Path, *, thorough: bool) -> None:
    """Make sure an existing file is a readable chat database of a version we know, without writing to it.

    Raises CorruptDatabase or SchemaTooNew. The check runs on a read-only connection, so a damaged file and
    its write-ahead log are left exactly as they are (a read-write connection would checkpoint or delete the log
    on closing). ``thorough`` runs ``PRAGMA quick_check``, which reads every page once: a truncated file shows
    up here rather than in the middle of a conversation.
    """
    try:
        if not path.exists() or path.stat().st_size == 0:
            return
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except (sqlite3.Error, OSError) as error:
        raise translate(error, path) from None
    try:
        version = user_version(db)
        if version > SCHEMA_VERSION:  # even a damaged one: a newer app's file is never touched
            raise SchemaTooNew(
                f"The chat database {path.name} was made by a newer Gemma Desk "
                f"(version {version}; this one reads up to {SCHEMA_VERSION}).",
                found=version,
                supported=SCHEMA_VERSION,
            )
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")] if thorough else ["ok"]
    except sqlite3.Error as error:
        if _code(error) == _SQLITE_READONLY:
            return  # e.g. a hot rollback journal that only a writer may replay: the real open will see
        raise translate(error, path) from None
    finally:
        db.close()
    if problems != ["ok"]:
        raise CorruptDatabase(f"The chat database {path.name} is damaged ({problems[0]}).")
    if version == 0 and tables:
        raise CorruptDatabase(f"{path.name} is an SQLite database, but not a Gemma Desk chat database.")


def configure(db: sqlite3.Connection) -> None:
    """Connection settings: write-ahead log, foreign keys, durable-enough commits, a busy timeout."""
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Run the pending migrations in order, one transaction each; returns the version reached."""
    version = user_version(db)
    if version > len(migrations):
        raise SchemaTooNew(
            f"The chat database was made by a newer Gemma Desk (version {version}).",
            found=version,
            supported=len(migrations),
        )
    for target in range(version + 1, len(migrations) + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            migrations[target - 1](db)
            db.execute(f"PRAGMA user_version={target}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return len(migrations)


@functools.cache
def _canonical_indexes() -> dict[str, str]:
    """The indexes the current schema defines, by name: what a fresh database migrated in memory holds."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(db)
        rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall()
    finally:
        db.close()
    return dict(rows)


def ensure_indexes(db: sqlite3.Connection) -> int:
    """Create any index of the current schema that is missing (a repair drops them all); returns how many."""
    present = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    missing = [sql for name, sql in _canonical_indexes().items() if name not in present]
    if missing:
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql in missing:
                db.execute(sql)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return len(missing)


# --- the search index ---------------------------------------------------------------------------------

#: Shorter search terms cannot use a trigram index; they are matched by a scan.
MIN_INDEXED_TERM = 3
#: Changing the index's definition changes this tag, and the next open rebuilds the index.
INDEX_FORMAT = "trigram-detail-none-1"


def fts5_available(db: sqlite3.Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (3.34+)."""
    try:
        db.execute("CREATE VIRTUAL TABLE temp.gd_probe USING fts5(x, tokenize='trigram')")
        db.execute("DROP TABLE temp.gd_probe")
    except sqlite3.OperationalError:
        return False
    return True


def prepare_search_index(db: sqlite3.Connection, *, use_fts: bool) -> bool:
    """Create or rebuild the message index when it is usable; returns whether searches may use it.

    The index is a trigram FTS5 table with ``detail=none`` (about the size of the text itself; a full-detail
    trigram index is three times that). It only narrows a search to candidate rows; ``instr`` confirms them.
    Without FTS5 (or with ``use_fts`` False) an existing index is marked stale, since our writes will not keep
    it up to date; the next open with FTS5 rebuilds it.
    """
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'message_fts'").fetchone() is not None
    row = db.execute("SELECT value FROM store_meta WHERE key = 'search_index'").fetchone()
    state = row[0] if row else None
    if not (use_fts and fts5_available(db)):
        if exists and state != "stale":
            db.execute("INSERT OR REPLACE INTO store_meta(key, value) VALUES ('search_index', 'stale')")
        return False
    if exists and state == INDEX_FORMAT:
        return True
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DROP TABLE IF EXISTS message_fts")
        db.execute("CREATE VIRTUAL TABLE message_fts USING fts5(content, tokenize='trigram', detail=none)")
        db.execute(
            "INSERT INTO message_fts(rowid, content) SELECT id, content FROM messages WHERE status != 'streaming'"
        )
        db.execute("INSERT OR REPLACE INTO store_meta(key, value) VALUES ('search_index', ?)", (INDEX_FORMAT,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return True


def search_terms(text: str) -> list[str]:
    """A search box's text as lower-cased terms (whitespace-separated, every character literal)."""
    return _fold(text).split()


def fts_query(term: str) -> str:
    """An FTS5 query for rows holding every trigram of ``term`` (3+ characters), each as a quoted string.

    Quoting (quotes doubled) makes ``"``, ``*``, ``AND`` or ``NEAR(`` plain text. A ``detail=none`` index cannot
    match phrases, so the caller confirms the substring itself.
    """
    trigrams = dict.fromkeys(term[i : i + 3] for i in range(len(term) - 2))
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in trigrams)


def _fold(text: str | None) -> str:
    """The case folding searches use (``lower``, close to SQLite's own folding in the trigram tokenizer)."""
    return text.lower() if text else ""


# --- errors ----------------------------------------------------------------------------------------------

_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26


def translate(error: BaseException, path: Path) -> StoreError:
    """An sqlite3 or OS error as a StoreError whose text says what happened and what to do."""
    if isinstance(error, StoreError):
        return error
    if isinstance(error, sqlite3.Error):
        code = _code(error)
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return CorruptDatabase(f"The chat database {path.name} is damaged or is not a database ({error}).")
        if code == _SQLITE_FULL:
            return StoreError("The disk is full, so the chat could not be saved: free some space and try again.")
        if code in (_SQLITE_READONLY, _SQLITE_PERM):
            return StoreError(f"The chat database cannot be written: {path.parent} is read-only for this user.")
        if code == _SQLITE_CANTOPEN:
            return StoreError(f"The chat database cannot be opened in {path.parent} (missing or read-only folder).")
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return StoreError("The chat database is busy: is another Gemma Desk running?")
        if code == _SQLITE_IOERR:
            return StoreError(f"The chat database could not be read or written (a disk error): {path}.")
        return StoreError(f"The chat database failed: {error}.")
    if isinstance(error, OSError):
        return os_error(error, str(error.filename or path))
    return StoreError(f"The chat store failed: {error!r}.")


def _code(error: sqlite3.Error) -> int:
    """The primary result code (extended codes carry it in their low byte)."""
    return (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF


def os_error(error: OSError, what: str) -> StoreError:
    """A file-system error (attachments, exports, folders) as a StoreError."""
    if error.errno == errno.ENOSPC:
        return StoreError("The disk is full, so the file could not be saved: free some space and try again.")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(f"{what} cannot be written: permission denied or read-only.")
    if error.errno == errno.ENOENT:
        return StoreError(f"{what} was not found (it may have been moved or deleted).")
    return StoreError(f"{what}: {error.strerror or error}.")
