"""Chat presets: a name, a system prompt, Think, and the sampling settings a chat started with it uses.

No Qt: the window and the command line share it. A preset changes only the settings it names (``sampling``);
the rest come from the user's settings as before. A chat keeps its set-up in its own row: the system prompt and
Think in their columns, the preset's name and sampling in its settings (``chat_settings``), read back through
``chat_overrides`` (checked again: a chat database is a file a person may edit).

The file of the user's presets is ``app.settings.preset_book``; the presets that ship are ``BUILTIN_PRESETS``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.settings.declarations import SettingsError, Value, setting
from app.settings.validation import number_text, validate

log = logging.getLogger("app.settings")

#: The settings a preset may set for its chats, in the order the editor shows them.
PRESET_KEYS: tuple[str, ...] = ("temperature", "top_p", "top_k", "repeat_penalty", "max_tokens", "seed")
#: Where a chat's own settings (``Conversation.settings``) keep its preset's name and sampling.
CHAT_PRESET = "preset"
CHAT_SAMPLING = "sampling"
MAX_NAME_CHARS = 80
MAX_PROMPT_CHARS = 20_000
DEFAULT_PRESET = "General"


class PresetError(ValueError):
    """A preset that cannot be used as it is; ``str(error)`` is one line fit to show."""


@dataclass(frozen=True)
class Preset:
    """What a chat starts with. ``thinking`` None: the "Think before answering in new chats" setting decides."""

    name: str
    system_prompt: str = ""
    thinking: bool | None = None
    sampling: Mapping[str, Value] = field(default_factory=dict)
    builtin: bool = False

    def chat_settings(self) -> dict[str, Any]:
        """What a chat started with this preset keeps in its own settings: the name and the sampling."""
        return {CHAT_PRESET: self.name, CHAT_SAMPLING: dict(self.sampling)}

    def thinking_or(self, default: bool) -> bool:
        return default if self.thinking is None else self.thinking

    def summary(self) -> str:
        """One line: Think and the settings it changes ("Think on · Temperature 0.3"), for a tooltip or label."""
        parts = [] if self.thinking is None else [f"Think {'on' if self.thinking else 'off'}"]
        for key in PRESET_KEYS:
            if key in self.sampling:
                s = setting(key)
                value = self.sampling[key]
                shown = s.minimum_label if s.minimum_label and value == s.minimum else _shown(value)
                parts.append(f"{s.label} {shown}")
        return " · ".join(parts) or "The settings as they are"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "system_prompt": self.system_prompt}
        if self.thinking is not None:
            data["thinking"] = self.thinking
        if self.sampling:
            data["sampling"] = dict(self.sampling)
        return data


def _shown(value: Value) -> str:
    return number_text(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def check_name(name: object) -> str:
    """A preset's name, trimmed; ``PresetError`` for an empty, overlong or non-text one."""
    if not isinstance(name, str):
        raise PresetError("A preset's name must be text.")
    name = " ".join(name.split())
    if not name:
        raise PresetError("A preset needs a name.")
    if len(name) > MAX_NAME_CHARS:
        raise PresetError(f"A preset's name may be at most {MAX_NAME_CHARS} characters ({name[:20]}… is longer).")
    return name


def check_prompt(prompt: object, name: str = "") -> str:
    if not isinstance(prompt, str):
        raise PresetError(f"The system prompt of {name or 'a preset'} must be text.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise PresetError(f"The system prompt of {name or 'a preset'} is longer than {MAX_PROMPT_CHARS} characters.")
    if "\x00" in prompt:
        raise PresetError(f"The system prompt of {name or 'a preset'} holds a NUL character.")
    return prompt


def check_sampling(values: object, name: str = "") -> dict[str, Value]:
    """The sampling a preset sets, each value checked as its setting is; ``PresetError`` names the first bad one."""
    if not isinstance(values, Mapping):
        raise PresetError(f"The sampling settings of {name or 'a preset'} must be a JSON object.")
    checked: dict[str, Value] = {}
    for key, value in values.items():
        if key not in PRESET_KEYS:
            raise PresetError(f"{name or 'A preset'}: a preset cannot set {str(key)[:40]!r}.")
        try:
            checked[key] = validate(key, value)
        except SettingsError as error:
            raise PresetError(f"{name or 'A preset'}: {error}") from None
    return {key: checked[key] for key in PRESET_KEYS if key in checked}


def preset_from_json(raw: object) -> Preset:
    """One preset as the file holds it; ``PresetError`` says what is wrong with it."""
    if not isinstance(raw, Mapping):
        raise PresetError("A preset must be a JSON object.")
    name = check_name(raw.get("name"))
    thinking = raw.get("thinking")
    if thinking is not None and not isinstance(thinking, bool):
        raise PresetError(f"{name}: Think must be true, false or left out.")
    return Preset(
        name=name,
        system_prompt=check_prompt(raw.get("system_prompt", ""), name),
        thinking=thinking,
        sampling=check_sampling(raw.get("sampling", {}), name),
    )


def chat_overrides(chat_settings: Mapping[str, Any]) -> dict[str, Value]:
    """The settings a chat's own preset sampling changes, checked; a value that does not pass is left out."""
    sampling = chat_settings.get(CHAT_SAMPLING)
    if not isinstance(sampling, Mapping):
        return {}
    kept: dict[str, Value] = {}
    for key, value in sampling.items():
        if key in PRESET_KEYS:
            try:
                kept[key] = validate(key, value)
            except SettingsError as error:
                log.warning("a chat's own %s is left out: %s", key, error)
    return kept


def chat_preset_name(chat_settings: Mapping[str, Any]) -> str | None:
    """The name of the preset a chat was set up with, if it says (shortened to a name's length)."""
    name = chat_settings.get(CHAT_PRESET)
    if not isinstance(name, str) or not name.strip():
        return None
    return " ".join(name.split())[:MAX_NAME_CHARS]


def preset_of_chat(name: str, system_prompt: str | None, thinking: bool, chat_settings: Mapping[str, Any]) -> Preset:
    """A preset holding a chat's set-up as it is now ("Save this chat's set-up as a preset")."""
    return Preset(
        name=check_name(name),
        system_prompt=check_prompt(system_prompt or "", name),
        thinking=thinking,
        sampling=chat_overrides(chat_settings),
    )


BUILTIN_PRESETS: tuple[Preset, ...] = (
    Preset(DEFAULT_PRESET, builtin=True),
    Preset(
        "Concise",
        "Answer briefly and directly. Lead with the answer, use short sentences, and leave out preambles, "
        "repetition and closing offers of more help. Use a list only when it is shorter than prose.",
        thinking=False,
        sampling={"temperature": 0.7},
        builtin=True,
    ),
    Preset(
        "Code reviewer",
        "You are a careful senior software engineer reviewing code. Point out bugs, security problems, unclear "
        "names and missing tests, most important first. Quote the lines you mean, explain why each matters and "
        "show a corrected version. Say so plainly when the code is fine.",
        thinking=True,
        sampling={"temperature": 0.3},
        builtin=True,
    ),
    Preset(
        "Translator",
        "You are a translator. Translate the user's text into English, or into the language they ask for. Keep "
        "the meaning, tone and formatting; translate, do not answer or explain. Reply with the translation only.",
        thinking=False,
        sampling={"temperature": 0.3},
        builtin=True,
    ),
)
