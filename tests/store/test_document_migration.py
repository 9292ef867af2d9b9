"""Schema version 2: a chat database made by version 1 migrates, keeping its attachments; documents and their
page choices are stored and read back."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from app.media.documents import PageChoice
from app.store import SCHEMA_VERSION, Store, schema
from app.store.rebuild import ATTACHMENT_COLUMNS
from tests.store.test_salvage import _pages, _smash


def _version_1_file(path: Path) -> None:
    """A database exactly as version 1 of the schema made it, holding a chat with a picture and a file."""
    db = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(db, schema.MIGRATIONS[:1]) == 1
    db.execute("INSERT INTO conversations(id, title, created_at, updated_at) VALUES (1, 'Holiday', 1.0, 1.0)")
    db.execute(
        "INSERT INTO messages(id, conversation_id, parent_id, role, content, created_at, updated_at) "
        "VALUES (1, 1, NULL, 'user', 'Where is this?', 1.0, 1.0)"
    )
    db.execute("UPDATE conversations SET leaf_id = 1 WHERE id = 1")
    db.executemany(
        "INSERT INTO attachments(id, message_id, sha256, ext, kind, name, mime, size, position) "
        "VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)",
        [
            (7, "a" * 64, ".jpg", "image", "beach.jpg", "image/jpeg", 1234, 0),
            (9, "b" * 64, ".txt", "file", "notes.txt", "text/plain", 56, 1),
        ],
    )
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        db.execute(
            "INSERT INTO attachments(message_id, sha256, kind, name, mime, size, position) "
            "VALUES (1, ?, 'document', 'a.md', 'text/markdown', 1, 2)",
            ("c" * 64,),
        )
    db.close()


def test_a_version_1_database_migrates_and_keeps_its_attachments(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    _version_1_file(path)
    with Store.open(path) as store:
        db = store._db
        assert schema.user_version(db) == SCHEMA_VERSION
        [message] = store.path(1)
        assert [(a.kind, a.name, a.mime, a.size, a.ext, a.choice) for a in message.attachments] == [
            ("image", "beach.jpg", "image/jpeg", 1234, ".jpg", ""),
            ("file", "notes.txt", "text/plain", 56, ".txt", ""),
        ]
        rows = db.execute("SELECT id, sha256, position, choice_json FROM attachments ORDER BY id").fetchall()
        assert rows == [(7, "a" * 64, 0, "{}"), (9, "b" * 64, 1, "{}")]  # ids kept
        assert [row[1] for row in db.execute("PRAGMA table_info(attachments)")] == list(ATTACHMENT_COLUMNS)
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'attachments'")}
        assert {"attachments_by_message", "attachments_by_sha"} <= indexes
        assert schema.ensure_indexes(db) == 0
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM attachments WHERE message_id = 1 ORDER BY position"
        ).fetchall()
        assert any("attachments_by_message" in str(step) for step in plan)
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            db.execute(
                "INSERT INTO attachments(message_id, sha256, kind, name, mime, size, position) "
                "VALUES (1, ?, 'spreadsheet', 'a.ods', 'x', 1, 2)",
                ("d" * 64,),
            )


def test_a_document_keeps_its_page_choice(tmp_path: Path) -> None:
    with Store.open(tmp_path / "chats.sqlite3") as store:
        conversation = store.create_conversation("Report")
        ref = store.store_attachment_file(b"%PDF-1.7 pretend", "report.pdf", "document", "application/pdf")
        choice = PageChoice(pages=(1, 2, 3, 9), pictures=(9,)).to_json()
        chosen = replace(ref, choice=choice)
        store.add_message(conversation.id, parent_id=None, role="user", content="Sum it up", attachments=(chosen,))
        [message] = store.path(conversation.id)
        assert message.attachments == (chosen,)
        assert PageChoice.from_json(message.attachments[0].choice) == PageChoice((1, 2, 3, 9), (9,))


# --- salvage: a damaged file of either version keeps its documents and attachments ---------------------------


def test_a_damaged_file_keeps_its_documents_and_their_page_choices(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with Store.open(path) as store:
        chat = store.create_conversation()
        ref = store.store_attachment_file(b"%PDF-1.7 pretend", "report.pdf", "document", "application/pdf")
        document = replace(ref, choice=PageChoice(pages=(2, 3)).to_json())
        q = store.add_message(chat.id, parent_id=None, role="user", content="read", attachments=[document])
        store.add_message(chat.id, parent_id=q.id, role="assistant", content="done")
    _smash(path, _pages(path, "conversations")[0])
    store, notice = Store.open_or_recover(path)
    with store:
        assert notice is not None and "Recovered 1 chat" in notice
        (first, _answer) = store.path(chat.id)
        assert first.attachments == (document,)


@pytest.mark.parametrize("page", ["conversations", "first"])
def test_a_damaged_version_1_file_keeps_its_attachments(tmp_path: Path, page: str) -> None:
    """SQLite reads the old table (a smashed chat page), or the page scan finds its rows (a smashed first page)."""
    path = tmp_path / "chats.sqlite3"
    data = b"\x89PNG a picture"
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "attachments" / sha[:2]).mkdir(parents=True)
    (tmp_path / "attachments" / sha[:2] / f"{sha}.png").write_bytes(data)
    db = sqlite3.connect(path, isolation_level=None)
    schema.migrate(db, schema.MIGRATIONS[:1])
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("INSERT INTO conversations(id, title, created_at, updated_at) VALUES (1, 'Cats', 1.0, 1.0)")
    db.execute(
        "INSERT INTO messages(id, conversation_id, role, content, created_at, updated_at) "
        "VALUES (1, 1, 'user', 'look at this cat', 1.0, 1.0)"
    )
    db.execute(
        "INSERT INTO attachments(id, message_id, sha256, ext, kind, name, mime, size, position) "
        "VALUES (3, 1, ?, '.png', 'image', 'cat.png', 'image/png', ?, 0)",
        (sha, len(data)),
    )
    db.close()
    _smash(path, 1 if page == "first" else _pages(path, "conversations")[0])
    store, notice = Store.open_or_recover(path)
    with store:
        assert notice is not None and "Recovered 1 chat" in notice and "left out" not in notice
        [message] = store.path(1)
        [ref] = message.attachments
        assert (ref.sha256, ref.name, ref.kind, ref.choice) == (sha, "cat.png", "image", "")
        assert store.attachment_path(ref).read_bytes() == data


def test_a_markdown_export_says_which_pages_of_a_document_went(tmp_path: Path) -> None:
    with Store.open(tmp_path / "chats.sqlite3") as store:
        conversation = store.create_conversation("Report")
        ref = store.store_attachment_file(b"%PDF-1.7 pretend", "report.pdf", "document", "application/pdf")
        some = replace(ref, choice=PageChoice(pages=(1, 2, 3, 9, 11, 12)).to_json())
        store.add_message(conversation.id, parent_id=None, role="user", content="Sum it up", attachments=(some,))
        markdown = store.export_markdown(conversation.id, tmp_path / "out").read_text()
        [exported] = store.export_json(conversation.id)["messages"][0]["attachments"]
    assert "[report.pdf](<Report_files/report.pdf>) (pages 1-3, 9, 11-12)" in markdown
    assert (tmp_path / "out" / "Report_files" / "report.pdf").read_bytes() == b"%PDF-1.7 pretend"
    assert exported["choice"] == {"pages": [1, 2, 3, 9, 11, 12]}
