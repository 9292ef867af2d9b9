"""Schema version 3: an answer's tool steps (the calls it made and their results) are kept with it, read back on
reopening, survive a damaged file, and go into both exports; pictures a tool returned join the answer's files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.store import SCHEMA_VERSION, NotFound, Store, StoreError, schema
from app.store.models import AttachmentRef
from tests.store.test_salvage import _kept, _pages, _smash

CLOCK_STEP: dict[str, Any] = {
    "thinking": "The user wants the time.",
    "text": "Let me check the clock.",
    "calls": [
        {
            "id": "call-1",
            "name": "current_time",
            "source": "builtin",
            "arguments": {"timezone": "Europe/Paris"},
            "raw": '{"timezone": "Europe/Paris"}',
            "status": "done",
            "result": "2026-12-02 11:25 CET",
            "images": [],
            "seconds": 0.01,
        }
    ],
}


def _picture_step(result: str, images: list[Any]) -> dict[str, Any]:
    call = {"id": "c2", "name": "draw", "source": "paint-server", "arguments": {"what": "a cat"}, "status": "done"}
    return {"text": "", "calls": [{**call, "result": result, "images": images, "seconds": 2.5}]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "chats.sqlite3") as opened:
        yield opened


def _answer_with_tools(store: Store, steps: list[dict[str, Any]], title: str = "Time") -> tuple[int, int]:
    chat = store.create_conversation(title)
    q = store.add_message(chat.id, parent_id=None, role="user", content="What time is it in Paris?")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", status="streaming", model="gemma")
    store.update_message(a.id, tools=steps)
    store.update_message(a.id, content="It is 11:25 in Paris.", status="complete")
    return chat.id, a.id


# --- the schema ----------------------------------------------------------------------------------------------


def _version_2_file(path: Path) -> None:
    """A database exactly as version 2 of the schema made it: a question and its answer."""
    db = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(db, schema.MIGRATIONS[:2]) == 2
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("INSERT INTO conversations(id, title, created_at, updated_at) VALUES (1, 'Old chat', 1.0, 1.0)")
    db.execute(
        "INSERT INTO messages(id, conversation_id, parent_id, role, content, created_at, updated_at) "
        "VALUES (1, 1, NULL, 'user', 'hello from before tools', 1.0, 1.0), "
        "(2, 1, 1, 'assistant', 'an answer from before tools', 2.0, 2.0)"
    )
    db.execute("UPDATE conversations SET leaf_id = 2 WHERE id = 1")
    db.close()


def test_a_version_2_database_migrates_and_its_answers_have_no_tool_steps(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    _version_2_file(path)
    with Store.open(path) as store:
        assert schema.user_version(store._db) == SCHEMA_VERSION >= 3
        columns = [row[1] for row in store._db.execute("PRAGMA table_info(messages)")]
        assert columns[-1] == "tools_json"
        question, answer = store.path(1)
        assert (question.content, answer.content) == ("hello from before tools", "an answer from before tools")
        assert question.tools == answer.tools == ()
        store.update_message(answer.id, tools=[CLOCK_STEP])  # an old answer takes tool steps like a new one
    with Store.open(path) as store:
        assert store.get_message(2).tools == (CLOCK_STEP,)


# --- writing and reading ---------------------------------------------------------------------------------------


def test_tool_steps_come_back_as_they_were_written(store: Store, tmp_path: Path) -> None:
    chat_id, answer_id = _answer_with_tools(store, [CLOCK_STEP, _picture_step("one cat", [0])])
    store.update_message(answer_id, content="It is 11:25 in Paris, and here is a cat.")  # tools=None: kept
    expected = (CLOCK_STEP, _picture_step("one cat", [0]))
    assert store.get_message(answer_id).tools == expected
    assert store.path(chat_id)[-1].tools == expected
    assert [m.tools for m in store.all_messages(chat_id)] == [(), expected]
    store.update_message(answer_id, tools=[])
    assert store.get_message(answer_id).tools == ()
    store.close()
    with Store.open(tmp_path / "chats.sqlite3") as reopened:
        assert reopened.get_message(answer_id).tools == ()


def test_tool_steps_json_cannot_hold_are_refused_and_nothing_changes(store: Store) -> None:
    _chat_id, answer_id = _answer_with_tools(store, [CLOCK_STEP])
    with pytest.raises(StoreError, match="tool calls cannot be saved"):
        store.update_message(answer_id, content="changed", tools=[{"result": object()}])
    message = store.get_message(answer_id)
    assert (message.content, message.tools) == ("It is 11:25 in Paris.", (CLOCK_STEP,))
    with pytest.raises(NotFound):
        store.update_message(10_000, tools=[CLOCK_STEP])


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("not json at all", ()),
        ('{"calls": []}', ()),
        ("null", ()),
        ('[1, "two", {"text": "kept"}, null]', ({"text": "kept"},)),
    ],
)
def test_damaged_tool_steps_read_as_none(store: Store, stored: str, read: tuple[dict[str, Any], ...]) -> None:
    _chat_id, answer_id = _answer_with_tools(store, [CLOCK_STEP])
    store._db.execute("UPDATE messages SET tools_json = ? WHERE id = ?", (stored, answer_id))
    assert store.get_message(answer_id).tools == read


def test_pictures_a_tool_returned_are_added_after_the_answers_files(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Draw")
    first = store.store_attachment_file(b"\x89PNG first", "sketch.png", "image", "image/png")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", attachments=[first])
    cat = store.store_attachment_file(b"\x89PNG cat", "cat.png", "image", "image/png")
    dog = store.store_attachment_file(b"\x89PNG dog", "dog.png", "image", "image/png")
    store.add_attachments(a.id, [cat, dog])
    store.add_attachments(a.id, [])
    assert [ref.name for ref in store.get_message(a.id).attachments] == ["sketch.png", "cat.png", "dog.png"]
    store.add_attachments(q.id, [dog])  # a message without files starts at the first place
    assert store.get_message(q.id).attachments == (dog,)
    positions = store._db.execute("SELECT position FROM attachments WHERE message_id = ? ORDER BY id", (a.id,))
    assert [row[0] for row in positions] == [0, 1, 2]
    odd = AttachmentRef(dog.sha256, "spreadsheet", "x.ods", "x", 1)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="Unknown attachment kind 'spreadsheet'"):
        store.add_attachments(a.id, [cat, odd])
    assert len(store.get_message(a.id).attachments) == 3  # nothing added
    with pytest.raises(NotFound):
        store.add_attachments(10_000, [cat])


# --- a damaged file keeps them -----------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["conversations", "first"])
def test_a_damaged_file_keeps_its_answers_tool_steps(tmp_path: Path, page: str) -> None:
    """SQLite reads the message rows (a smashed chat page), or the page scan finds them (a smashed first page),
    both rows written before version 3 (13 columns) and after it (14)."""
    path = tmp_path / "chats.sqlite3"
    _version_2_file(path)
    with Store.open(path) as store:
        chat_id, answer_id = _answer_with_tools(store, [CLOCK_STEP, _picture_step("`" * 5, [])])
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert chat_id != 1
    _smash(path, 1 if page == "first" else _pages(path, "conversations")[0])

    store, notice = Store.open_or_recover(path)
    with store:
        assert notice is not None and notice.startswith("The chat database was damaged. Recovered 2 chats")
        assert " and 4 messages" in notice
        assert f"kept as {_kept(tmp_path)[0]}" in notice
        assert store.get_message(answer_id).tools == (CLOCK_STEP, _picture_step("`" * 5, []))
        assert store.get_message(answer_id).content == "It is 11:25 in Paris."
        _old_question, old_answer = store.path(1)
        assert (old_answer.content, old_answer.tools) == ("an answer from before tools", ())


# --- exports -------------------------------------------------------------------------------------------------------


def test_the_json_export_holds_each_answers_tool_steps(store: Store, tmp_path: Path) -> None:
    chat_id, answer_id = _answer_with_tools(store, [CLOCK_STEP])
    written = store.export_json_file(chat_id, tmp_path / "out.json")
    messages = json.loads(written.read_text(encoding="utf-8"))["messages"]
    assert [m["tools"] for m in messages] == [[], [CLOCK_STEP]]
    assert messages[1]["id"] == answer_id


def test_the_markdown_export_shows_each_tool_call_between_thinking_and_answer(store: Store, tmp_path: Path) -> None:
    chat_id, answer_id = _answer_with_tools(store, [CLOCK_STEP])
    store.update_message(answer_id, thinking="Paris is on CET.", thinking_seconds=2.0)
    text = store.export_markdown(chat_id, tmp_path / "out").read_text(encoding="utf-8")
    assert (
        "## Assistant · gemma\n\n<details>\n<summary>Thinking · 2 s</summary>\n\nParis is on CET.\n\n</details>\n\n"
        "<details>\n<summary>Thinking</summary>\n\nThe user wants the time.\n\n</details>\n\n"
        "Let me check the clock.\n\n"
        "**Tool call · current_time** (Built-in · 0.01 s · done)\n\n"
        '```json\n{\n  "timezone": "Europe/Paris"\n}\n```\n\n'
        "Result:\n\n```\n2026-12-02 11:25 CET\n```\n\n"
        "It is 11:25 in Paris.\n"
    ) in text


def test_the_markdown_export_shows_a_tools_pictures_in_its_block(store: Store, tmp_path: Path) -> None:
    tricky = "a fence inside:\n```\nnot the end\n````\nstill the result"
    chat_id, answer_id = _answer_with_tools(store, [_picture_step(tricky, [1, 7, "x"])], title="Cats")
    mine = store.store_attachment_file(b"\x89PNG mine", "mine.png", "image", "image/png")
    cat = store.store_attachment_file(b"\x89PNG cat", "cat.png", "image", "image/png")
    store.add_attachments(answer_id, [mine, cat])
    out = tmp_path / "out"
    text = store.export_markdown(chat_id, out).read_text(encoding="utf-8")
    assert (
        "**Tool call · draw** (paint-server · 2.5 s · done)\n\n"
        '```json\n{\n  "what": "a cat"\n}\n```\n\n'
        f"Result:\n\n`````\n{tricky}\n`````\n\n"
        "![cat.png](<Cats_files/cat.png>)\n\n"
        "It is 11:25 in Paris.\n\n"
        "![mine.png](<Cats_files/mine.png>)\n"
    ) in text
    assert text.count("cat.png") == 2  # shown once (label and link), not again after the answer
    assert (out / "Cats_files" / "cat.png").read_bytes() == b"\x89PNG cat"
    assert (out / "Cats_files" / "mine.png").read_bytes() == b"\x89PNG mine"


def test_the_markdown_export_shows_what_there_is_of_an_odd_tool_step(store: Store, tmp_path: Path) -> None:
    steps: list[dict[str, Any]] = [
        {"calls": "not a list"},
        {
            "text": 42,
            "calls": [
                None,
                {},
                {"name": "lookup", "arguments": {}, "raw": "{not json", "status": "malformed", "error": "not JSON"},
            ],
        },
        {
            "calls": [
                {"name": ["odd"], "arguments": None, "result": None, "images": None, "seconds": float("nan")},
                {
                    "name": "search",
                    "arguments": {"q": "cats"},
                    "status": "error",
                    "seconds": "x",
                    "result": "The server went away.",
                },
            ]
        },
    ]
    chat_id, _answer_id = _answer_with_tools(store, steps)
    text = store.export_markdown(chat_id, tmp_path).read_text(encoding="utf-8")
    assert (
        "42\n\n**Tool call · a tool**\n\n"
        "**Tool call · lookup** (not readable)\n\n```\n{not json\n```\n\n*(not JSON)*\n\n"
    ) in text
    assert "**Tool call · a tool**\n\n**Tool call · search** (failed)\n\n" in text
    assert '```json\n{\n  "q": "cats"\n}\n```\n\nResult:\n\n```\nThe server went away.\n```\n\nIt is 11:25' in text
