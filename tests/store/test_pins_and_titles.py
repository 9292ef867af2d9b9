"""Schema version 4: chats pinned to the top of the list, and who wrote a chat's title (its first words, the model,
or the user, whose name the model never overwrites). Old databases upgrade; a damaged file keeps both."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import DEFAULT_TITLE, SCHEMA_VERSION, NotFound, Store, schema
from tests.store.test_salvage import _kept, _pages, _smash


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "chats.sqlite3") as opened:
        yield opened


def _ask(store: Store, question: str, title: str = DEFAULT_TITLE) -> int:
    chat = store.create_conversation(title)
    q = store.add_message(chat.id, parent_id=None, role="user", content=question)
    store.add_message(chat.id, parent_id=q.id, role="assistant", content="An answer.")
    return chat.id


# --- the schema ----------------------------------------------------------------------------------------------


def _version_3_file(path: Path) -> None:
    """A database exactly as version 3 of the schema made it: a renamed chat, one titled by its first words, and
    an empty one."""
    db = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(db, schema.MIGRATIONS[:3]) == 3
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute(
        "INSERT INTO conversations(id, title, created_at, updated_at) VALUES "
        "(1, 'My taxes', 1.0, 3.0), (2, 'how do tides work', 1.0, 2.0), (3, 'New chat', 1.0, 1.0)"
    )
    db.execute(
        "INSERT INTO messages(id, conversation_id, parent_id, role, content, created_at, updated_at) VALUES "
        "(1, 1, NULL, 'user', 'help me with my tax return', 1.0, 1.0), (2, 1, 1, 'assistant', 'Sure.', 2.0, 2.0), "
        "(3, 2, NULL, 'user', 'how do tides work', 1.0, 1.0)"
    )
    db.close()


def test_a_version_3_database_migrates_keeping_every_title_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    _version_3_file(path)
    with Store.open(path) as store:
        assert schema.user_version(store._db) == SCHEMA_VERSION == 4
        taxes, tides, empty = (store.get_conversation(i) for i in (1, 2, 3))
        assert [c.title for c in (taxes, tides, empty)] == ["My taxes", "how do tides work", DEFAULT_TITLE]
        assert not (taxes.pinned or tides.pinned or empty.pinned)
        # A rename cannot be told from first words: old chats keep their titles; only the empty one may get one.
        assert (taxes.title_by, tides.title_by, empty.title_by) == ("user", "user", "words")
        assert not store.set_model_title(1, "Tax Return Help")
        assert store.get_conversation(1).title == "My taxes"
        store.set_pinned(2, True)  # an old chat pins like a new one
        assert [c.id for c in store.list_conversations()] == [2, 1, 3]
    with Store.open(path) as store:
        assert store.get_conversation(2).pinned


def test_the_title_author_is_checked_by_the_database(store: Store) -> None:
    chat = store.create_conversation()
    with pytest.raises(sqlite3.IntegrityError):
        store._db.execute("UPDATE conversations SET title_by = 'robot' WHERE id = ?", (chat.id,))


# --- pins ------------------------------------------------------------------------------------------------------


def test_pinned_chats_come_first_and_stay_pinned_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with Store.open(path) as store:
        old = _ask(store, "old question about moons")
        new = _ask(store, "new question about moons")
        before = store.get_conversation(old).updated_at
        store.set_pinned(old, True)
        assert [c.id for c in store.list_conversations()] == [old, new]
        assert [c.pinned for c in store.list_conversations()] == [True, False]
        assert store.get_conversation(old).updated_at == before  # pinning is not activity
        assert [c.id for c in store.list_conversations("moons")] == [old, new]  # searches too
    with Store.open(path) as store:
        assert [(c.id, c.pinned) for c in store.list_conversations()] == [(old, True), (new, False)]
        store.set_pinned(old, False)
        assert [c.id for c in store.list_conversations()] == [new, old]
        with pytest.raises(NotFound):
            store.set_pinned(12345, True)


# --- titles ----------------------------------------------------------------------------------------------------


def test_the_model_titles_a_chat_once_and_never_over_the_users_name(store: Store) -> None:
    chat = _ask(store, "how do tides work on the moon")
    assert store.get_conversation(chat).title_by == "words"
    assert store.set_model_title(chat, "Tides and the Moon")
    titled = store.get_conversation(chat)
    assert (titled.title, titled.title_by) == ("Tides and the Moon", "model")
    assert not store.set_model_title(chat, "Something Else")  # the model has had its say
    store.rename(chat, "  Homework  ")
    renamed = store.get_conversation(chat)
    assert (renamed.title, renamed.title_by) == ("Homework", "user")

    renamed_first = _ask(store, "a second chat")
    store.rename(renamed_first, "Mine")
    assert not store.set_model_title(renamed_first, "The Model's Idea")
    assert store.get_conversation(renamed_first).title == "Mine"


def test_an_empty_model_title_keeps_the_first_words(store: Store) -> None:
    chat = _ask(store, "what is a monad")
    assert store.set_model_title(chat, "  ")
    conversation = store.get_conversation(chat)
    assert (conversation.title, conversation.title_by) == ("what is a monad", "model")


def test_a_chat_created_with_a_title_keeps_it(store: Store) -> None:
    chat = store.create_conversation("Trip planning")
    assert store.get_conversation(chat.id).title_by == "user"
    assert not store.set_model_title(chat.id, "Other")


# --- a damaged file keeps them -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["messages", "first"])
def test_a_damaged_file_keeps_pins_and_title_authors(tmp_path: Path, page: str) -> None:
    """SQLite reads the rows past a smashed page, or the page scan finds them (a smashed first page): rows written
    before version 4 (9 columns) and after it (11)."""
    path = tmp_path / "chats.sqlite3"
    _version_3_file(path)
    with Store.open(path) as store:
        pinned = _ask(store, "pinned question " * 40)
        titled = _ask(store, "a question the model titled " * 40)
        store.set_pinned(pinned, True)
        store.set_model_title(titled, "Model Title")
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _smash(path, 1 if page == "first" else _pages(path, "messages")[0])

    store, notice = Store.open_or_recover(path)
    with store:
        assert notice is not None and f"kept as {_kept(tmp_path)[0]}" in notice
        assert store.get_conversation(pinned).pinned
        assert store.get_conversation(titled).title == "Model Title"
        assert store.get_conversation(titled).title_by == "model"
        assert store.get_conversation(1).title_by == "user"  # an old row: kept as it was
        assert store.get_conversation(3).title_by == "words"  # an old empty chat
        assert store.list_conversations()[0].id == pinned
