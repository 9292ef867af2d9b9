"""The user's presets and the one last used, in ``presets.json`` beside ``settings.json``.

Like ``Settings``, loading never fails: a missing file gives the built-in presets, a damaged one (not JSON, wrong
types, overlong text, a file too large) keeps every preset that is valid, is copied beside itself
(``presets.json.bad``) before anything is written over it, and ``load_notice`` says so. Saving is atomic. Not
thread-safe: one thread owns a book (the window's GUI thread) and hands a ``copy`` to the thread that saves it.

    {"version": 1, "last_used": "Concise", "presets": [{"name": …, "system_prompt": …, "thinking": true,
     "sampling": {"temperature": 0.3}}]}
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import replace
from pathlib import Path

from app.paths import config_dir, keep_bad_copy, write_json_atomically
from app.settings.presets import (
    BUILTIN_PRESETS,
    DEFAULT_PRESET,
    Preset,
    PresetError,
    check_name,
    preset_from_json,
)

log = logging.getLogger("app.settings")

FILE_NAME = "presets.json"
VERSION = 1
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_PRESETS = 500


def default_path() -> Path:
    return config_dir() / FILE_NAME


class PresetBook:
    """The built-in presets, then the user's own (in the order made); names are unique, ignoring case."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        self.load_notice: str | None = None
        self.own: list[Preset] = []
        self.last_used = DEFAULT_PRESET

    # -- reading --------------------------------------------------------------------------------------

    def all(self) -> list[Preset]:
        return [*BUILTIN_PRESETS, *self.own]

    def names(self) -> list[str]:
        return [p.name for p in self.all()]

    def find(self, name: str) -> Preset | None:
        """The preset called ``name`` (ignoring case and extra spaces), or None."""
        wanted = " ".join(name.split()).casefold()
        return next((p for p in self.all() if p.name.casefold() == wanted), None)

    def default(self) -> Preset:
        """The preset new chats start with: the one last used, while it exists."""
        return self.find(self.last_used) or BUILTIN_PRESETS[0]

    def unique_name(self, wanted: str) -> str:
        """``wanted``, or ``wanted 2``, ``wanted 3``… whichever no preset has yet."""
        base = check_name(wanted)
        name, n = base, 1
        while self.find(name) is not None:
            n += 1
            name = f"{base[: 80 - len(str(n)) - 1]} {n}"
        return name

    # -- changing -------------------------------------------------------------------------------------

    def add(self, preset: Preset) -> Preset:
        """Add one of the user's own (named as given: ``PresetError`` if the name is taken)."""
        name = check_name(preset.name)
        taken = self.find(name)
        if taken is not None:
            raise PresetError(f"There is already a preset called {taken.name}.")
        if len(self.own) >= MAX_PRESETS:
            raise PresetError(f"There are already {MAX_PRESETS} presets; delete some first.")
        added = replace(preset, name=name, builtin=False)
        self.own.append(added)
        return added

    def copy_of(self, name: str) -> Preset:
        """A new preset of the user's, like ``name`` (built-in ones are copied to be changed)."""
        source = self._get(name)
        return self.add(replace(source, name=self.unique_name(f"{source.name} (copy)")))

    def update(self, name: str, preset: Preset) -> Preset:
        """Replace the user's preset ``name`` with ``preset`` (renamed when its name differs)."""
        index = self._own_index(name)
        new_name = check_name(preset.name)
        other = self.find(new_name)
        if other is not None and other is not self.own[index]:
            raise PresetError(f"There is already a preset called {new_name}.")
        updated = replace(preset, name=new_name, builtin=False)
        self.own[index] = updated
        if self.last_used.casefold() == name.casefold():
            self.last_used = new_name
        return updated

    def delete(self, name: str) -> None:
        del self.own[self._own_index(name)]
        if self.find(self.last_used) is None:
            self.last_used = DEFAULT_PRESET

    def use(self, name: str) -> None:
        """Remember ``name`` as the preset new chats start with."""
        self.last_used = self._get(name).name

    def _get(self, name: str) -> Preset:
        found = self.find(name)
        if found is None:
            raise PresetError(f"There is no preset called {name}.")
        return found

    def _own_index(self, name: str) -> int:
        preset = self._get(name)
        if preset.builtin:
            raise PresetError(f"{preset.name} comes with Gemma Desk and cannot be changed or deleted; copy it.")
        return self.own.index(preset)

    def copy(self) -> PresetBook:
        return copy.deepcopy(self)

    # -- the file -------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {"version": VERSION, "last_used": self.last_used, "presets": [p.to_json() for p in self.own]}

    def save(self) -> None:
        """Write atomically (``OSError`` when it cannot be)."""
        write_json_atomically(self.path, self.to_json())

    @classmethod
    def load(cls, path: Path | None = None) -> PresetBook:
        """Read the file; whatever state it is in, a usable book (see the module's docstring)."""
        book = cls(path)
        try:
            size = book.path.stat().st_size
            if size > MAX_FILE_BYTES:
                book._damaged(f"it is {size // 1_000_000} MB, far larger than presets can be")
                return book
            raw = json.loads(book.path.read_bytes())
        except FileNotFoundError:
            return book
        except OSError as error:
            book.load_notice = (
                f"The presets file could not be read ({error.strerror}); only the built-in ones are there."
            )
            log.warning("%s: %s", book.path, book.load_notice)
            return book
        except (ValueError, RecursionError) as error:
            book._damaged(f"it is not valid JSON: {error}" if isinstance(error, json.JSONDecodeError) else "damaged")
            return book
        problems = book._read(raw)
        if problems:
            book._damaged("; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
        return book

    def _read(self, raw: object) -> list[str]:
        """Take every valid preset from ``raw``; one line per thing left out."""
        if not isinstance(raw, dict) or not isinstance(raw.get("presets", []), list):
            return ["it holds no list of presets"]
        problems: list[str] = []
        for entry in raw.get("presets", []):
            try:
                self.add(preset_from_json(entry))
            except PresetError as error:
                problems.append(str(error))
        last = raw.get("last_used", DEFAULT_PRESET)
        if not isinstance(last, str):
            problems.append("the preset used last is not named by text")
        elif self.find(last) is not None:  # (one since deleted by hand: new chats start with the default)
            self.last_used = self._get(last).name
        return problems

    def _damaged(self, reason: str) -> None:
        kept = f"{len(self.own)} of your presets were read; " if self.own else ""
        self.load_notice = f"The presets file has problems ({reason}). {kept}{keep_bad_copy(self.path)}"
        log.warning("%s: %s", self.path, self.load_notice)
