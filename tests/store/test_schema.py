"""Schema versions and migrations: a new file reaches the current version, old ones migrate, newer ones stay put."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from app import paths
from app.store import SCHEMA_VERSION, CorruptDatabase, SchemaTooNew, Store, StoreError, default_path, schema


def test_a_new_database_gets_the_current_version_and_its_settings(tmp_path: Path) -> None:
    with Store.open(tmp_path / "chats.sqlite3") as store:
        db = store._db
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == schema.BUSY_TIMEOUT_MS
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"conversations", "messages", "attachments", "store_meta"} <= tables


def test_migrating_an_empty_database_reaches_the_current_version() -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    assert schema.migrate(db) == SCHEMA_VERSION
    assert schema.user_version(db) == SCHEMA_VERSION
    assert schema.migrate(db) == SCHEMA_VERSION  # nothing left to do


def _add_colour(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE conversations ADD COLUMN colour TEXT NOT NULL DEFAULT ''")


def test_a_database_migrates_to_a_later_version_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with Store.open(path) as store:
        conversation = store.create_conversation("Kept")
        store.add_message(conversation.id, parent_id=None, role="user", content="still here")
    db = sqlite3.connect(path, isolation_level=None)
    assert schema.user_version(db) == SCHEMA_VERSION
    assert schema.migrate(db, [*schema.MIGRATIONS, _add_colour]) == SCHEMA_VERSION + 1
    assert schema.user_version(db) == SCHEMA_VERSION + 1
    assert db.execute("SELECT title, colour FROM conversations").fetchall() == [("Kept", "")]
    assert db.execute("SELECT content FROM messages").fetchall() == [("still here",)]
    db.close()


def test_a_failing_migration_leaves_the_database_at_its_old_version(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    Store.open(path).close()

    def broken(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE conversations ADD COLUMN half_done INTEGER")
        raise RuntimeError("boom")

    db = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(RuntimeError, match=r"^boom$"):
        schema.migrate(db, [*schema.MIGRATIONS, broken])
    assert schema.user_version(db) == SCHEMA_VERSION
    columns = [row[1] for row in db.execute("PRAGMA table_info(conversations)")]
    assert "half_done" not in columns
    db.close()


def test_a_newer_schema_is_refused_and_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE future (x)")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.commit()
    db.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(SchemaTooNew, match="newer Gemma Desk") as error:
        Store.open(path)
    assert (error.value.found, error.value.supported) == (SCHEMA_VERSION + 5, SCHEMA_VERSION)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_an_sqlite_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE recipes (name)")
    db.commit()
    db.close()
    with pytest.raises(CorruptDatabase, match="not a Gemma Desk chat database"):
        Store.open(path)


def test_the_search_index_is_rebuilt_after_a_session_without_it(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with Store.open(path) as store:
        assert store.search_indexed
        first = store.create_conversation("one")
        store.add_message(first.id, parent_id=None, role="user", content="indexed walrus")
    with Store.open(path, search_index=False) as store:  # as on a Python whose SQLite lacks FTS5
        assert not store.search_indexed
        second = store.create_conversation("two")
        store.add_message(second.id, parent_id=None, role="user", content="unindexed walrus")
        assert [c.id for c in store.list_conversations("walrus")] == [second.id, first.id]
    with Store.open(path) as store:
        assert store.search_indexed
        assert [c.id for c in store.list_conversations("walrus")] == [second.id, first.id]


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "chats.sqlite3")
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.list_conversations()


def test_the_default_database_lives_in_the_data_folder() -> None:
    with Store.open_default() as store:
        assert store.db_path == paths.data_dir() / "chats.sqlite3"
        assert store.files.root == paths.data_dir() / "attachments"
    store, notice = Store.open_or_recover()
    with store:
        assert store.db_path == default_path() and notice is None
