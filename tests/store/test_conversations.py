"""Conversations: titles, settings, the sidebar list and its search, soft delete, undo and purge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import DEFAULT_TITLE, NotFound, Store
from app.store.store import auto_title


@pytest.fixture(params=[True, False], ids=["fts5", "scan"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "chats.sqlite3", search_index=request.param) as opened:
        assert opened.search_indexed is request.param
        yield opened


def test_create_and_change_a_conversation(store: Store) -> None:
    chat = store.create_conversation(system_prompt="Be brief.", thinking=True, settings={"temperature": 0.7})
    assert (chat.title, chat.system_prompt, chat.thinking, chat.settings) == (
        DEFAULT_TITLE,
        "Be brief.",
        True,
        {"temperature": 0.7},
    )
    assert chat.leaf_id is None and chat.deleted_at is None
    store.rename(chat.id, "  Trip planning  ")
    store.set_thinking(chat.id, False)
    store.set_system_prompt(chat.id, None)
    store.set_settings(chat.id, {"top_k": 64, "名前": "ok"})
    again = store.get_conversation(chat.id)
    assert (again.title, again.thinking, again.system_prompt, again.settings) == (
        "Trip planning",
        False,
        None,
        {"top_k": 64, "名前": "ok"},
    )
    with pytest.raises(NotFound, match=r"^That conversation no longer exists\.$"):
        store.rename(12345, "x")


def test_the_first_user_message_names_a_new_chat(store: Store) -> None:
    chat = store.create_conversation()
    store.add_message(chat.id, parent_id=None, role="system", content="system text is not a title")
    assert store.get_conversation(chat.id).title == DEFAULT_TITLE
    q = store.add_message(chat.id, parent_id=None, role="user", content="\n  # How do  tides work?\nDetails…")
    assert store.get_conversation(chat.id).title == "How do tides work?"
    store.add_message(chat.id, parent_id=q.id, role="user", content="Something else entirely")
    assert store.get_conversation(chat.id).title == "How do tides work?"
    named = store.create_conversation("My own title")
    store.add_message(named.id, parent_id=None, role="user", content="hello")
    assert store.get_conversation(named.id).title == "My own title"


def test_auto_title_cuts_at_a_word_boundary() -> None:
    long = "Please explain the difference between a process and a thread in operating systems"
    title = auto_title(long)
    assert title == "Please explain the difference between a process and a thread…"
    assert len(title) <= 61 and long[len(title) - 1] == " "
    assert auto_title("Tell me a story about a dragon who is afraid of the dark night") == (
        "Tell me a story about a dragon who is afraid of the dark…"
    )
    assert auto_title("x" * 100) == "x" * 60 + "…"
    assert auto_title("```python\nprint(1)\n```") == "print(1)"
    assert auto_title("   \n\n") == ""


def test_the_list_is_newest_first_and_hides_deleted(store: Store) -> None:
    old = store.create_conversation("old")
    new = store.create_conversation("new")
    assert [c.title for c in store.list_conversations()] == ["new", "old"]
    time.sleep(0.01)
    store.add_message(old.id, parent_id=None, role="user", content="bump")
    assert [c.id for c in store.list_conversations()] == [old.id, new.id]
    store.delete(old.id)
    assert [c.id for c in store.list_conversations()] == [new.id]
    assert store.get_conversation(old.id).deleted_at is not None
    store.undo_delete(old.id)
    assert [c.id for c in store.list_conversations()] == [old.id, new.id]


def _chat(store: Store, title: str, *texts: str) -> int:
    chat = store.create_conversation(title)
    parent = None
    for i, text in enumerate(texts):
        parent = store.add_message(
            chat.id, parent_id=parent, role="user" if i % 2 == 0 else "assistant", content=text
        ).id
    return chat.id


def test_search_matches_titles_and_message_text_case_insensitively(store: Store) -> None:
    tides = _chat(store, "Tides", "How do tides work?", "The Moon's gravity pulls the oceans.")
    paris = _chat(store, "Weekend in Paris", "Où manger à PARIS ?", "Essayez le Marché des Enfants Rouges.")
    code = _chat(store, "Code", 'Fix `SELECT * FROM t WHERE a = "x"`', "Use 100% of the index; a_b matters")
    assert [c.id for c in store.list_conversations("moon")] == [tides]
    assert [c.id for c in store.list_conversations("MARCHÉ")] == [paris]
    assert [c.id for c in store.list_conversations("où")] == [paris]
    assert [c.id for c in store.list_conversations("paris")] == [paris]
    assert [c.id for c in store.list_conversations("weekend manger")] == [paris]  # title + message, every word
    assert store.list_conversations("weekend moon") == []
    assert [c.id for c in store.list_conversations('"x"')] == [code]
    assert [c.id for c in store.list_conversations("100%")] == [code]
    assert [c.id for c in store.list_conversations("a_b")] == [code]
    assert [c.id for c in store.list_conversations("ocea")] == [tides]  # substrings, not only whole words
    assert {c.id for c in store.list_conversations("   ")} == {tides, paris, code}


@pytest.mark.parametrize(
    "query",
    ['"', "*", "AND", "OR NOT", "NEAR(", "a:b", "'", "\\", "%", "_", '""""', "(", ")", "^", "-", "col:x*", "\x00"],
)
def test_search_treats_every_character_literally(store: Store, query: str) -> None:
    _chat(store, "Plain", "nothing special here")
    special = _chat(store, "Special", f"look: {query} here")
    assert special in [c.id for c in store.list_conversations(query)]


def test_a_streaming_answer_is_found_once_it_is_finished(store: Store) -> None:
    chat = store.create_conversation("Stream")
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", status="streaming")
    store.update_message(a.id, content="partial zebracorn")
    store.update_message(a.id, content="partial zebracorn and more")
    if store.search_indexed:
        assert store.list_conversations("zebracorn") == []  # not indexed while streaming
    store.update_message(a.id, status="complete")
    assert [c.id for c in store.list_conversations("zebracorn")] == [chat.id]
    store.update_message(a.id, content="rewritten")
    assert store.list_conversations("zebracorn") == []
    assert [c.id for c in store.list_conversations("rewritten")] == [chat.id]


def test_deleted_conversations_are_not_found_by_search(store: Store) -> None:
    gone = _chat(store, "Gone", "secret platypus")
    store.delete(gone)
    assert store.list_conversations("platypus") == []
    store.undo_delete(gone)
    assert [c.id for c in store.list_conversations("platypus")] == [gone]


def test_purge_removes_deleted_conversations_and_unused_files(store: Store, tmp_path: Path) -> None:
    shared = store.store_attachment_file(b"shared picture", "a.png", "image", "image/png")
    only = store.store_attachment_file(b"only in the doomed chat", "b.png", "image", "image/png")
    store.close()  # files stored by an earlier session (a new one protects its own, maybe still in a draft)
    store = Store.open(tmp_path / "chats.sqlite3", search_index=store.search_indexed)
    keep = store.create_conversation("keep")
    store.add_message(keep.id, parent_id=None, role="user", content="k", attachments=[shared])
    doomed = store.create_conversation("doomed")
    q = store.add_message(doomed.id, parent_id=None, role="user", content="zebra", attachments=[shared, only])
    store.add_message(doomed.id, parent_id=q.id, role="assistant", content="A1")
    store.add_message(doomed.id, parent_id=q.id, role="assistant", content="A2")
    store.delete(doomed.id)
    assert store.purge_deleted(older_than_s=3600) == 0  # too recent
    assert store.purge_deleted() == 1
    with pytest.raises(NotFound, match=r"^That conversation no longer exists\.$"):
        store.get_conversation(doomed.id)
    assert store.attachment_path(shared).exists()
    assert not store.attachment_path(only).exists()
    db = store._db
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 1
    assert store.list_conversations("zebra") == []
    with pytest.raises(NotFound, match=r"^That conversation no longer exists\.$"):
        store.undo_delete(doomed.id)
    store.close()


def test_purge_keeps_a_file_stored_this_session_for_a_draft(store: Store) -> None:
    picture = store.store_attachment_file(b"picture", "p.png", "image", "image/png")
    chat = store.create_conversation()
    store.add_message(chat.id, parent_id=None, role="user", content="see", attachments=[picture])
    store.delete(chat.id)
    again = store.store_attachment_file(b"picture", "p.png", "image", "image/png")  # dropped into the composer
    assert store.purge_deleted() == 1
    assert store.attachment_path(again).exists()
