"""Message trees: regenerate and edit make siblings; the active branch is a path from the first message to a leaf."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import Message, NotFound, Store, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "chats.sqlite3") as opened:
        yield opened


def _texts(path: list[Message]) -> list[str]:
    return [m.content for m in path]


def _places(path: list[Message]) -> list[tuple[int, int]]:
    return [(m.sibling_index, m.sibling_count) for m in path]


def test_a_straight_conversation_is_its_own_path(store: Store) -> None:
    chat = store.create_conversation()
    assert store.path(chat.id) == []
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q1")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", content="A1", model="gemma-4-e2b")
    q2 = store.add_message(chat.id, parent_id=a.id, role="user", content="Q2")
    path = store.path(chat.id)
    assert _texts(path) == ["Q1", "A1", "Q2"]
    assert [m.parent_id for m in path] == [None, q.id, a.id]
    assert _places(path) == [(1, 1)] * 3
    assert path[1].model == "gemma-4-e2b"
    assert store.get_conversation(chat.id).leaf_id == q2.id


def test_regenerate_adds_a_sibling_answer_and_makes_it_active(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    store.add_message(chat.id, parent_id=q.id, role="assistant", content="first answer")
    second = store.add_message(chat.id, parent_id=q.id, role="assistant", content="second answer")
    assert (second.sibling_index, second.sibling_count) == (2, 2)
    path = store.path(chat.id)
    assert _texts(path) == ["Q", "second answer"]
    assert _places(path) == [(1, 1), (2, 2)]


def test_edit_and_resend_branches_at_the_edited_message(store: Store) -> None:
    chat = store.create_conversation()
    q1 = store.add_message(chat.id, parent_id=None, role="user", content="Q1")
    a1 = store.add_message(chat.id, parent_id=q1.id, role="assistant", content="A1")
    q2 = store.add_message(chat.id, parent_id=a1.id, role="user", content="Q2 with a typo")
    store.add_message(chat.id, parent_id=q2.id, role="assistant", content="A2")
    edited = store.add_message(chat.id, parent_id=q2.parent_id, role="user", content="Q2 fixed")
    store.add_message(chat.id, parent_id=edited.id, role="assistant", content="A2 again")
    path = store.path(chat.id)
    assert _texts(path) == ["Q1", "A1", "Q2 fixed", "A2 again"]
    assert _places(path) == [(1, 1), (1, 1), (2, 2), (1, 1)]
    # Editing the very first message makes a second root.
    store.add_message(chat.id, parent_id=None, role="user", content="Q1 rewritten")
    assert _places(store.path(chat.id)) == [(2, 2)]


def test_switch_sibling_moves_between_alternatives_and_follows_the_latest_branch(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    a1 = store.add_message(chat.id, parent_id=q.id, role="assistant", content="A1")
    f1 = store.add_message(chat.id, parent_id=a1.id, role="user", content="follow-up on A1")
    store.add_message(chat.id, parent_id=f1.id, role="assistant", content="old reply")
    newer = store.add_message(chat.id, parent_id=f1.id, role="assistant", content="newer reply")
    a2 = store.add_message(chat.id, parent_id=q.id, role="assistant", content="A2")
    a3 = store.add_message(chat.id, parent_id=q.id, role="assistant", content="A3")
    assert _texts(store.path(chat.id)) == ["Q", "A3"]

    path = store.switch_sibling(a3.id, -1)
    assert _texts(path) == ["Q", "A2"]
    assert path[1].sibling_index == 2 and path[1].sibling_count == 3
    path = store.switch_sibling(a2.id, -1)
    assert _texts(path) == ["Q", "A1", "follow-up on A1", "newer reply"]
    assert _places(path) == [(1, 1), (1, 3), (1, 1), (2, 2)]
    assert store.get_conversation(chat.id).leaf_id == newer.id
    # Past either end nothing moves.
    assert _texts(store.switch_sibling(a1.id, -1)) == _texts(path)
    assert _texts(store.switch_sibling(a3.id, +1)) == _texts(path)
    assert _texts(store.switch_sibling(a1.id, +2)) == ["Q", "A3"]


def test_switching_back_finds_the_branch_most_recently_worked_on(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    a1 = store.add_message(chat.id, parent_id=q.id, role="assistant", content="A1")
    x = store.add_message(chat.id, parent_id=a1.id, role="user", content="X")
    y = store.add_message(chat.id, parent_id=a1.id, role="user", content="Y")
    store.update_message(x.id, content="X edited later")  # X's branch is now the most recent under A1
    a2 = store.add_message(chat.id, parent_id=q.id, role="assistant", content="A2")
    assert _texts(store.switch_sibling(a2.id, -1)) == ["Q", "A1", "X edited later"]
    assert y.id != x.id


def test_get_message_reports_its_place(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    first = store.add_message(chat.id, parent_id=q.id, role="assistant", content="A1")
    store.add_message(chat.id, parent_id=q.id, role="assistant", content="A2")
    found = store.get_message(first.id)
    assert (found.content, found.sibling_index, found.sibling_count) == ("A1", 1, 2)
    with pytest.raises(NotFound, match=r"^That message no longer exists\.$"):
        store.get_message(9999)


def test_a_parent_from_another_conversation_is_refused(store: Store) -> None:
    one, two = store.create_conversation(), store.create_conversation()
    q = store.add_message(one.id, parent_id=None, role="user", content="Q")
    with pytest.raises(NotFound, match=r"^The message this one answers is not in this conversation\.$"):
        store.add_message(two.id, parent_id=q.id, role="assistant", content="A")
    with pytest.raises(NotFound, match=r"^That conversation no longer exists\.$"):
        store.add_message(9999, parent_id=None, role="user", content="nowhere")
    with pytest.raises(StoreError, match="role"):
        store.add_message(one.id, parent_id=None, role="robot", content="?")  # type: ignore[arg-type]
    assert _texts(store.path(one.id)) == ["Q"]
    assert store.path(two.id) == []


def test_all_messages_holds_every_branch(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    store.add_message(chat.id, parent_id=q.id, role="assistant", content="A1")
    store.add_message(chat.id, parent_id=q.id, role="assistant", content="A2")
    every = store.all_messages(chat.id)
    assert [(m.content, m.sibling_index, m.sibling_count) for m in every] == [
        ("Q", 1, 1),
        ("A1", 1, 2),
        ("A2", 2, 2),
    ]


def test_a_deep_conversation_has_its_whole_path(store: Store) -> None:
    chat = store.create_conversation()
    parent = None
    for i in range(600):
        parent = store.add_message(
            chat.id, parent_id=parent, role="user" if i % 2 == 0 else "assistant", content=f"message {i}"
        ).id
    path = store.path(chat.id)
    assert len(path) == 600 and path[-1].content == "message 599"
