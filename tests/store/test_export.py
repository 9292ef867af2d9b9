"""Export: Markdown of the active branch with pictures alongside, JSON of the whole tree."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import Store, StoreError
from app.store.export import JSON_FORMAT, safe_filename

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "data" / "chats.sqlite3") as opened:
        yield opened


def _conversation(store: Store) -> tuple[int, list[int]]:
    chat = store.create_conversation(system_prompt="You are terse.\nAnswer in English.", thinking=True)
    cat = store.store_attachment_file(b"\x89PNG fake cat", "cat.png", "image", "image/png")
    clip = store.store_attachment_file(b"RIFF fake wav", "note.wav", "audio", "audio/wav")
    q = store.add_message(
        chat.id, parent_id=None, role="user", content="What is in this picture?", attachments=[cat, clip]
    )
    old = store.add_message(chat.id, parent_id=q.id, role="assistant", content="An old answer (not active)")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", thinking="Whiskers… a cat.", model="gemma-4-e2b")
    store.update_message(a.id, content="A **cat**.", thinking_seconds=3.2, stats={"tokens": 4}, status="complete")
    q2 = store.add_message(chat.id, parent_id=a.id, role="user", content="And the colour?")
    a2 = store.add_message(chat.id, parent_id=q2.id, role="assistant", content="Ginger", status="stopped")
    return chat.id, [q.id, old.id, a.id, q2.id, a2.id]


def test_markdown_holds_the_active_branch_with_thinking_folded_and_pictures_alongside(
    store: Store, tmp_path: Path
) -> None:
    chat_id, _ = _conversation(store)
    out = tmp_path / "export"
    path = store.export_markdown(chat_id, out)
    assert path == out / "What is in this picture.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# What is in this picture?\n")
    assert "> **System prompt**\n>\n> You are terse.\n> Answer in English.\n" in text
    assert "## User\n\nWhat is in this picture?\n\n![cat.png](<What is in this picture_files/cat.png>)\n" in text
    assert "[note.wav](<What is in this picture_files/note.wav>)" in text
    assert (
        "## Assistant · gemma-4-e2b\n\n<details>\n<summary>Thinking · 3 s</summary>\n\nWhiskers… a cat.\n\n"
        "</details>\n\nA **cat**.\n" in text
    )
    assert "An old answer" not in text
    assert "Ginger\n\n*(Stopped before the answer was finished.)*" in text
    assert (out / "What is in this picture_files" / "cat.png").read_bytes() == b"\x89PNG fake cat"
    assert text.index("## User") < text.index("## Assistant") < text.index("And the colour?")


def test_markdown_export_names_files_safely(store: Store, tmp_path: Path) -> None:
    chat = store.create_conversation('a/b: "c"? <d>*')
    store.add_message(chat.id, parent_id=None, role="user", content="hi")
    assert store.export_markdown(chat.id, tmp_path).name == "a b c d.md"
    assert safe_filename("CON") == "Chat CON"
    assert safe_filename("...") == "Chat"
    assert safe_filename("x" * 300) == "x" * 80


def test_json_holds_every_branch(store: Store, tmp_path: Path) -> None:
    chat_id, ids = _conversation(store)
    data = store.export_json(chat_id)
    assert data["format"] == JSON_FORMAT and data["version"] == 1
    assert data["conversation"]["system_prompt"] == "You are terse.\nAnswer in English."
    assert data["conversation"]["thinking"] is True
    assert [m["id"] for m in data["messages"]] == ids
    assert data["active_path"] == [ids[0], ids[2], ids[3], ids[4]]
    by_id = {m["id"]: m for m in data["messages"]}
    assert by_id[ids[1]]["parent_id"] == ids[0] and by_id[ids[1]]["content"] == "An old answer (not active)"
    assert by_id[ids[2]]["stats"] == {"tokens": 4} and by_id[ids[2]]["thinking_seconds"] == 3.2
    assert [a["name"] for a in by_id[ids[0]]["attachments"]] == ["cat.png", "note.wav"]
    assert by_id[ids[0]]["attachments"][0]["kind"] == "image"
    written = store.export_json_file(chat_id, tmp_path / "out" / "chat.json")
    again = json.loads(written.read_text(encoding="utf-8"))
    assert again["messages"] == data["messages"] and again["active_path"] == data["active_path"]


def test_export_into_an_impossible_place_is_a_store_error(store: Store, tmp_path: Path) -> None:
    chat_id, _ = _conversation(store)
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="The export to"):
        store.export_markdown(chat_id, blocker)
    with pytest.raises(StoreError, match="The export to"):
        store.export_json_file(chat_id, blocker / "x.json")


def test_the_store_imports_no_qt() -> None:
    code = "import sys, app.store; print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_markdown_export_keeps_tex_as_written(store: Store, tmp_path: Path) -> None:
    """Formulas the window draws as pictures are exported as the TeX the model wrote."""
    chat = store.create_conversation("Maths")
    q = store.add_message(chat.id, parent_id=None, role="user", content="Roots?")
    answer = "Roots: $x_{1,2}$ with\n\n$$\nx = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\n$$\n\nand \\(a \\ne 0\\); costs $5."
    store.add_message(chat.id, parent_id=q.id, role="assistant", content=answer, status="complete")
    text = store.export_markdown(chat.id, tmp_path).read_text(encoding="utf-8")
    assert answer in text
