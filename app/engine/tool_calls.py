"""Reads and writes the body of a Gemma 4 tool call: ``call:NAME{key:value,…}``.

The model writes a call's arguments in its own literal syntax (DESIGN.md §6):
strings wrapped in ``<|"|>…<|"|>``, numbers bare, ``true`` / ``false`` / ``null``,
objects ``{k:v}`` and lists ``[…]`` nested the same way, keys bare. The model's
output is untrusted: anything that is not exactly that syntax is refused with a
one-line ``ToolCallError`` that can be shown to the user and told to the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_DEPTH",
    "QUOTE",
    "ToolCall",
    "ToolCallError",
    "format_arguments",
    "format_call",
    "format_value",
    "guess_name",
    "parse_tool_call",
]

#: Gemma 4's string quote (a single token in its vocabulary).
QUOTE = '<|"|>'
#: The longest call body accepted, in characters.
MAX_BODY_CHARS = 1_000_000
#: The deepest nesting of objects and lists accepted.
MAX_DEPTH = 32

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")
_KEY_RE = re.compile(r"[A-Za-z0-9_$@.\-]+")
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_WHITESPACE = " \t\r\n"


class ToolCallError(ValueError):
    """A tool call the model wrote that is not valid Gemma 4 syntax; the message is one line."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A parsed call: the tool's name, its arguments, the text the model wrote, and an id that the conversation
    gives it so its result can be matched (``Message.tool_call_id``)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    id: str = ""


def parse_tool_call(body: str) -> ToolCall:
    """Parse what stands between ``<|tool_call>`` and ``<tool_call|>``; raises ``ToolCallError``."""
    if len(body) > MAX_BODY_CHARS:
        raise ToolCallError(f"the tool call is too long ({len(body):,} characters; the limit is {MAX_BODY_CHARS:,})")
    text = body.strip(_WHITESPACE)
    if not text.startswith("call:"):
        raise ToolCallError("the tool call does not start with 'call:'")
    pos = len("call:")
    match = _NAME_RE.match(text, pos)
    if match is None:
        if pos >= len(text) or text[pos] == "{":
            raise ToolCallError("the tool call has no tool name")
        raise ToolCallError(f"the tool name has a character that is not allowed: {text[pos]!r}")
    name = match.group()
    reader = _Reader(text, match.end())
    if reader.peek() not in ("", "{", *_WHITESPACE):
        raise ToolCallError(f"the tool name has a character that is not allowed: {reader.peek()!r}")
    reader.skip_space()
    if reader.at_end():
        return ToolCall(name, {}, body)  # "call:NAME" with no arguments
    if reader.peek() != "{":
        raise reader.fail("expected '{' after the tool name")
    arguments = reader.read_object(1)
    reader.skip_space()
    if not reader.at_end():
        raise ToolCallError(f"unexpected text after the arguments at character {reader.pos}: {reader.snippet()!r}")
    return ToolCall(name, arguments, body)


class _Reader:
    """A cursor over one call's text, reading Gemma literals."""

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def snippet(self) -> str:
        return self.text[self.pos : self.pos + 20]

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        self.pos = pos

    def fail(self, what: str) -> ToolCallError:
        if self.at_end():
            return ToolCallError(f"the tool call ends too early: {what}")
        return ToolCallError(f"{what} at character {self.pos}: {self.snippet()!r}")

    def expect(self, char: str, what: str) -> None:
        self.skip_space()
        if self.peek() != char:
            raise self.fail(what)
        self.pos += 1

    def read_object(self, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise ToolCallError(f"the arguments are nested deeper than {MAX_DEPTH} levels")
        self.expect("{", "expected '{'")
        result: dict[str, Any] = {}
        self.skip_space()
        if self.peek() == "}":
            self.pos += 1
            return result
        while True:
            key = self.read_key()
            if key in result:
                raise ToolCallError(f"the argument {key!r} is given twice")
            self.expect(":", f"expected ':' after the key {key!r}")
            result[key] = self.read_value(depth)
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("}", "expected ',' or '}' in an object (is a brace or a string quote missing?)")
            return result

    def read_list(self, depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise ToolCallError(f"the arguments are nested deeper than {MAX_DEPTH} levels")
        self.expect("[", "expected '['")
        result: list[Any] = []
        self.skip_space()
        if self.peek() == "]":
            self.pos += 1
            return result
        while True:
            result.append(self.read_value(depth))
            self.skip_space()
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]", "expected ',' or ']' in a list (is a bracket or a string quote missing?)")
            return result

    def read_key(self) -> str:
        self.skip_space()
        if self.text.startswith(QUOTE, self.pos):
            return self.read_string()
        match = _KEY_RE.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected an argument name")
        self.pos = match.end()
        return match.group()

    def read_string(self) -> str:
        start = self.pos + len(QUOTE)
        end = self.text.find(QUOTE, start)
        if end == -1:
            raise ToolCallError(f"a string that starts at character {self.pos} is never closed with {QUOTE}")
        self.pos = end + len(QUOTE)
        return self.text[start:end]

    def read_value(self, depth: int) -> Any:
        self.skip_space()
        char = self.peek()
        if char == "{":
            return self.read_object(depth + 1)
        if char == "[":
            return self.read_list(depth + 1)
        if self.text.startswith(QUOTE, self.pos):
            return self.read_string()
        match = _NUMBER_RE.match(self.text, self.pos)
        if match is not None and not _KEY_RE.fullmatch(self.text[match.end() : match.end() + 1] or "}"):
            self.pos = match.end()
            number = match.group()
            return float(number) if match.group(1) or match.group(2) else int(number)
        word = _KEY_RE.match(self.text, self.pos)
        if word is not None and word.group() in _WORDS:
            self.pos = word.end()
            return _WORDS[word.group()]
        if word is not None:
            raise self.fail(f"a value that is not a number, true, false, null or a {QUOTE}-quoted string")
        raise self.fail("expected a value")


def guess_name(body: str) -> str:
    """The tool name a malformed call seems to name, for showing it ("" when there is none)."""
    text = body.strip(_WHITESPACE)
    text = text[len("call:") :] if text.startswith("call:") else text
    match = _NAME_RE.match(text)
    return match.group() if match else ""


# -- writing -------------------------------------------------------------------------


def format_value(value: Any, depth: int = 0) -> str:
    """``value`` in Gemma 4's literal syntax; raises ``ToolCallError`` for what it cannot express."""
    if depth > MAX_DEPTH:
        raise ToolCallError(f"the arguments are nested deeper than {MAX_DEPTH} levels")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ToolCallError(f"{value} cannot be written in a tool call")
        return repr(value)
    if isinstance(value, str):
        if QUOTE in value:
            raise ToolCallError(f"a string holding {QUOTE} cannot be written in a tool call")
        return f"{QUOTE}{value}{QUOTE}"
    if isinstance(value, Mapping):
        return _format_object(value, depth, sort=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(format_value(item, depth + 1) for item in value) + "]"
    raise ToolCallError(f"a {type(value).__name__} cannot be written in a tool call")


def _format_object(value: Mapping[str, Any], depth: int, *, sort: bool) -> str:
    items = []
    for key in sorted(value) if sort else value:
        if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
            raise ToolCallError(f"the argument name {key!r} cannot be written bare in a tool call")
        items.append(f"{key}:{format_value(value[key], depth + 1)}")
    return "{" + ",".join(items) + "}"


def format_arguments(arguments: Mapping[str, Any]) -> str:
    """``{key:value,…}`` as Gemma 4 writes a call's arguments (top-level keys sorted, as its template does)."""
    return _format_object(arguments, 0, sort=True)


def format_call(name: str, arguments: Mapping[str, Any]) -> str:
    """``call:NAME{…}``: the body of a ``<|tool_call>`` block."""
    if not _NAME_RE.fullmatch(name):
        raise ToolCallError(f"{name!r} is not a valid tool name")
    return f"call:{name}{format_arguments(arguments)}"
