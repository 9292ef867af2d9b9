"""Field checks for the catalog validator: one key of a table, its type and form, and how a value reads in a message."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from app.models.catalog.data import CatalogError


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def kind_of(value: Any) -> str:
    """What ``value`` is, in words for a message: "a string", "a table", "nothing"."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if is_list(value):
        return "a list"
    return type(value).__name__


def shown(value: Any) -> str:
    """``value`` as a message quotes it: a (shortened) string, or its kind with a scalar's value."""
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if isinstance(value, bool | int | float):
        return f"{kind_of(value)} ({value!r})"
    return kind_of(value)


def no_unknown_keys(entry: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    """CatalogError naming the keys of ``entry`` that are not ``allowed`` (a typo must not be ignored)."""
    unknown = sorted(str(k) for k in entry if k not in allowed)
    if unknown:
        raise CatalogError(f"{where}: unknown key {', '.join(repr(k) for k in unknown)}")


def text_field(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise CatalogError(f"{where}: {key!r} must be a string, not {kind_of(value)}")
    if not value.strip():
        raise CatalogError(f"{where}: {key!r} is empty")
    return value


def pattern_field(entry: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str, expected: str) -> str:
    value = text_field(entry, key, where)
    if not pattern.fullmatch(value):
        raise CatalogError(f"{where}: {key!r} must be {expected}, not {value!r}")
    return value


def optional_pattern_field(
    entry: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str, expected: str
) -> str | None:
    return pattern_field(entry, key, pattern, where, expected) if key in entry else None


def positive_int_field(entry: Mapping[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if not is_int(value):
        raise CatalogError(f"{where}: {key!r} must be an integer, not {shown(value)}")
    if value <= 0:
        raise CatalogError(f"{where}: {key!r} must be positive, not {value}")
    return value


def positive_number_field(entry: Mapping[str, Any], key: str, where: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogError(f"{where}: {key!r} must be a number, not {shown(value)}")
    if not value > 0 or value != value or value == float("inf"):
        raise CatalogError(f"{where}: {key!r} must be a positive number, not {value}")
    return float(value)


def bool_field(entry: Mapping[str, Any], key: str, where: str) -> bool:
    value = entry.get(key)
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: {key!r} must be true or false, not {shown(value)}")
    return value
