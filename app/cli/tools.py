"""Tools on the command line: ``--tools FILE`` (an ``mcpServers`` JSON, as Claude Desktop and Cursor write it),
``--builtin-tools``, ``--allow TOOL`` and the consent prompt.

Every tool of the file's servers is offered (the user's own ``tools.json`` is not read: the file is the whole
tool setting of this run). A call runs without asking when ``--allow`` names it; otherwise the user is asked on
the terminal, or, when standard input is not a terminal (a pipe, CI), the call is refused and a notice says how
to allow it. Nothing here is saved: "always" means for the rest of this run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

from app.regular_file import NotRegularFile, open_regular
from app.tools import builtin
from app.tools.consent import ConsentRequest, Decision
from app.tools.mcp.config import McpConfigError, ServerConfig, parse_mcp_servers
from app.tools.mcp.manager import McpManager
from app.tools.tool_settings import BUILTIN, ToolKey, ToolSettings
from app.tools.toolbox import Offer, OfferedTool, ToolBox
from app.units import format_size

ALLOW_ALL = "*"
PROMPT = "Allow? [y]es once / [a]lways in this run / [n]o: "


#: The largest ``--tools`` file read (an mcpServers document is a few kilobytes).
MAX_TOOLS_FILE_BYTES = 1024 * 1024


class ToolsUsageError(ValueError):
    """``--tools``, ``--allow`` or ``--builtin-tools`` used wrongly; the message is one line."""


class _Notices(Protocol):
    def notice(self, message: str) -> None: ...


def read_servers(path: Path) -> list[ServerConfig]:
    """The servers of an ``mcpServers`` file (``ToolsUsageError`` naming the file and what is wrong)."""
    try:
        stream, info = open_regular(path)
        with stream:
            if info.st_size > MAX_TOOLS_FILE_BYTES:
                raise ToolsUsageError(
                    f"--tools: {path} is over {format_size(MAX_TOOLS_FILE_BYTES)}: not an mcpServers file."
                )
            text = stream.read(MAX_TOOLS_FILE_BYTES + 1).decode("utf-8")
    except FileNotFoundError:
        raise ToolsUsageError(f"--tools: {path} does not exist.") from None
    except NotRegularFile as error:
        what = "a folder" if error.is_folder else error.kind
        raise ToolsUsageError(f"--tools: {path} is {what}, not an mcpServers JSON file.") from None
    except UnicodeDecodeError:
        raise ToolsUsageError(f"--tools: {path} is not UTF-8 text (an mcpServers JSON file).") from None
    except OSError as error:
        raise ToolsUsageError(f"--tools: {path} cannot be read ({error.strerror or error}).") from None
    try:
        servers = parse_mcp_servers(text)
    except McpConfigError as error:
        raise ToolsUsageError(f"--tools: {path}: {error}") from None
    if not servers:
        raise ToolsUsageError(f'--tools: {path} names no servers (expected {{"mcpServers": {{...}}}}).')
    return servers


class CliTools(AbstractContextManager["CliTools"]):
    """The tools of one ``ask`` or ``chat`` run: the servers (stopped on exit), the offer and the permissions."""

    def __init__(self, servers: list[ServerConfig], builtins: bool, allow: list[str], limit: int) -> None:
        self.manager = McpManager(servers)
        self.settings = ToolSettings(Path(os.devnull))  # in memory only (never saved): what is enabled
        if builtins:
            for spec in builtin.builtin_specs():
                self.settings.set_enabled((BUILTIN, spec.name), True)
        self.toolbox = ToolBox(self.settings, self.manager)
        self.allow = set(allow)
        self.limit = limit
        self.offer = Offer()
        self.allowed_in_run: set[ToolKey] = set()
        self._refusal_told: set[str] = set()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliTools | None:
        """The run's tools, or None when it offers none (``ToolsUsageError`` for bad options or a bad file)."""
        path: Path | None = getattr(args, "tools", None)
        builtins: bool = getattr(args, "builtin_tools", False)
        allow: list[str] = getattr(args, "allow", None) or []
        if path is None and not builtins:
            if allow:
                raise ToolsUsageError("--allow names tools of --tools FILE or --builtin-tools; neither was given.")
            return None
        servers = read_servers(path) if path is not None else []
        return cls(servers, builtins, allow, args.max_tool_calls)

    def start(self, out: _Notices) -> None:
        """Start the servers, enable every tool they list, and make the offer (problems become notices)."""
        for listed in self.manager.list_tools():
            if listed.error:
                out.notice(f"MCP server ‘{listed.server}’: {listed.error}")
            for spec in listed.tools:
                self.settings.set_enabled((listed.server, spec.name), True)
        self.offer = self.toolbox.offer()
        for notice in self.offer.notices:
            out.notice(notice)
        unknown = sorted(name for name in self.allow if name != ALLOW_ALL and not self._named(name))
        offered = ", ".join(self.offer.tools) or "none"
        for name in unknown:
            out.notice(f"--allow {name}: no offered tool has that name (offered: {offered}).")
        if not self.offer:
            out.notice("No tools could be offered; the model answers without them.")

    def _named(self, name: str) -> list[OfferedTool]:
        return [tool for tool in self.offer.tools.values() if name in (tool.name, f"{tool.source}/{tool.spec.name}")]

    def allowed(self, tool: OfferedTool) -> bool:
        """Whether ``--allow`` (or "always" answered earlier in this run) lets ``tool`` run without asking."""
        names = {ALLOW_ALL, tool.name, f"{tool.source}/{tool.spec.name}"}
        return bool(self.allow & names) or tool.key in self.allowed_in_run

    def consent(self, out: _Notices, interactive: bool, stream: BinaryIO) -> Callable[[ConsentRequest], Decision]:
        """The ``ask`` callable of the tool loop: --allow, then the terminal, else a refusal with a notice."""

        def ask(request: ConsentRequest) -> Decision:
            if self.allowed(request.tool):
                return "once"
            if not interactive:
                name = request.tool.name
                if name not in self._refusal_told:
                    self._refusal_told.add(name)
                    out.notice(
                        f"{name} ({request.source_label}) was not run: standard input is not a terminal, so no one "
                        f"can allow it. Pass --allow {name} to let it run."
                    )
                return "deny"
            decision = ask_on_terminal(request, stream)
            if decision == "always":
                self.allowed_in_run.add(request.tool.key)
                return "once"
            return decision

        return ask

    def __exit__(self, *exc: object) -> None:
        self.manager.close()


def ask_on_terminal(request: ConsentRequest, stream: BinaryIO) -> Decision:
    """Show the call (source, tool, every argument) on stderr and read the answer from ``stream``: the
    terminal's standard input, which ``chat`` reads its lines from too, so nothing typed ahead is lost. The
    end of input (Ctrl-D) refuses."""
    err = sys.stderr
    err.write(f"\nThe model wants to call {request.tool_name} ({request.source_label}) with:\n")
    err.write(request.pretty_arguments + "\n")
    while True:
        err.write(PROMPT)
        err.flush()
        line = stream.readline()
        if not line:
            err.write("\n")
            return "deny"
        answer = line.decode("utf-8", "replace").strip().lower()
        if answer in ("y", "yes"):
            return "once"
        if answer in ("a", "always"):
            return "always"
        if answer in ("n", "no"):
            return "deny"


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()
