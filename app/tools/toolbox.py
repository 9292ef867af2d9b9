"""The tools one answer may use: the enabled built-ins and MCP tools under the names the model sees, and running one.

``ToolBox.offer()`` gathers the enabled tools (starting the MCP servers they live on, side by side) into an
``Offer``: each ``OfferedTool`` has the name the model is given, its declaration and where it runs. Two sources
may use the same tool name; the built-in keeps it and every later one is offered as ``<server>_<tool>`` (made to
fit the call syntax, numbered if that is taken too). A server's tool whose names or schema hold a control token's
text (``<|…``, ``…|>``, ``<eos>``) is left out here, with a notice, rather than failing the whole request.

``ToolBox.run()`` never raises: arguments are checked against the declared schema, and a server that is gone, a
timeout or a tool's own failure comes back as an error result whose one line the model is told.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.tools import builtin, files
from app.tools.mcp.manager import McpManager
from app.tools.model import ToolError, ToolResult, ToolSpec
from app.tools.tool_settings import BUILTIN, ToolKey, ToolSettings

#: Text a template would copy into the prompt as structure, which must never look like a control token.
_CONTROL_TEXT = re.compile(r"<\||\|>|<(?:eos|bos|pad|unk|mask)>")
_UNUSABLE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class OfferedTool:
    """One tool as this answer offers it: ``name`` is what the model calls (may differ from ``spec.name``)."""

    name: str
    spec: ToolSpec
    source: str  # "builtin" or the MCP server's name

    @property
    def key(self) -> ToolKey:
        return (self.source, self.spec.name)

    @property
    def source_label(self) -> str:
        """Where the tool runs, as the consent prompt says it: "Built-in" or "MCP server ‘files’"."""
        return "Built-in" if self.source == BUILTIN else f"MCP server ‘{self.source}’"

    @property
    def needs_picker(self) -> bool:
        """The user picks the file at call time (the pick is the consent)."""
        return self.source == BUILTIN and self.spec.name == files.SPEC.name

    def declaration(self) -> dict[str, Any]:
        declared = self.spec.declaration()
        declared["function"]["name"] = self.name
        return declared


@dataclass(frozen=True)
class Offer:
    """The tools offered to one answer, by the name the model calls, and what could not be offered."""

    tools: Mapping[str, OfferedTool] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    def declarations(self) -> tuple[dict[str, Any], ...]:
        return tuple(tool.declaration() for tool in self.tools.values())

    def find(self, name: str) -> OfferedTool | None:
        return self.tools.get(name)

    def __bool__(self) -> bool:
        return bool(self.tools)


#: Asks the user to pick a file or folder (``kind``: "file" or "folder") for the reason the model gave; None when
#: the user cancels. The window shows a dialog; the command line may ask for a path or refuse.
Picker = Callable[[str, str], Path | None]


class ToolBox:
    """The enabled tools of ``settings``; MCP tools through ``mcp`` (None: no servers)."""

    def __init__(self, settings: ToolSettings, mcp: McpManager | None = None, *, timeout_s: float = 30.0) -> None:
        self.settings = settings
        self.mcp = mcp
        self.timeout_s = timeout_s

    def offer(self) -> Offer:
        """The enabled tools, named for the model (MCP servers are started here when not yet running)."""
        notices: list[str] = []
        specs: list[tuple[str, ToolSpec]] = [
            (BUILTIN, spec) for spec in [*builtin.builtin_specs(), files.SPEC] if self._enabled((BUILTIN, spec.name))
        ]
        servers = self._servers_with_enabled_tools()
        if servers and self.mcp is not None:
            for listed in self.mcp.list_tools(servers, timeout_s=self.timeout_s):
                if listed.error:
                    notices.append(f"MCP server ‘{listed.server}’: {listed.error}")
                    continue
                for spec in listed.tools:
                    if not self._enabled((listed.server, spec.name)):
                        continue
                    problem = control_text_in(spec)
                    if problem:
                        notices.append(f"{spec.name} (MCP server ‘{listed.server}’) was not offered: {problem}")
                        continue
                    specs.append((listed.server, spec))
        return Offer(_named(specs), tuple(notices))

    def run(self, tool: OfferedTool, arguments: object, pick: Picker | None = None) -> ToolResult:
        """Run ``tool`` with the model's ``arguments``; an error result (never an exception) when it fails."""
        try:
            checked = tool.spec.check_arguments(arguments)
            if tool.needs_picker:
                if pick is None:
                    return ToolResult.error("reading a file needs someone to pick it, and no one can here")
                return files.read_picked(checked, pick)
            if tool.source == BUILTIN:
                return builtin.run(tool.spec.name, checked)
            if self.mcp is None:
                return ToolResult.error(f"MCP server ‘{tool.source}’ is not available")
            return self.mcp.call(tool.source, tool.spec.name, checked, timeout_s=self.timeout_s)
        except ToolError as error:
            return ToolResult.error(error)

    def _enabled(self, key: ToolKey) -> bool:
        return self.settings.is_enabled(key)

    def _servers_with_enabled_tools(self) -> list[str]:
        if self.mcp is None:
            return []
        wanted = {source for source, _ in self.settings.enabled if source != BUILTIN}
        return [name for name in self.mcp.servers if name in wanted and name not in self.settings.disabled_servers]


def control_text_in(spec: ToolSpec) -> str:
    """Why ``spec`` cannot be offered ("" when it can): its name, parameter names or values hold a control
    token's text, which the template would copy into the prompt as structure."""
    for text in _structure_strings(spec.declaration()):
        found = _CONTROL_TEXT.search(text)
        if found:
            return f"its declaration holds {found.group()!r}"
    return ""


def _structure_strings(value: Any, key: str = "") -> list[str]:
    if isinstance(value, str):
        return [] if key == "description" else [value]
    if isinstance(value, dict):
        found = [str(k) for k in value]
        for k, item in value.items():
            found += _structure_strings(item, str(k))
        return found
    if isinstance(value, list | tuple):
        return [text for item in value for text in _structure_strings(item)]
    return []


def _named(specs: Iterable[tuple[str, ToolSpec]]) -> dict[str, OfferedTool]:
    """Each tool under a name no other offered tool has (first come keeps its own)."""
    offered: dict[str, OfferedTool] = {}
    for source, spec in specs:
        name = spec.name
        if name in offered:
            base = _UNUSABLE.sub("_", f"{source}_{spec.name}")
            base = base if re.match(r"[A-Za-z_]", base) else f"_{base}"
            name, n = base[:60], 2
            while name in offered:
                name, n = f"{base[:56]}_{n}", n + 1
        offered[name] = OfferedTool(name, spec, source)
    return offered
