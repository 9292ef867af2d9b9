"""The user's settings, declared once: validation, the settings dialog and the docs all read ``SETTINGS``.

No Qt here: the command line and the tests use the same code as the window.
``Settings.load()`` never fails on a damaged file: it keeps every valid value,
falls back to the defaults for the rest, keeps a copy of the file beside it
(``settings.json.bad``) and says so in ``load_notice``. Keys this version does
not know are kept and written back, so a newer version's settings survive a
downgrade. Only values that differ from their defaults are written, so a
better default in a later version reaches everyone who never changed it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.paths import config_dir

log = logging.getLogger(__name__)

Kind = Literal["str", "bool", "int", "float", "choice"]
Value = str | bool | int | float

FILE_NAME = "settings.json"


@dataclass(frozen=True)
class Setting:
    """One setting: its type, default, allowed values and the words a person sees."""

    key: str
    kind: Kind
    default: Value
    label: str
    help: str
    group: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Value, ...] = ()
    multiline: bool = False
    in_dialog: bool = True
    minimum_label: str = ""  # what the minimum means, shown instead of it ("Off", "Random")
    choice_labels: tuple[str, ...] = ()  # one per choice; empty: the choices themselves
    secret: bool = False  # typed hidden in the dialog (a token)

    def choice_label(self, choice: Value) -> str:
        if self.choice_labels:
            return self.choice_labels[self.choices.index(choice)]
        return str(choice)


SETTINGS: tuple[Setting, ...] = (
    # Chat
    Setting(
        key="system_prompt",
        kind="str",
        default="",
        label="System prompt",
        help="Instructions the model reads before every conversation. A conversation may replace them with its own.",
        group="Chat",
        multiline=True,
    ),
    Setting(
        key="thinking_default",
        kind="bool",
        default=False,
        label="Think before answering in new chats",
        help="New conversations start with thinking on: Gemma reasons step by step before it answers "
        "(slower, often better on hard questions).",
        group="Chat",
    ),
    # Sampling
    Setting(
        key="temperature",
        kind="float",
        default=1.0,
        label="Temperature",
        help="How adventurous the wording is: 0 always takes the likeliest word, higher values vary more. "
        "Gemma 4's recommended value is 1.0.",
        group="Sampling",
        minimum=0.0,
        maximum=2.0,
    ),
    Setting(
        key="top_p",
        kind="float",
        default=0.95,
        label="Top-p",
        help="Choose only among the likeliest words whose chances add up to this share (1.0 = off).",
        group="Sampling",
        minimum=0.0,
        maximum=1.0,
    ),
    Setting(
        key="top_k",
        kind="int",
        default=64,
        label="Top-k",
        help="Choose only among this many of the likeliest words (0 = off).",
        group="Sampling",
        minimum=0,
        maximum=500,
        minimum_label="Off",
    ),
    Setting(
        key="repeat_penalty",
        kind="float",
        default=1.0,
        label="Repeat penalty",
        help="Discourages repeating recent words (1.0 = off). Gemma 4 rarely needs it.",
        group="Sampling",
        minimum=1.0,
        maximum=2.0,
        minimum_label="Off",
    ),
    Setting(
        key="max_tokens",
        kind="int",
        default=0,
        label="Maximum answer length",
        help="Stop an answer after this many tokens (0 = no limit but the context size).",
        group="Sampling",
        minimum=0,
        maximum=131072,
        minimum_label="No limit",
    ),
    Setting(
        key="seed",
        kind="int",
        default=-1,
        label="Seed",
        help="The same seed and question give the same answer (-1 = a new random seed each time).",
        group="Sampling",
        minimum=-1,
        maximum=2**31 - 1,
        minimum_label="Random",
    ),
    # Model
    Setting(
        key="context_size",
        kind="int",
        default=8192,
        label="Context size",
        help="How many tokens of conversation the model sees at once; more uses more memory. "
        "Takes effect when a model is next loaded.",
        group="Model",
        minimum=512,
        maximum=262144,
    ),
    Setting(
        key="gpu_layers",
        kind="int",
        default=-1,
        label="GPU layers",
        help="How many of the model's layers run on the GPU (-1 = all, 0 = CPU only). "
        "Takes effect when a model is next loaded.",
        group="Model",
        minimum=-1,
        maximum=999,
        minimum_label="All",
    ),
    Setting(
        key="threads",
        kind="int",
        default=0,
        label="CPU threads",
        help="How many CPU threads llama.cpp uses (0 = automatic). Takes effect when a model is next loaded.",
        group="Model",
        minimum=0,
        maximum=256,
        minimum_label="Automatic",
    ),
    Setting(
        key="vision_budget",
        kind="choice",
        default=280,
        label="Image detail",
        help="Tokens spent on each picture: small is fast, large reads fine print in screenshots.",
        group="Model",
        choices=(70, 140, 280, 560, 1120),
        choice_labels=("70 tokens (fastest)", "140 tokens", "280 tokens", "560 tokens", "1120 tokens (finest print)"),
    ),
    # Appearance
    Setting(
        key="theme",
        kind="choice",
        default="system",
        label="Theme",
        help="Light or dark colours, or whatever the system uses.",
        group="Appearance",
        choices=("system", "light", "dark"),
        choice_labels=("Same as the system", "Light", "Dark"),
    ),
    # Voice and camera
    Setting(
        key="voice_send",
        kind="choice",
        default="send",
        label="After push-to-talk",
        help="What happens when you let go of the microphone button (or Ctrl+Space): send the recording at once, "
        "or attach it so you can add text before sending.",
        group="Voice and camera",
        choices=("send", "attach"),
        choice_labels=("Send it at once", "Attach it and let me add text"),
    ),
    Setting(
        key="camera_source",
        kind="str",
        default="",
        label="Camera",
        help="The camera, video file or stream URL the camera panel opened last.",
        group="Voice and camera",
        in_dialog=False,
    ),
    # State the app keeps between runs; not in the dialog
    Setting(
        key="last_model_path",
        kind="str",
        default="",
        label="Last model",
        help="The model file open when the app last closed.",
        group="Model",
        in_dialog=False,
    ),
    Setting(
        key="models_folder",
        kind="str",
        default="",
        label="Models folder",
        help="Where downloaded models are kept. Empty: the models folder inside Gemma Desk's data folder.",
        group="Downloads",
    ),
    Setting(
        key="hf_token",
        kind="str",
        default="",
        label="Hugging Face token (only for gated models)",
        help="Needed only for gated models: accept the model's license on huggingface.co, then paste an access "
        "token here. It is sent to the download server and nowhere else.",
        group="Downloads",
        secret=True,
    ),
    Setting(
        key="hf_endpoint",
        kind="str",
        default="",
        label="Download server",
        help="A Hugging Face mirror or offline cache to download from (for example https://hf-mirror.example). "
        "Empty: https://huggingface.co.",
        group="Downloads",
    ),
    Setting(
        key="last_mmproj_path",
        kind="str",
        default="",
        label="Last projector",
        help="The vision/audio projector open when the app last closed.",
        group="Model",
        in_dialog=False,
    ),
)

_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(s.group for s in SETTINGS if s.in_dialog))


class SettingsError(ValueError):
    """A value a setting refuses; ``str(error)`` is one line naming the setting, fit to show a user."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def setting(key: str) -> Setting:
    """The declaration for ``key``; ``SettingsError`` if there is none."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise SettingsError(f"There is no setting called {key!r}.", key) from None


def defaults() -> dict[str, Value]:
    return {s.key: s.default for s in SETTINGS}


def _number(value: float) -> str:
    """2.0 → "2", 0.95 → "0.95", 2147483647 → "2147483647"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _shown(value: object) -> str:
    if value == "" or value is None:
        return "nothing"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number(value)
    return repr(value)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _to_number(s: Setting, value: object) -> float | int:
    """Coerce for "int"/"float" (and numeric choices): numbers, and strings such as "0.7"."""
    whole = s.kind == "int" or (s.kind == "choice" and isinstance(s.default, int))
    number: float | int
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SettingsError(f"{s.label} must be a {'whole ' if whole else ''}number (got {_shown(value)}).", s.key)
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                kind = "whole number" if whole else "number"
                raise SettingsError(f"{s.label} must be a {kind} (got {_shown(value)}).", s.key) from None
    else:
        number = value
    if isinstance(number, float) and not math.isfinite(number):
        raise SettingsError(f"{s.label} must be a number (got {_shown(value)}).", s.key)
    if whole:
        if isinstance(number, float):
            if not number.is_integer():
                raise SettingsError(f"{s.label} must be a whole number (got {_shown(value)}).", s.key)
            number = int(number)
        return number
    return float(number)


def validate(key: str, value: object) -> Value:
    """The value ``key`` stores for ``value`` (e.g. "0.7" → 0.7), or ``SettingsError`` saying why not."""
    s = setting(key)
    if s.kind == "str":
        if not isinstance(value, str):
            raise SettingsError(f"{s.label} must be text (got {_shown(value)}).", key)
        return value
    if s.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | str):
            word = str(value).strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
        raise SettingsError(f"{s.label} must be on or off (got {_shown(value)}).", key)
    if s.kind == "choice":
        coerced: object = _to_number(s, value) if isinstance(s.default, int) else value
        if isinstance(coerced, str):
            coerced = coerced.strip()
        if coerced not in s.choices or isinstance(coerced, bool):
            allowed = ", ".join(str(c) for c in s.choices)
            raise SettingsError(f"{s.label} must be one of {allowed} (got {_shown(value)}).", key)
        return s.choices[s.choices.index(coerced)]
    number = _to_number(s, value)
    low, high = s.minimum, s.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise SettingsError(
            f"{s.label} must be between {_number(low or 0)} and {_number(high or 0)} (got {_number(number)}).", key
        )
    return number


def default_path() -> Path:
    return config_dir() / FILE_NAME


class Settings:
    """The settings in force: every declared key always has a valid value.

    Not thread-safe; the GUI thread owns it (workers get the values they need).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        self.load_notice: str | None = None
        self._values: dict[str, Value] = defaults()
        self._unknown: dict[str, object] = {}  # keys from a newer version, written back untouched

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read the settings file; a missing file gives the defaults, a damaged one as much as is valid."""
        settings = cls(path)
        try:
            raw = json.loads(settings.path.read_bytes())
        except FileNotFoundError:
            return settings
        except OSError as error:
            log.warning("cannot read %s: %s", settings.path, error)
            settings.load_notice = (
                f"The settings file could not be read ({error.strerror}), so the defaults are in use."
            )
            return settings
        except (ValueError, RecursionError) as error:
            reason = f"it is not valid JSON: {error}" if isinstance(error, json.JSONDecodeError) else "it is damaged"
            settings._keep_bad_copy(f"The settings file could not be read ({reason}), so the defaults are in use.")
            return settings
        if not isinstance(raw, dict):
            settings._keep_bad_copy("The settings file holds no settings, so the defaults are in use.")
            return settings
        problems: list[str] = []
        for key, value in raw.items():
            if key not in _BY_KEY:
                settings._unknown[key] = value
                continue
            try:
                settings._values[key] = validate(key, value)
            except SettingsError as error:
                problems.append(str(error))
        if problems:
            settings._keep_bad_copy("Reset to the default: " + " ".join(problems))
        return settings

    def _keep_bad_copy(self, notice: str) -> None:
        bad = self.path.with_name(self.path.name + ".bad")
        try:
            shutil.copyfile(self.path, bad)
            notice += f" The old file was kept as {bad.name}."
        except OSError as error:
            log.warning("cannot keep a copy of %s: %s", self.path, error)
        log.warning("%s: %s", self.path, notice)
        self.load_notice = notice

    def get(self, key: str) -> Value:
        if key not in self._values:
            raise KeyError(key)
        return self._values[key]

    __getitem__ = get

    def get_str(self, key: str) -> str:
        value = self.get(key)
        assert isinstance(value, str), key
        return value

    def get_bool(self, key: str) -> bool:
        value = self.get(key)
        assert isinstance(value, bool), key
        return value

    def get_int(self, key: str) -> int:
        value = self.get(key)
        assert isinstance(value, int) and not isinstance(value, bool), key
        return value

    def get_float(self, key: str) -> float:
        value = self.get(key)
        assert isinstance(value, float), key
        return value

    def set(self, key: str, value: object) -> None:
        self._values[key] = validate(key, value)

    def update(self, values: Mapping[str, object]) -> None:
        """Set several at once: all of them, or (on the first bad value) none."""
        checked = {key: validate(key, value) for key, value in values.items()}
        self._values.update(checked)

    def as_dict(self) -> dict[str, Value]:
        return dict(self._values)

    def save(self) -> None:
        """Write atomically (a temporary file, then ``os.replace``): a crash leaves the old file or the new."""
        data: dict[str, object] = {s.key: self._values[s.key] for s in SETTINGS if self._values[s.key] != s.default}
        data.update(self._unknown)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file, indent=2, ensure_ascii=False)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def reference_markdown() -> str:
    """The settings as a Markdown table for the docs (``python -m app.settings``)."""
    lines = ["| Setting | Key | Default | Allowed | What it does |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        if s.kind == "choice":
            allowed = ", ".join(f"`{c}`" for c in s.choices)
        elif s.kind in ("int", "float"):
            allowed = f"{_number(s.minimum or 0)} … {_number(s.maximum or 0)}"
            if s.minimum_label:
                allowed += f" ({_number(s.minimum or 0)} = {s.minimum_label.lower()})"
        else:
            allowed = "on / off" if s.kind == "bool" else "text"
        default = json.dumps(s.default)
        label = s.label if s.in_dialog else f"{s.label} (kept by the app)"
        lines.append(f"| {label} | `{s.key}` | `{default}` | {allowed} | {s.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
