"""`gemma-desk chat --store FILE [--continue [ID]]`: the command line keeps its conversation in a chat database
through the conversation core; run as real subprocesses."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from app.store import Store
from tests.test_cli import assert_one_line_error, json_lines


def chat(python: str, env: dict[str, str], model: Path, *args: str, turns: str) -> subprocess.CompletedProcess[str]:
    command = [python, "-m", "app", "chat", "-m", str(model), "--json", "--max-tokens", "4", "--seed", "1", *args]
    return subprocess.run(command, input=turns, capture_output=True, text=True, env=env, timeout=120)


def answers(stdout: str) -> list[str]:
    """The answer text of each turn, from the JSON events."""
    texts, current = [], ""
    for event in json_lines(stdout):
        if event["type"] == "answer":
            current += str(event["text"])
        elif event["type"] == "done":
            texts.append(current)
            current = ""
    return texts


def test_the_store_keeps_the_conversation_and_continue_goes_on_with_it(
    python: str, cli_env: dict[str, str], tiny_model: Path, tiny_mmproj: Path, tmp_path: Path, photo: Path
) -> None:
    db = tmp_path / "chats.sqlite3"
    first = chat(
        python, cli_env, tiny_model, "--mmproj", str(tiny_mmproj), "--store", str(db),
        turns=f"/image {photo} What is this?\nAnd the colour?\n",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    with Store.open(db) as store:
        [conversation] = store.list_conversations()
        path = store.path(conversation.id)
    assert conversation.title == "What is this?"
    assert [(m.role, m.status) for m in path] == [("user", "complete"), ("assistant", "complete")] * 2
    assert [m.content for m in path[1::2]] == answers(first.stdout)
    assert [(a.kind, a.name) for a in path[0].attachments] == [("image", photo.name)]
    assert path[1].model == "Tiny Gemma 4 (test)"

    again = chat(
        python, cli_env, tiny_model, "--mmproj", str(tiny_mmproj), "--store", str(db), "--continue",
        turns="Thanks!\n",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    [stats] = [e for e in json_lines(again.stdout) if e["type"] == "stats"]
    assert stats["media_tokens"] == 80  # the picture, read back from the store, went along
    with Store.open(db) as store:
        assert len(store.list_conversations()) == 1
        path = store.path(conversation.id)
    assert [m.content for m in path[::2]] == ["What is this?", "And the colour?", "Thanks!"]


def test_continue_by_number_and_its_mistakes(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    db = tmp_path / "chats.sqlite3"
    assert_one_line_error(
        chat(python, cli_env, tiny_model, "--continue", turns="Hi\n"), 2, "--continue needs --store FILE"
    )
    assert_one_line_error(
        chat(python, cli_env, tiny_model, "--store", str(db), "--continue", turns="Hi\n"),
        1,
        f"There is no conversation in {db} to continue.",
    )
    for text in ("First chat", "Second chat"):
        assert chat(python, cli_env, tiny_model, "--store", str(db), turns=f"{text}\n").returncode == 0
    proc = chat(python, cli_env, tiny_model, "--store", str(db), "--continue", "1", turns="More\n")
    assert proc.returncode == 0, proc.stderr
    with Store.open(db) as store:
        assert [m.content for m in store.path(1)[::2]] == ["First chat", "More"]
        assert [m.content for m in store.path(2)[::2]] == ["Second chat"]
    assert_one_line_error(
        chat(python, cli_env, tiny_model, "--store", str(db), "--continue", "7", turns="Hi\n"),
        1,
        "That conversation no longer exists.",
    )
    assert_one_line_error(
        chat(python, cli_env, tiny_model, "--store", str(tmp_path), turns="Hi\n"),
        1,
        f"{tmp_path} is a folder: --store takes the chat database file (made if missing).",
    )


def test_an_answer_cut_off_by_a_killed_chat_is_kept_and_recovered_as_stopped(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    db = tmp_path / "chats.sqlite3"
    command = [python, "-m", "app", "chat", "-m", str(tiny_model), "--json", "--ctx", "8192", "--store", str(db)]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=cli_env
    )
    assert proc.stdin is not None
    proc.stdin.write("Write forever\n")
    proc.stdin.flush()
    saved = ""
    deadline = time.monotonic() + 60
    while not saved and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        try:
            with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as reader:
                row = reader.execute("SELECT content FROM messages WHERE role = 'assistant'").fetchone()
        except sqlite3.Error:  # not created yet
            row = None
        saved = row[0] if row else ""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert saved, "no part of the answer was saved while it streamed"

    after = chat(python, cli_env, tiny_model, "--store", str(db), "--continue", turns="Go on\n")
    assert after.returncode == 0, after.stderr
    with Store.open(db) as store:
        path = store.path(1)
    assert [(m.role, m.status) for m in path] == [
        ("user", "complete"),
        ("assistant", "stopped"),  # recovered when the second run opened the store
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert path[1].content.startswith(saved)


def test_continue_goes_on_with_the_latest_chat_even_when_another_is_pinned(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    db = tmp_path / "chats.sqlite3"
    with Store.open(db) as store:
        older = store.create_conversation("Pinned and older")
        store.add_message(older.id, parent_id=None, role="user", content="old question")
        time.sleep(0.01)
        newer = store.create_conversation("Latest")
        store.add_message(newer.id, parent_id=None, role="user", content="new question")
        store.set_pinned(older.id, True)
        assert store.list_conversations()[0].id == older.id  # the sidebar lists it first
    result = chat(python, cli_env, tiny_model, "--store", str(db), "--continue", turns="Go on\n")
    assert result.returncode == 0, result.stderr
    with Store.open(db) as store:
        assert [m.content for m in store.all_messages(newer.id) if m.role == "user"] == ["new question", "Go on"]
        assert len(store.all_messages(older.id)) == 1
