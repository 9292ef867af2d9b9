"""What every tool source shares: a tool's declaration, its result, its one-line error, and argument checking.

A :class:`ToolSpec` is what the model is offered (name, description, a JSON Schema of its parameters) plus what
the user is told (read-only or not, which source it comes from). Built-in tools and MCP servers both describe
their tools this way; the conversation core hands :meth:`ToolSpec.declaration` to the chat template.

Arguments come from the model, so they are untrusted: :meth:`ToolSpec.check_arguments` checks them against the
declared schema before any tool runs. The subset understood is what tools declare in practice: ``type`` (string,
number, integer, boolean, object, array, null, or a list of them), ``properties``, ``required``, ``enum``,
``items``, ``additionalProperties`` (extra keys are refused unless it allows them), ``minimum``/``maximum`` and
``minLength``/``maxLength``. Other keywords are left to the tool itself, and a malformed schema (from a server)
constrains nothing rather than failing.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

#: A name the Gemma 4 call format can carry (``call:NAME{…}``) and MCP allows.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
#: Arguments nested deeper than this are refused (the model's output is untrusted).
MAX_DEPTH = 32
_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


class ToolError(Exception):
    """A tool could not run or refused its input; the message is one line, fit to show the user and the model."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class ToolResult:
    """What a tool gave back: text for the model, pictures for its vision input, and whether it failed."""

    text: str
    images: tuple[bytes, ...] = ()
    is_error: bool = False

    @classmethod
    def error(cls, error: ToolError | str) -> ToolResult:
        """A failed call, told to the model as its result."""
        return cls(text=str(error), is_error=True)


@dataclass(frozen=True)
class ToolSpec:
    """One tool as offered to the model.

    ``parameters`` is a JSON Schema object (``{"type": "object", "properties": …, "required": […]}``);
    ``source`` names where the tool lives (``"builtin"``, or an MCP server's name); ``read_only`` says it
    changes nothing (a server's own claim for MCP tools, so only a hint for auto-allowing).
    """

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    read_only: bool = False
    source: str = "builtin"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ToolError(
                f"tool name {str(self.name)[:80]!r} is not usable: letters, digits, _ . - (64 at most), "
                "starting with a letter or _"
            )
        if not isinstance(self.parameters, Mapping):
            raise ToolError(f"{self.name}: its parameters must be a JSON Schema object")

    def declaration(self) -> dict[str, Any]:
        """The OpenAI-style declaration that chat templates take in ``tools``."""
        parameters = copy.deepcopy(dict(self.parameters))
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": parameters},
        }

    def check_arguments(self, arguments: object) -> dict[str, Any]:
        """``arguments`` if they fit the declared parameters, else :class:`ToolError` naming the first problem.

        Integral floats (``3.0``) pass as integers and are handed on as ``int``.
        """
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            raise ToolError(f"{self.name}: the arguments must be an object of named values")
        schema = dict(self.parameters)
        schema.setdefault("type", "object")
        checked = _check(self.name, schema, arguments, "", 0)
        assert isinstance(checked, dict)
        return checked


def _where(path: str) -> str:
    return f"{path!r}" if path else "the arguments"


def _type_names(schema: Mapping[str, Any]) -> list[str]:
    """The schema's types that this checker knows (an empty list: any type)."""
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared]
    return [t for t in types if isinstance(t, str) and t in _TYPE_WORDS]


def _matches(kind: str, value: object) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and math.isfinite(value) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, list | tuple)
    return value is None


def _check(tool: str, schema: Mapping[str, Any], value: object, path: str, depth: int) -> object:
    """``value`` checked (and integral floats made ints) against ``schema`` at ``path``."""
    if depth > MAX_DEPTH:
        raise ToolError(f"{tool}: {_where(path)} nest more than {MAX_DEPTH} levels deep")
    types = _type_names(schema)
    if types:
        kind = next((t for t in types if _matches(t, value)), None)
        if kind is None:
            wanted = " or ".join(_TYPE_WORDS[t] for t in types)
            raise ToolError(f"{tool}: {_where(path)} must be {wanted}")
        if kind == "integer" and isinstance(value, float):
            value = int(value)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and not any(_same(value, option) for option in enum):
        options = ", ".join(repr(option) for option in enum[:20])
        raise ToolError(f"{tool}: {_where(path)} must be one of {options}")
    _check_bounds(tool, schema, value, path)
    if isinstance(value, Mapping):
        return _check_object(tool, schema, value, path, depth)
    if isinstance(value, list | tuple):
        items = schema.get("items")
        if not isinstance(items, Mapping):
            return [_check(tool, {}, item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
        return [_check(tool, items, item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    return value


def _same(value: object, option: object) -> bool:
    """JSON equality: ``1 == 1.0`` but ``True != 1``."""
    if isinstance(value, bool) or isinstance(option, bool):
        return type(value) is type(option) and value == option
    return value == option


def _check_bounds(tool: str, schema: Mapping[str, Any], value: object, path: str) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if _is_number(low) and value < low:
            raise ToolError(f"{tool}: {_where(path)} must be at least {low}")
        if _is_number(high) and value > high:
            raise ToolError(f"{tool}: {_where(path)} must be at most {high}")
    if isinstance(value, str):
        shortest, longest = schema.get("minLength"), schema.get("maxLength")
        if _is_number(shortest) and len(value) < shortest:
            raise ToolError(f"{tool}: {_where(path)} must be at least {shortest} characters long")
        if _is_number(longest) and len(value) > longest:
            raise ToolError(f"{tool}: {_where(path)} must be at most {longest} characters long")


def _is_number(bound: object) -> TypeGuard[int | float]:
    return isinstance(bound, int | float) and not isinstance(bound, bool)


def _check_object(
    tool: str, schema: Mapping[str, Any], value: Mapping[Any, Any], path: str, depth: int
) -> dict[str, Any]:
    declared = schema.get("properties")
    properties: Mapping[str, Any] = declared if isinstance(declared, Mapping) else {}
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and name not in value:
            raise ToolError(f"{tool}: missing required argument {_join(path, name)!r}")
    extra = schema.get("additionalProperties", False)
    checked: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ToolError(f"{tool}: {_where(path)} has a key that is not a string")
        inner = _join(path, key)
        if key in properties:
            sub = properties[key]
            checked[key] = _check(tool, sub if isinstance(sub, Mapping) else {}, item, inner, depth + 1)
        elif extra is False and (properties or "properties" in schema or not path):
            known = ", ".join(sorted(properties)) or "none"
            raise ToolError(f"{tool}: unexpected argument {inner!r} (known: {known})")
        else:
            checked[key] = _check(tool, extra if isinstance(extra, Mapping) else {}, item, inner, depth + 1)
    return checked


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
