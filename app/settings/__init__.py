"""The user's settings, declared once: validation, the settings dialog and the docs all read ``SETTINGS``.

No Qt here: the command line and the tests use the same code as the window.

- ``declarations``: what settings exist (``SETTINGS``, ``Setting``, ``setting``, ``defaults``).
- ``validation``: checking and coercing a value (``validate``).
- ``persistence``: the values in force and their file (``Settings``: load never fails, save is atomic).
- ``reference``: the Markdown table for the docs (``python -m app.settings``).
"""

from __future__ import annotations

from app.settings.declarations import GROUPS, SETTINGS, Kind, Setting, SettingsError, Value, defaults, setting
from app.settings.persistence import FILE_NAME, Settings, default_path
from app.settings.reference import reference_markdown
from app.settings.validation import validate

__all__ = [
    "FILE_NAME",
    "GROUPS",
    "SETTINGS",
    "Kind",
    "Setting",
    "Settings",
    "SettingsError",
    "Value",
    "default_path",
    "defaults",
    "reference_markdown",
    "setting",
    "validate",
]
