"""The tools that come with Gemma Desk: which there are, and running one with its arguments checked.

Each is off until the user enables it (``enabled_by_default`` is ``False`` for all): this registry only lists
them; which are enabled is a setting the caller keeps, and the caller offers the model only those. Reading a
file or folder the user picks is a built-in too, but it needs a dialog at call time, so it lives with the window
and is not here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.tools import calculator, clock
from app.tools.model import ToolError, ToolResult, ToolSpec


@dataclass(frozen=True)
class BuiltinTool:
    """A built-in tool: its declaration, the function that runs it, and whether it starts enabled."""

    spec: ToolSpec
    handler: Callable[[dict[str, Any]], ToolResult]
    enabled_by_default: bool = False


BUILTINS: tuple[BuiltinTool, ...] = (
    BuiltinTool(clock.SPEC, clock.run),
    BuiltinTool(calculator.SPEC, calculator.run),
)
_BY_NAME: Mapping[str, BuiltinTool] = {tool.spec.name: tool for tool in BUILTINS}


def builtin_specs() -> list[ToolSpec]:
    """Every built-in tool's declaration, in the order Settings lists them."""
    return [tool.spec for tool in BUILTINS]


def find(name: str) -> BuiltinTool | None:
    """The built-in called ``name``, if there is one."""
    return _BY_NAME.get(name)


def run(name: str, arguments: object) -> ToolResult:
    """Run built-in ``name`` with ``arguments`` (checked against its parameters first).

    Never raises for bad input: an unknown tool, arguments that do not fit, or a tool's own failure comes
    back as an error result whose one-line text the model can be told.
    """
    tool = find(name)
    if tool is None:
        known = ", ".join(_BY_NAME)
        return ToolResult.error(f"{str(name)[:64]!r} is not a built-in tool (built-ins: {known})")
    try:
        checked = tool.spec.check_arguments(arguments)
        return tool.handler(checked)
    except ToolError as error:
        return ToolResult.error(error)
