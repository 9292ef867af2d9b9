"""`gemma-desk ask --file` and `chat`'s `/file`: documents from the command line, and a chat line's text
reaching the model exactly as typed."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from app.cli.input import LineError, parse_chat_line
from tests.media.documents.sample_files import write_pdf
from tests.test_cli import assert_one_line_error, json_lines, run_cli

# --- a chat line: attachment commands first, then the text byte for byte -------------------------------------

EXACT = [
    'He said "hi"',
    'print("x")  # note',
    r"C:\Users\me\file.txt and \n stays",
    "  two leading spaces,   three inside,\ttab",
    "it's an unbalanced ' quote",
    "50% of $HOME ~ `ls` *.py",
    "/etc/passwd is a path, not a command",
    "ask about /file uploads mid-line",
]


@pytest.mark.parametrize("line", EXACT)
def test_text_arrives_byte_for_byte(line: str) -> None:
    assert parse_chat_line(line + "\n") == ([], line)


@pytest.mark.parametrize("line", EXACT)
def test_text_after_attachments_arrives_byte_for_byte(line: str) -> None:
    files, text = parse_chat_line(f"/file notes.pdf /image 'my photo.png' {line}\r\n")
    assert files == [("file", Path("notes.pdf")), ("image", Path("my photo.png"))]
    assert text == line


def test_quoted_paths_keep_their_spaces_and_quotes_of_the_other_kind() -> None:
    files, text = parse_chat_line("""/file "a b/it's.txt" /audio 'say "hi".wav'   what?""")
    assert files == [("file", Path("a b/it's.txt")), ("audio", Path('say "hi".wav'))]
    assert text == "  what?"  # one separating space is taken, the rest is the user's


def test_attachments_only() -> None:
    assert parse_chat_line("/video clip.mp4\n") == ([("video", Path("clip.mp4"))], "")


@pytest.mark.parametrize(
    ("line", "message"),
    [("/file", "/file needs a path, e.g. /file notes.pdf"), ("/file   ", "/file needs a path"),
     ('/image "unclosed.png what', r'/image: the path\'s closing " is missing')],
)  # fmt: skip
def test_bad_commands_are_named(line: str, message: str) -> None:
    with pytest.raises(LineError, match=message):
        parse_chat_line(line)


def test_a_word_that_only_starts_like_a_command_is_text() -> None:
    assert parse_chat_line("/filename is a word") == ([], "/filename is a word")


# --- real processes -------------------------------------------------------------------------------------------


def stored_user_messages(db: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT id, content FROM messages WHERE role = 'user' ORDER BY id").fetchall()
        return [
            (content, con.execute("SELECT kind, name FROM attachments WHERE message_id = ?", (mid,)).fetchall())
            for mid, content in rows
        ]


def test_chat_stores_each_line_exactly_as_typed(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    db = tmp_path / "chats.db"
    lines = ['He said "hi"', 'print("x")  # note', r"a\\b  \t c"]
    proc = subprocess.run(
        [python, "-m", "app", "chat", "-m", str(tiny_model), "--json", "--max-tokens", "2", "--store", str(db)],
        input="\n".join(lines) + "\n", capture_output=True, text=True, env=cli_env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [content for content, _ in stored_user_messages(db)] == lines


def test_chat_line_with_a_command_missing_its_path_is_skipped(
    python: str, cli_env: dict[str, str], tiny_model: Path
) -> None:
    proc = subprocess.run(
        [python, "-m", "app", "chat", "-m", str(tiny_model), "--json", "--max-tokens", "2"],
        input="/file\nHello\n", capture_output=True, text=True, env=cli_env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    events = json_lines(proc.stdout)
    assert events[0] == {"type": "error", "message": "line 1: /file needs a path, e.g. /file notes.pdf"}
    assert len([e for e in events if e["type"] == "stats"]) == 1  # "Hello" was still answered


def test_ask_file_refuses_a_model_and_an_unknown_kind(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--file", str(tiny_model), "hi")
    assert_one_line_error(proc, 1, f"{tiny_model.name} is a model file: load it with --model")
    program = tmp_path / "tool.exe"
    program.write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 8)
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--file", str(program), "hi")
    assert_one_line_error(proc, 1, "tool.exe")


# --- documents ------------------------------------------------------------------------------------------------


def test_ask_about_documents_puts_their_text_in_the_prompt(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    code = tmp_path / "Makefile"
    code.write_text("all:\n\tcc -o app main.c  # build\n" * 40)
    notes = write_pdf(tmp_path / "notes.pdf", ["Minutes of the harbour meeting. " * 20, "Budget: forty ships. " * 20])
    base = ["ask", "-m", str(tiny_model), "--json", "--max-tokens", "1", "--seed", "1"]
    bare = run_cli(python, cli_env, *base, "What do they say?")
    both = run_cli(python, cli_env, *base, "--file", str(code), "--file", str(notes), "What do they say?")
    assert bare.returncode == both.returncode == 0, both.stderr
    [bare_stats] = [e for e in json_lines(bare.stdout) if e["type"] == "stats"]
    [both_stats] = [e for e in json_lines(both.stdout) if e["type"] == "stats"]
    # The tiny model's vocabulary spends about a token a character: both documents' text is in the prompt.
    added = int(both_stats["prompt_tokens"]) - int(bare_stats["prompt_tokens"])  # type: ignore[call-overload]
    assert added > len(code.read_text()) // 2 + 600


def test_chat_file_lines_store_documents_with_the_conversation(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    db = tmp_path / "chats.db"
    (tmp_path / "my notes.md").write_text("# Plan\n\n- ship it\n")
    turns = f'/file "{tmp_path / "my notes.md"}" Summarise   "this"\nThanks!\n'
    proc = subprocess.run(
        [python, "-m", "app", "chat", "-m", str(tiny_model), "--json", "--max-tokens", "2", "--store", str(db)],
        input=turns, capture_output=True, text=True, env=cli_env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert stored_user_messages(db) == [('Summarise   "this"', [("document", "my notes.md")]), ("Thanks!", [])]


def test_chat_skips_a_turn_whose_document_cannot_be_read(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    (tmp_path / "data.txt").write_bytes(bytes(range(256)) * 64)  # binary, named .txt
    proc = subprocess.run(
        [python, "-m", "app", "chat", "-m", str(tiny_model), "--json", "--max-tokens", "2"],
        input=f"/file {tmp_path / 'data.txt'} what is it?\nHello\n", capture_output=True, text=True, env=cli_env,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    events = json_lines(proc.stdout)
    assert events[0]["type"] == "error" and str(events[0]["message"]).startswith("data.txt ")
    assert len([e for e in events if e["type"] == "stats"]) == 1
