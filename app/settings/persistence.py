"""The settings in force, and their file: loading whatever state it is in, saving atomically.

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
from collections.abc import Mapping
from pathlib import Path

from app.paths import config_dir, keep_bad_copy, write_json_atomically
from app.settings.declarations import BY_KEY, SETTINGS, SettingsError, Value, defaults
from app.settings.validation import validate

log = logging.getLogger("app.settings")  # the package's own logger, as callers know it

FILE_NAME = "settings.json"


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
            if key not in BY_KEY:
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
        notice += " " + keep_bad_copy(self.path)
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
        write_json_atomically(self.path, data)
