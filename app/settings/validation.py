"""Checking a value for a setting: coercing what a file or a command line gives ("0.7") and saying why not."""

from __future__ import annotations

import math

from app.settings.declarations import Setting, SettingsError, Value, setting


def number_text(value: float) -> str:
    """2.0 → "2", 0.95 → "0.95", 2147483647 → "2147483647"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _shown(value: object) -> str:
    if value == "" or value is None:
        return "nothing"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
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
            f"{s.label} must be between {number_text(low or 0)} and {number_text(high or 0)} "
            f"(got {number_text(number)}).",
            key,
        )
    return number
