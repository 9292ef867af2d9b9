"""Robustness: a damaged file, a newer app's database, a read-only folder, a full disk."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.store import SCHEMA_VERSION, CorruptDatabase, Store, StoreError
from app.store.schema import os_error


def _fill(path: Path, conversations: int = 20) -> None:
    with Store.open(path) as store:
        for n in range(conversations):
            chat = store.create_conversation(f"chat {n}")
            q = store.add_message(chat.id, parent_id=None, role="user", content=f"question {n} " * 200)
            store.add_message(chat.id, parent_id=q.id, role="assistant", content=f"answer {n} " * 400)


def _check_fresh(store: Store) -> None:
    assert store.list_conversations() == []
    chat = store.create_conversation()
    store.add_message(chat.id, parent_id=None, role="user", content="works again")
    assert [c.title for c in store.list_conversations()] == ["works again"]


def _aside(folder: Path, label: str) -> list[Path]:
    pattern = re.compile(rf"^chats\.{label}-\d{{8}}-\d{{6}}(-\d+)?\.sqlite3$")
    return sorted(p for p in folder.iterdir() if pattern.match(p.name))


def test_random_bytes_are_set_aside_and_a_fresh_database_starts(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    garbage = os.urandom(4096)
    path.write_bytes(garbage)
    with pytest.raises(CorruptDatabase, match=r"^The chat database chats\.sqlite3 is damaged or is not a database"):
        Store.open(path)
    store, notice = Store.open_or_recover(path)
    with store:
        (kept,) = _aside(tmp_path, "corrupt")
        assert kept.read_bytes() == garbage
        assert notice == f"Your chat database could not be read; a copy was kept at {kept}."
        _check_fresh(store)
    store, notice = Store.open_or_recover(path)  # next start: nothing to report
    store.close()
    assert notice is None


@pytest.mark.parametrize(("keep", "chats"), [(0.5, 20), (0.1, 20), (60 / 100_000, 0)])
def test_a_truncated_database_is_set_aside_and_what_remains_is_salvaged(
    tmp_path: Path, keep: float, chats: int
) -> None:
    path = tmp_path / "chats.sqlite3"
    _fill(path)
    data = path.read_bytes()
    path.write_bytes(data[: max(60, int(len(data) * keep))])
    store, notice = Store.open_or_recover(path)
    with store:
        (kept,) = _aside(tmp_path, "corrupt")
        assert kept.read_bytes() == data[: max(60, int(len(data) * keep))]
        found = store.list_conversations()
        assert len(found) == chats
        if not chats:
            assert notice == f"Your chat database could not be read; a copy was kept at {kept}."
            _check_fresh(store)
            return
        messages = sum(len(store.all_messages(c.id)) for c in found)
        assert notice is not None
        assert re.fullmatch(
            rf"The chat database was damaged\. Recovered {chats} chats and {messages} messages?; \d+ messages? could "
            rf"not be read; what else it held is unknown, so some chats may be missing\. The damaged file was kept as "
            rf"{re.escape(str(kept))}\.",
            notice,
        ), notice
        for chat in found:  # what came back is what was written
            n = chat.title.removeprefix("chat ")
            for message in store.all_messages(chat.id):
                assert message.content == (f"question {n} " * 200 if message.role == "user" else f"answer {n} " * 400)
        chat = store.create_conversation()
        store.add_message(chat.id, parent_id=None, role="user", content="works again")


def test_a_set_aside_copy_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "strftime", lambda fmt, *args: "20250102-030405")
    path = tmp_path / "chats.sqlite3"
    for n in range(3):
        path.write_bytes(b"not a database %d" % n * 300)
        Path(f"{path}-wal").write_bytes(b"stale log %d" % n)  # moved along, or it would be replayed
        store, notice = Store.open_or_recover(path)
        store.close()
    names = [p.name for p in _aside(tmp_path, "corrupt")]
    assert names == [
        "chats.corrupt-20250102-030405-2.sqlite3",
        "chats.corrupt-20250102-030405-3.sqlite3",
        "chats.corrupt-20250102-030405.sqlite3",
    ]
    assert (tmp_path / "chats.corrupt-20250102-030405-3.sqlite3").read_bytes().startswith(b"not a database 2")
    assert (tmp_path / "chats.corrupt-20250102-030405-3.sqlite3-wal").read_bytes() == b"stale log 2"
    assert notice is not None and notice.endswith("chats.corrupt-20250102-030405-3.sqlite3.")


def _make_newer(path: Path) -> str:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT, colour TEXT)")
    db.execute("INSERT INTO conversations(title, colour) VALUES ('from the future', 'teal')")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_newer_apps_database_is_left_alone_and_chats_go_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    digest = _make_newer(path)
    store, notice = Store.open_or_recover(path)
    side = tmp_path / f"chats.v{SCHEMA_VERSION}.sqlite3"
    with store:
        assert store.db_path == side
        assert notice is not None
        assert "newer version of Gemma Desk" in notice and str(path) in notice and str(side) in notice
        chat = store.create_conversation("made by the older app")
        ref = store.store_attachment_file(b"picture", "p.png", "image", "image/png")
        store.add_message(chat.id, parent_id=None, role="user", content="hi", attachments=[ref])
        assert store.attachment_path(ref).is_relative_to(tmp_path / f"attachments.v{SCHEMA_VERSION}")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not _aside(tmp_path, "corrupt")
    store, notice = Store.open_or_recover(path)  # every start says so, and finds the same side database
    with store:
        assert notice is not None and [c.title for c in store.list_conversations()] == ["made by the older app"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_a_full_disk_is_a_store_error_and_the_store_carries_on(tmp_path: Path) -> None:
    with Store.open(tmp_path / "chats.sqlite3") as store:
        chat = store.create_conversation()
        q = store.add_message(chat.id, parent_id=None, role="user", content="small")
        db = store._db  # SQLite's page limit makes the database "full" just as a full disk does
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StoreError, match=r"^The disk is full"):
            store.add_message(chat.id, parent_id=q.id, role="assistant", content="x" * 200_000)
        assert [m.content for m in store.path(chat.id)] == ["small"]
        db.execute(f"PRAGMA max_page_count = {pages * 1000}")
        store.add_message(chat.id, parent_id=q.id, role="assistant", content="x" * 200_000)
        assert len(store.path(chat.id)) == 2


def test_file_system_errors_read_as_plain_sentences() -> None:
    assert str(os_error(OSError(errno.ENOSPC, "No space left"), "x")).startswith("The disk is full")
    assert str(os_error(PermissionError(errno.EACCES, "Permission denied"), "The folder /a")) == (
        "The folder /a cannot be written: permission denied or read-only."
    )


def _as_nobody(action: Callable[[], object]) -> str:
    """Run ``action`` as the unprivileged user "nobody" in a forked child; return the error it raised, as text.

    Tests run as root here, and root writes through any permission bits.
    """
    if os.geteuid() != 0:
        try:
            action()
        except StoreError as error:
            return str(error)
        return "no error"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        message = "no error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            action()
        except StoreError as error:
            message = str(error)
        except BaseException as error:  # report anything else to the parent
            message = repr(error)
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as pipe:
        return pipe.read()


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    """A folder everyone may read and enter but only its owner (root, or the test user) may write."""
    folder = Path(tempfile.mkdtemp(prefix="gemma-ro-"))
    folder.chmod(0o755)
    yield folder
    for child in sorted(folder.rglob("*"), reverse=True):
        child.unlink() if not child.is_dir() else child.rmdir()
    folder.rmdir()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_read_only_folder_is_a_store_error(read_only_folder: Path) -> None:
    def open_new() -> None:
        Store.open_or_recover(read_only_folder / "new" / "chats.sqlite3")

    def open_fresh_file() -> None:
        Store.open_or_recover(read_only_folder / "chats.sqlite3")

    assert (
        _as_nobody(open_new) == f"The folder {read_only_folder}/new cannot be written: permission denied or read-only."
    )
    message = _as_nobody(open_fresh_file)
    assert message == f"The chat database cannot be opened in {read_only_folder} (missing or read-only folder)."
    assert not any(read_only_folder.iterdir())  # nothing was set aside or created


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_existing_database_in_a_read_only_folder_is_a_store_error(read_only_folder: Path) -> None:
    path = read_only_folder / "chats.sqlite3"
    _fill(path, conversations=1)
    before = sorted(p.name for p in read_only_folder.iterdir())

    def use_it() -> None:
        store, _ = Store.open_or_recover(path)
        store.create_conversation()

    message = _as_nobody(use_it)
    assert message.startswith("The chat database cannot be"), message
    assert sorted(p.name for p in read_only_folder.iterdir()) == before  # not mistaken for a damaged file


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_attachment_into_a_read_only_folder_is_a_store_error(tmp_path: Path, read_only_folder: Path) -> None:
    store = Store.open(tmp_path / "chats.sqlite3", attachments_dir=read_only_folder / "attachments")
    (read_only_folder / "attachments").mkdir()
    (read_only_folder / "attachments").chmod(0o755)
    with store:
        message = _as_nobody(lambda: store.store_attachment_file(b"bytes", "a.png", "image", "image/png"))
    assert (
        message
        == f"The attachments folder {read_only_folder}/attachments cannot be written: permission denied or read-only."
    )
