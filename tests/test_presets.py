"""Presets without a window: the ones that ship, the file (saved, read back, damaged in every way a hand can damage
it), and a chat set up with one in a real store."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.chat import ChatSession, ChatSetup
from app.settings.preset_book import MAX_FILE_BYTES, PresetBook
from app.settings.presets import (
    BUILTIN_PRESETS,
    MAX_PROMPT_CHARS,
    Preset,
    PresetError,
    chat_overrides,
    chat_preset_name,
    preset_of_chat,
)
from app.store import Store
from app.tools.consent import chat_permissions, with_chat_permission


def test_the_shipped_presets() -> None:
    book = PresetBook(Path("/nonexistent/presets.json"))
    assert book.names()[:4] == ["General", "Concise", "Code reviewer", "Translator"]
    general = book.find("general")
    assert general is not None and general.system_prompt == "" and general.thinking is None and not general.sampling
    assert book.default().name == "General"
    concise = book.find("Concise")
    assert concise is not None and concise.builtin and concise.system_prompt and concise.thinking is False
    assert concise.summary() == "Think off · Temperature 0.7"
    assert all(p.builtin for p in BUILTIN_PRESETS)


def test_saved_presets_and_the_last_used_come_back(tmp_path: Path) -> None:
    book = PresetBook(tmp_path / "presets.json")
    book.add(Preset("Pirate", "Talk like a pirate.", thinking=True, sampling={"temperature": 1.3, "top_k": 0}))
    book.use("pirate")
    book.save()
    again = PresetBook.load(tmp_path / "presets.json")
    assert again.load_notice is None
    pirate = again.find("Pirate")
    assert pirate == Preset("Pirate", "Talk like a pirate.", True, {"temperature": 1.3, "top_k": 0})
    assert again.default().name == "Pirate"
    assert pirate.summary() == "Think on · Temperature 1.3 · Top-k Off"


def test_names_are_unique_and_built_in_presets_are_copied_not_changed(tmp_path: Path) -> None:
    book = PresetBook(tmp_path / "presets.json")
    with pytest.raises(PresetError, match="already a preset called Concise"):
        book.add(Preset("  concise "))
    with pytest.raises(PresetError, match="cannot be changed or deleted; copy it"):
        book.delete("Concise")
    with pytest.raises(PresetError, match="cannot be changed"):
        book.update("General", Preset("General", "x"))
    copy = book.copy_of("Concise")
    assert (
        copy.name == "Concise (copy)" and not copy.builtin and copy.system_prompt == book.find("Concise").system_prompt
    )  # type: ignore[union-attr]
    assert book.copy_of("Concise").name == "Concise (copy) 2"
    book.use("Concise (copy)")
    book.update("Concise (copy)", Preset("Short", "Be short."))
    assert book.last_used == "Short" and book.find("Concise (copy)") is None
    book.delete("Short")
    assert book.default().name == "General"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "holds no list of presets"),
        (b'{"presets": "all of them"}', "holds no list of presets"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "damaged"),
    ],
)
def test_a_file_that_is_not_presets_keeps_the_built_in_ones_and_a_copy(
    tmp_path: Path, content: bytes, said: str
) -> None:
    path = tmp_path / "presets.json"
    path.write_bytes(content)
    book = PresetBook.load(path)
    assert book.load_notice is not None and said in book.load_notice and "presets.json.bad" in book.load_notice
    assert book.names() == [p.name for p in BUILTIN_PRESETS]
    assert (tmp_path / "presets.json.bad").read_bytes() == content  # the user's file, before anything replaces it


def test_wrong_types_and_huge_text_lose_only_the_bad_presets_and_say_which(tmp_path: Path) -> None:
    path = tmp_path / "presets.json"
    good = {"name": "Good", "system_prompt": "Fine.", "sampling": {"temperature": "0.5"}}
    entries = [
        good,
        {"name": 42},
        {"name": "Huge", "system_prompt": "x" * (MAX_PROMPT_CHARS + 1)},
        {"name": "N" * 500},
        {"name": "Hot", "sampling": {"temperature": 99}},
        {"name": "Odd", "sampling": {"context_size": 4}},
        {"name": "Think", "thinking": "yes"},
        {"name": "Nul", "system_prompt": "a\x00b"},
        "a string",
        {"name": "General"},
    ]
    path.write_text(json.dumps({"version": 1, "last_used": ["x"], "presets": entries}), encoding="utf-8")
    book = PresetBook.load(path)
    assert [p.name for p in book.own] == ["Good"]
    assert book.find("Good") == Preset("Good", "Fine.", None, {"temperature": 0.5})
    notice = book.load_notice or ""
    assert "1 of your presets were read" in notice and "presets.json.bad" in notice
    assert "must be text" in notice and f"longer than {MAX_PROMPT_CHARS}" in notice and "(and 5 more)" in notice
    assert (tmp_path / "presets.json.bad").exists()
    book.save()  # the next save writes what is valid; the copy keeps the rest
    assert PresetBook.load(path).load_notice is None


def test_a_file_far_too_large_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "presets.json"
    with path.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)
    book = PresetBook.load(path)
    assert book.load_notice is not None and "far larger than presets can be" in book.load_notice
    assert book.own == []


def test_a_chat_keeps_its_preset_and_what_it_does_not_set_stays(tmp_path: Path) -> None:
    concise = PresetBook().find("Concise")
    assert concise is not None
    with Store.open(tmp_path / "chats.sqlite3") as store:
        session = ChatSession(store)
        chat = session.start(ChatSetup(concise.system_prompt, False, concise.chat_settings()))
        assert chat.system_prompt == concise.system_prompt and chat.thinking is False
        assert chat_preset_name(chat.settings) == "Concise" and chat_overrides(chat.settings) == {"temperature": 0.7}
        store.set_settings(chat.id, with_chat_permission(chat.settings, ("builtin", "calculator")))
        reviewer = PresetBook().find("Code reviewer")
        assert reviewer is not None
        updated = session.set_setup(chat.id, ChatSetup("Review my code.", True, reviewer.chat_settings()))
        assert updated.system_prompt == "Review my code." and updated.thinking is True
        assert chat_overrides(updated.settings) == {"temperature": 0.3}
        assert chat_permissions(updated.settings) == {("builtin", "calculator")}  # the chat's tools stay allowed
        saved = preset_of_chat("From chat", updated.system_prompt, updated.thinking, updated.settings)
        assert saved == Preset("From chat", "Review my code.", True, {"temperature": 0.3})


def test_a_chat_database_edited_by_hand_cannot_smuggle_settings() -> None:
    assert chat_overrides({"sampling": {"temperature": "hot", "top_k": 5, "context_size": 1, "seed": 2**40}}) == {
        "top_k": 5
    }
    assert chat_overrides({"sampling": [1]}) == {} and chat_preset_name({"preset": 3}) is None
    assert chat_preset_name({"preset": " Long   name " + "x" * 200}) == ("Long name " + "x" * 200)[:80]


def test_the_command_line_starts_a_chat_with_a_preset(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    book = PresetBook(home / "presets.json")
    book.add(Preset("Pirate", "Talk like a pirate.", thinking=True, sampling={"max_tokens": 5, "temperature": 0.2}))
    book.save()
    env = {**cli_env, "GEMMA_DESK_HOME": str(home)}
    db = tmp_path / "chats.sqlite3"
    args = ["chat", "-m", str(tiny_model), "--store", str(db), "--preset", "pirate", "--json", "--seed", "3"]
    proc = subprocess.run(
        [python, "-m", "app", *args], input="Ahoy\n", capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    stats = [e for e in map(json.loads, proc.stdout.splitlines()) if e["type"] == "stats"]
    assert stats[0]["completion_tokens"] == 5  # the preset's answer length
    with Store.open(db) as store:
        (summary,) = store.list_conversations()
        chat = store.get_conversation(summary.id)
    assert chat.system_prompt == "Talk like a pirate." and chat.thinking is True
    assert chat_preset_name(chat.settings) == "Pirate" and chat_overrides(chat.settings)["temperature"] == 0.2

    unknown = subprocess.run(
        [python, "-m", "app", "ask", "-m", str(tiny_model), "--preset", "Nope", "hi"],
        capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no preset called 'Nope'" in unknown.stderr and "Concise" in unknown.stderr and "Pirate" in unknown.stderr
