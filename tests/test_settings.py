"""Settings: the declarations, validation of each kind, atomic updates, and files that are missing or damaged."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import SETTINGS, Settings, SettingsError, defaults, persistence, reference_markdown, setting, validate


def test_every_declaration_is_complete_and_its_default_valid() -> None:
    keys = [s.key for s in SETTINGS]
    assert len(keys) == len(set(keys))
    for s in SETTINGS:
        assert s.label and s.help and s.group, s.key
        assert validate(s.key, s.default) == s.default
        assert type(validate(s.key, s.default)) is type(s.default)
        if s.kind in ("int", "float"):
            assert s.minimum is not None and s.maximum is not None and s.minimum <= s.default <= s.maximum  # type: ignore[operator]
        if s.kind == "choice":
            assert s.default in s.choices
            assert not s.choice_labels or len(s.choice_labels) == len(s.choices)


def test_defaults() -> None:
    fresh = Settings()
    assert fresh.as_dict() == defaults()
    assert fresh["temperature"] == 1.0
    assert fresh.get("top_p") == 0.95
    assert fresh.get_int("top_k") == 64
    assert fresh.get_int("seed") == -1
    assert fresh.get_int("context_size") == 8192
    assert fresh.get_int("vision_budget") == 280
    assert fresh.get_str("theme") == "system"
    assert fresh.get_bool("thinking_default") is False
    assert fresh.get_str("system_prompt") == ""
    assert fresh.get_str("last_model_path") == ""
    assert fresh.load_notice is None
    with pytest.raises(KeyError, match="no_such_setting"):
        fresh.get("no_such_setting")


def test_default_path_follows_gemma_desk_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEMMA_DESK_HOME", str(tmp_path))
    assert Settings().path == tmp_path / "settings.json"
    assert Settings.load().path == tmp_path / "settings.json"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("temperature", "0.7", 0.7),
        ("temperature", 1, 1.0),
        ("temperature", " 2 ", 2.0),
        ("top_k", "40", 40),
        ("top_k", 40.0, 40),
        ("seed", "-1", -1),
        ("seed", 2**31 - 1, 2**31 - 1),
        ("thinking_default", "true", True),
        ("thinking_default", "Off", False),
        ("thinking_default", 1, True),
        ("vision_budget", "560", 560),
        ("vision_budget", 1120.0, 1120),
        ("theme", "dark", "dark"),
        ("system_prompt", "Answer in French.\nBe brief.", "Answer in French.\nBe brief."),
    ],
)
def test_validate_coerces(key: str, value: object, expected: object) -> None:
    result = validate(key, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("temperature", 5, "Temperature must be between 0 and 2 (got 5)."),
        ("temperature", "-0.5", "Temperature must be between 0 and 2 (got -0.5)."),
        ("temperature", "abc", "Temperature must be a number (got 'abc')."),
        ("temperature", "", "Temperature must be a number (got nothing)."),
        ("temperature", "nan", "Temperature must be a number (got 'nan')."),
        ("temperature", True, "Temperature must be a number (got True)."),
        ("top_p", 1.5, "Top-p must be between 0 and 1 (got 1.5)."),
        ("top_k", 0.5, "Top-k must be a whole number (got 0.5)."),
        ("top_k", "ten", "Top-k must be a whole number (got 'ten')."),
        ("top_k", 501, "Top-k must be between 0 and 500 (got 501)."),
        ("seed", 2**31, "Seed must be between -1 and 2147483647 (got 2147483648)."),
        ("context_size", "100", "Context size must be between 512 and 262144 (got 100)."),
        ("thinking_default", "maybe", "Think before answering in new chats must be on or off (got 'maybe')."),
        ("thinking_default", 2, "Think before answering in new chats must be on or off (got 2)."),
        ("vision_budget", 300, "Image detail must be one of 70, 140, 280, 560, 1120 (got 300)."),
        ("theme", "purple", "Theme must be one of system, light, dark (got 'purple')."),
        ("system_prompt", None, "System prompt must be text (got nothing)."),
        ("system_prompt", 3, "System prompt must be text (got 3)."),
        ("no_such_setting", 1, "There is no setting called 'no_such_setting'."),
    ],
)
def test_validate_refuses_with_a_message_naming_the_setting(key: str, value: object, message: str) -> None:
    with pytest.raises(SettingsError, match=f"^{re.escape(message)}$") as caught:
        validate(key, value)
    assert str(caught.value) == message
    assert caught.value.key == key


def test_set_validates() -> None:
    s = Settings()
    s.set("temperature", "0.3")
    assert s["temperature"] == 0.3
    with pytest.raises(SettingsError, match=r"^Temperature must be between 0 and 2 \(got 9\)\.$"):
        s.set("temperature", 9)
    assert s["temperature"] == 0.3


def test_update_is_all_or_nothing() -> None:
    s = Settings()
    with pytest.raises(SettingsError, match="Top-k"):
        s.update({"temperature": 0.2, "top_k": -3, "theme": "dark"})
    assert s.as_dict() == defaults()
    s.update({"temperature": "0.2", "top_k": "3", "theme": "dark"})
    assert (s["temperature"], s["top_k"], s["theme"]) == (0.2, 3, "dark")


def test_as_dict_is_a_copy() -> None:
    s = Settings()
    s.as_dict()["temperature"] = 99
    assert s["temperature"] == 1.0


def test_missing_file_gives_defaults_without_a_notice(tmp_path: Path) -> None:
    loaded = Settings.load(tmp_path / "nowhere" / "settings.json")
    assert loaded.as_dict() == defaults()
    assert loaded.load_notice is None


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "settings.json"
    s = Settings(path)
    s.update({"temperature": 0.4, "seed": 1234, "thinking_default": True, "theme": "light"})
    s.set("system_prompt", "Réponds en français.\nSois bref.")
    s.set("last_model_path", str(tmp_path / "gemma 4.gguf"))
    s.save()
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]  # no temporary file left behind
    loaded = Settings.load(path)
    assert loaded.as_dict() == s.as_dict()
    assert loaded.load_notice is None
    # Only changed values are written, so a later version's better defaults reach unchanged settings.
    assert "top_k" not in json.loads(path.read_text(encoding="utf-8"))


def test_save_replaces_the_old_file_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    s = Settings(path)
    s.set("temperature", 0.5)
    s.save()

    def broken_dump(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(persistence.json, "dump", broken_dump)
    s.set("temperature", 1.5)
    with pytest.raises(OSError, match="disk full"):
        s.save()
    monkeypatch.undo()
    assert Settings.load(path)["temperature"] == 0.5  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_corrupt_file_gives_defaults_and_keeps_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"temperature": 0.5,', encoding="utf-8")
    loaded = Settings.load(path)
    assert loaded.as_dict() == defaults()
    assert loaded.load_notice is not None
    assert "not valid JSON" in loaded.load_notice and "settings.json.bad" in loaded.load_notice
    assert (tmp_path / "settings.json.bad").read_text(encoding="utf-8") == '{"temperature": 0.5,'


@pytest.mark.parametrize("content", [b"[1, 2, 3]", b'"hello"', b"\xff\xfe\x00garbage"])
def test_file_without_settings_gives_defaults(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    loaded = Settings.load(path)
    assert loaded.as_dict() == defaults()
    assert loaded.load_notice
    assert (tmp_path / "settings.json.bad").read_bytes() == content


def test_bad_values_fall_back_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"temperature": 5, "top_k": 20, "theme": "purple", "seed": "7"}), encoding="utf-8")
    loaded = Settings.load(path)
    assert loaded["top_k"] == 20
    assert loaded["seed"] == 7
    assert loaded["temperature"] == 1.0
    assert loaded["theme"] == "system"
    notice = loaded.load_notice or ""
    assert "Temperature must be between 0 and 2 (got 5)." in notice
    assert "Theme must be one of" in notice
    assert "settings.json.bad" in notice
    assert (tmp_path / "settings.json.bad").exists()


def test_unknown_keys_survive_a_save(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"temperature": 0.5, "future_feature": {"on": True}}), encoding="utf-8")
    loaded = Settings.load(path)
    assert loaded.load_notice is None
    assert "future_feature" not in loaded.as_dict()
    loaded.set("top_k", 10)
    loaded.save()
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == {"temperature": 0.5, "top_k": 10, "future_feature": {"on": True}}


def test_unreadable_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.mkdir()  # a folder where the file should be: reading fails with an OSError
    loaded = Settings.load(path)
    assert loaded.as_dict() == defaults()
    assert loaded.load_notice and "could not be read" in loaded.load_notice


def test_setting_lookup() -> None:
    assert setting("vision_budget").choice_label(1120) == "1120 tokens (finest print)"
    assert setting("top_k").choice_label(3) == "3"
    with pytest.raises(SettingsError, match=r"^There is no setting called 'nope'\.$"):
        setting("nope")


def test_reference_docs_name_every_setting() -> None:
    docs = reference_markdown()
    for s in SETTINGS:
        assert f"`{s.key}`" in docs and s.label in docs


def test_settings_import_no_qt() -> None:
    code = "import sys, app.settings; print(sorted(m for m in sys.modules if m.startswith('PySide6')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
