"""A damaged chat database: index damage repaired in place, anything worse salvaged row by row, with exact counts.

Every test damages a real SQLite file the way a disk does (random bytes over one whole page) and opens it the
way the app starts (``Store.open_or_recover``).
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.store import SCHEMA_VERSION, CorruptDatabase, Store
from app.store.attachments import AttachmentFolder
from app.store.rebuild import CUT_MARK
from app.store.salvage import salvage
from app.store.store import auto_title

Snapshot = dict[int, dict[str, Any]]


def _pages(path: Path, name: str, kind: str | None = None) -> list[int]:
    """The pages of one table or index (``kind``: "leaf", "internal" or "overflow"), root first."""
    with closing(sqlite3.connect(path)) as db:
        try:
            rows = db.execute("SELECT pageno, pagetype FROM dbstat WHERE name = ? ORDER BY path", (name,)).fetchall()
        except sqlite3.OperationalError:  # an SQLite built without dbstat: the root page is all we can find
            rows = [(db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0], None)]
    return [page for page, page_kind in rows if kind is None or page_kind == kind]


def _smash(path: Path, page: int) -> None:
    """Random bytes over one whole page, as a failing disk or a stray write leaves it."""
    with closing(sqlite3.connect(path)) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as file:
        file.seek((page - 1) * size)
        file.write(random.Random(page).randbytes(size))


def _chats(path: Path, count: int, *, long: bool = False) -> None:
    """``count`` chats of a question, an answer, a regenerated answer and a follow-up on it."""
    with Store.open(path) as store:
        for n in range(count):
            chat = store.create_conversation(f"chat {n}", f"be brief {n}", settings={"temperature": n / 10})
            body = "lorem ipsum dolor " * (300 if long else 4)
            q = store.add_message(chat.id, parent_id=None, role="user", content=f"question {n}: {body}")
            store.add_message(chat.id, parent_id=q.id, role="assistant", content=f"answer {n}", model="gemma")
            a2 = store.add_message(chat.id, parent_id=q.id, role="assistant", content=f"better answer {n}")
            store.update_message(a2.id, thinking=f"thought {n}", thinking_seconds=1.5, stats={"tokens": n})
            store.add_message(chat.id, parent_id=a2.id, role="user", content=f"follow-up {n}")
    assert not Path(f"{path}-wal").exists()  # everything is in the main file, where the damage will go


def _snapshot(path: Path) -> tuple[dict[int, Any], Snapshot]:
    """Every chat's fields and every message's fields (parent included), by id."""
    with Store.open(path, check=False) as store:
        chats = {c.id: store.get_conversation(c.id) for c in store.list_conversations()}
        messages = {
            m.id: {k: v for k, v in vars(m).items() if k not in ("sibling_index", "sibling_count")}
            for cid in chats
            for m in store.all_messages(cid)
        }
    return chats, messages


def _unreadable_rows(path: Path, ids: list[int]) -> set[int]:
    """The message ids SQLite itself cannot read back from a damaged file (the test's own oracle)."""
    lost = set()
    with closing(sqlite3.connect(path)) as db:
        for mid in ids:
            try:
                db.execute("SELECT * FROM messages WHERE id = ?", (mid,)).fetchall()
            except sqlite3.DatabaseError:
                lost.add(mid)
    return lost


def _kept(folder: Path) -> list[Path]:
    pattern = re.compile(r"^chats\.corrupt-\d{8}-\d{6}(-\d+)?\.sqlite3$")
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- damage only in what can be rebuilt: repaired in place ----------------------------------------------


@pytest.mark.parametrize("table", ["message_fts_data", "message_fts_content", "message_fts_docsize"])
def test_damage_in_the_search_index_is_repaired_in_place(tmp_path: Path, table: str) -> None:
    path = tmp_path / "chats.sqlite3"
    _chats(path, 3)  # what the tester had: a few chats, six messages and more
    chats, messages = _snapshot(path)
    _smash(path, _pages(path, table)[0])
    with pytest.raises(CorruptDatabase, match=r"^The chat database chats\.sqlite3 is damaged"):
        Store.open(path)

    store, notice = Store.open_or_recover(path)
    with store:
        assert notice == (
            "The chat database was damaged only in its search index; it was rebuilt, "
            "and all 3 chats and 12 messages were kept."
        )
        assert store.search_indexed
        assert [c.title for c in store.list_conversations("better answer 1")] == ["chat 1"]
    assert _kept(tmp_path) == []  # nothing set aside: nothing was lost
    assert _snapshot(path) == (chats, messages)
    store, notice = Store.open_or_recover(path)  # and the next start has nothing to say
    store.close()
    assert notice is None


def test_damage_in_an_index_is_repaired_in_place(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    _chats(path, 3)
    chats, messages = _snapshot(path)
    with closing(sqlite3.connect(path)) as db:
        indexes = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'"))
    _smash(path, _pages(path, "messages_by_conversation")[0])

    store, notice = Store.open_or_recover(path)
    store.close()
    assert notice == (
        "The chat database was damaged only in its indexes; they were rebuilt, "
        "and all 3 chats and 12 messages were kept."
    )
    assert _kept(tmp_path) == []
    assert _snapshot(path) == (chats, messages)
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")) == indexes


def test_salvage_of_a_file_damaged_in_its_search_index_recovers_everything(tmp_path: Path) -> None:
    damaged, rebuilt = tmp_path / "damaged.sqlite3", tmp_path / "chats.sqlite3"
    _chats(damaged, 3)
    chats, messages = _snapshot(damaged)
    _smash(damaged, _pages(damaged, "message_fts_data")[0])
    before = _digest(damaged)

    report = salvage(damaged, rebuilt, AttachmentFolder(tmp_path / "attachments"))
    assert (report.chats, report.messages, report.lost_messages, report.lost_chats) == (3, 12, 0, 0)
    assert report.notice(damaged) == (
        f"The chat database was damaged. Recovered 3 chats and 12 messages, and nothing is known to be missing. "
        f"The damaged file was kept as {damaged}."
    )
    assert _digest(damaged) == before  # only ever read
    assert _snapshot(rebuilt) == (chats, messages)
    with Store.open(rebuilt) as store:  # the search index is built again from the recovered messages
        assert [c.title for c in store.list_conversations("follow-up 2")] == ["chat 2"]


# --- damage in the rows: set aside, salvaged ------------------------------------------------------------


def test_a_damaged_message_page_loses_only_its_own_messages(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    _chats(path, 40, long=True)
    chats, messages = _snapshot(path)
    leaves = _pages(path, "messages", "leaf")
    assert len(leaves) > 5
    _smash(path, leaves[len(leaves) // 2])
    lost = _unreadable_rows(path, sorted(messages))
    assert 0 < len(lost) < 10
    damaged = _digest(path)

    store, notice = Store.open_or_recover(path)
    (kept,) = _kept(tmp_path)
    with store:
        assert notice == (
            f"The chat database was damaged. Recovered 40 chats and {160 - len(lost)} messages; "
            f"{len(lost)} message{'s' if len(lost) > 1 else ''} could not be read. The damaged file was kept as {kept}."
        )
        assert {c.id for c in store.list_conversations()} == set(chats)

        def surviving(mid: int | None) -> int | None:
            while mid in lost:  # a lost message's children hang from its nearest surviving ancestor
                mid = messages[mid]["parent_id"]
            return mid

        for cid, chat in chats.items():  # title, system prompt, settings, active branch: all there
            assert store.get_conversation(cid) == replace(chat, leaf_id=surviving(chat.leaf_id))
            recovered = {m.id: vars(m) for m in store.all_messages(cid)}
            for mid, old in messages.items():
                if old["conversation_id"] == cid and mid not in lost:
                    new = recovered.pop(mid)
                    assert {k: new[k] for k in old} == {**old, "parent_id": surviving(old["parent_id"])}
            assert recovered == {}
    assert _digest(kept) == damaged  # the damaged file is kept exactly as it was


def test_a_damaged_interior_page_hides_nothing(tmp_path: Path) -> None:
    """SQLite cannot reach any message below a damaged interior page; the leaves are read directly."""
    path = tmp_path / "chats.sqlite3"
    _chats(path, 40, long=True)
    chats, messages = _snapshot(path)
    (root,) = _pages(path, "messages", "internal")[:1]
    assert root == _pages(path, "messages")[0]
    _smash(path, root)
    assert _unreadable_rows(path, sorted(messages)) == set(messages)

    store, notice = Store.open_or_recover(path)
    store.close()
    (kept,) = _kept(tmp_path)
    assert notice == (
        "The chat database was damaged. Recovered 40 chats and 160 messages, and nothing is known to be missing. "
        f"The damaged file was kept as {kept}."
    )
    assert _snapshot(path) == (chats, messages)


@pytest.mark.parametrize("page_size", [4096, 1024, 16384])
def test_a_damaged_first_page_still_gives_back_every_chat(tmp_path: Path, page_size: int) -> None:
    """The first page holds the file header (the page size among it) and the schema: SQLite cannot open the file."""
    path = tmp_path / "chats.sqlite3"
    _chats(path, 5)
    with closing(sqlite3.connect(path, isolation_level=None)) as db:  # pages of another size, as older files may have
        for statement in ("PRAGMA journal_mode = DELETE", f"PRAGMA page_size = {page_size}", "VACUUM"):
            db.execute(statement)
        db.execute("PRAGMA journal_mode = WAL")
        assert db.execute("PRAGMA page_size").fetchone() == (page_size,)
    chats, messages = _snapshot(path)
    _smash(path, 1)

    store, notice = Store.open_or_recover(path)
    store.close()
    (kept,) = _kept(tmp_path)
    assert notice == (
        "The chat database was damaged. Recovered 5 chats and 20 messages; what else it held is unknown, "
        f"so some chats may be missing. The damaged file was kept as {kept}."
    )
    assert _snapshot(path) == (chats, messages)


def test_a_lost_chat_row_is_rebuilt_around_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    _chats(path, 3)
    chats, messages = _snapshot(path)
    _smash(path, _pages(path, "conversations")[0])

    store, notice = Store.open_or_recover(path)
    (kept,) = _kept(tmp_path)
    with store:
        assert notice == (
            "The chat database was damaged. Recovered 3 chats (3 without their title and settings) and 12 messages, "
            f"and nothing is known to be missing. The damaged file was kept as {kept}."
        )
        titles = sorted(c.title for c in store.list_conversations())  # named after their first question
        assert titles == [auto_title(f"question {n}: " + "lorem ipsum dolor " * 4) for n in range(3)]
        for cid in chats:  # the branch the user was on is found again (the most recent one)
            assert [m.content for m in store.path(cid)][-1].startswith("follow-up")
    assert _snapshot(path)[1] == messages


def test_a_message_whose_text_runs_into_a_damaged_page_keeps_its_beginning(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with Store.open(path) as store:
        chat = store.create_conversation()
        q = store.add_message(chat.id, parent_id=None, role="user", content="the long one: " + "word " * 4000)
        a = store.add_message(chat.id, parent_id=q.id, role="assistant", content="short answer")
    _smash(path, _pages(path, "messages", "overflow")[0])
    assert _unreadable_rows(path, [q.id, a.id]) == {q.id}

    store, notice = Store.open_or_recover(path)
    (kept,) = _kept(tmp_path)
    with store:
        assert notice == (
            "The chat database was damaged. Recovered 1 chat and 2 messages (1 only in part), "
            f"and nothing else is known to be missing. The damaged file was kept as {kept}."
        )
        first, second = store.path(chat.id)
        assert first.content.startswith("the long one: word word") and first.content.endswith(CUT_MARK)
        assert 200 < len(first.content) < 4096 and first.status == "stopped"
        assert (second.content, second.parent_id) == ("short answer", first.id)


def test_attachments_are_kept_where_their_files_are(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with Store.open(path) as store:
        chat = store.create_conversation()
        picture = store.store_attachment_file(b"\x89PNG picture", "cat.png", "image", "image/png")
        sound = store.store_attachment_file(b"RIFF sound", "hello.wav", "audio", "audio/wav")
        q = store.add_message(chat.id, parent_id=None, role="user", content="look", attachments=[picture, sound])
        store.add_message(chat.id, parent_id=q.id, role="assistant", content="a cat")
        sound_file = store.attachment_path(sound)
    sound_file.unlink()  # gone from the folder before the damage
    _smash(path, _pages(path, "conversations")[0])

    store, notice = Store.open_or_recover(path)
    with store:
        assert notice == (
            "The chat database was damaged. Recovered 1 chat (1 without its title and settings) and 2 messages, "
            "and nothing is known to be missing. 1 attachment left out: its file is no longer in the attachments "
            f"folder. The damaged file was kept as {_kept(tmp_path)[0]}."
        )
        (first, _answer) = store.path(chat.id)
        assert first.attachments == (picture,)
        assert store.attachment_path(picture).read_bytes() == b"\x89PNG picture"


def test_rows_still_only_in_the_write_ahead_log_are_recovered(tmp_path: Path) -> None:
    """A killed app leaves recent commits in the -wal file; the salvage reads them there."""
    live, copy = tmp_path / "live", tmp_path / "copy"
    live.mkdir()
    copy.mkdir()
    _chats(live / "chats.sqlite3", 2)
    store = Store.open(live / "chats.sqlite3")
    store._db.execute("PRAGMA wal_autocheckpoint = 0")
    chat = store.create_conversation()
    store.add_message(chat.id, parent_id=None, role="user", content="said just before the crash")
    for name in ("chats.sqlite3", "chats.sqlite3-wal"):  # what a crash leaves on disk
        shutil.copy(live / name, copy / name)
    store.close()
    path = copy / "chats.sqlite3"
    _smash(path, 1)

    store, notice = Store.open_or_recover(path)
    with store:
        assert notice is not None and notice.startswith(
            "The chat database was damaged. Recovered 3 chats and 9 messages"
        )
        assert store.path(chat.id)[0].content == "said just before the crash"


def test_deleted_chats_stay_deleted_and_are_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    _chats(path, 3, long=True)
    with Store.open(path) as store:
        gone = store.list_conversations()[0].id
        store.delete(gone)
    _smash(path, _pages(path, "messages")[0])

    store, notice = Store.open_or_recover(path)
    with store:
        assert notice is not None and notice.startswith(
            "The chat database was damaged. Recovered 2 chats and 8 messages"
        )
        assert gone not in {c.id for c in store.list_conversations()}
        store.undo_delete(gone)
        assert len(store.all_messages(gone)) == 4


def test_random_bytes_give_a_fresh_database_and_keep_the_file(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    garbage = random.Random(7).randbytes(64 * 1024)
    path.write_bytes(garbage)

    store, notice = Store.open_or_recover(path)
    (kept,) = _kept(tmp_path)
    with store:
        assert notice == f"Your chat database could not be read; a copy was kept at {kept}."
        assert store.list_conversations() == []
        chat = store.create_conversation()
        store.add_message(chat.id, parent_id=None, role="user", content="a new start")
    assert kept.read_bytes() == garbage


def test_a_salvage_out_of_time_keeps_what_it_read(tmp_path: Path) -> None:
    damaged, rebuilt = tmp_path / "damaged.sqlite3", tmp_path / "chats.sqlite3"
    _chats(damaged, 3)
    _smash(damaged, _pages(damaged, "messages")[0])

    report = salvage(damaged, rebuilt, AttachmentFolder(tmp_path / "attachments"), time_limit_s=0)
    assert report.out_of_time
    assert report.notice(damaged) == (
        "The chat database was damaged. Nothing could be recovered. "
        f"The damaged file was kept as {damaged}. The salvage stopped after 0 seconds, so more may be missing."
    )
    with Store.open(rebuilt) as store:  # a usable database all the same
        store.create_conversation()


def test_a_damaged_database_from_a_newer_version_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    _chats(path, 3)
    _smash(path, _pages(path, "messages")[0])
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA user_version = 99")
    before = _digest(path)

    store, notice = Store.open_or_recover(path)
    with store:
        assert store.db_path == tmp_path / f"chats.v{SCHEMA_VERSION}.sqlite3"
        assert notice is not None and "saved by a newer version of Gemma Desk" in notice
    assert _digest(path) == before and _kept(tmp_path) == []


def test_an_index_missing_from_the_file_is_created_again_at_open(tmp_path: Path) -> None:
    """A repair interrupted between its VACUUM and re-creating the indexes leaves them missing: open restores them."""
    path = tmp_path / "chats.sqlite3"
    _chats(path, 1)
    with closing(sqlite3.connect(path)) as db:
        db.execute("DROP INDEX messages_by_parent")
    with Store.open(path) as store:
        assert store._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'messages_by_parent'").fetchone() == (1,)
