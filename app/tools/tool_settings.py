"""The user's tool settings, in their own file (``tools.json`` beside ``settings.json``): which MCP servers there
are, which tools are enabled, and the standing permissions.

A tool is named by its :data:`ToolKey`, ``(source, name)``: ``("builtin", "calculator")`` or
``("<server>", "<tool>")``. Everything is off until the user turns it on: a server added here offers none of its
tools until they are enabled, one by one or all at once.

Like ``Settings``, loading never fails on a damaged file: what is valid is kept, the file is copied beside itself
(``tools.json.bad``) and ``load_notice`` says so. Saving is atomic. Not thread-safe: one thread owns it (the
window's GUI thread, the command line's main thread) and hands copies (:meth:`ToolSettings.copy`) to workers.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.paths import config_dir, keep_bad_copy, write_json_atomically
from app.tools.mcp.config import McpConfigError, ServerConfig, parse_server

log = logging.getLogger("gemma_desk.tools")

FILE_NAME = "tools.json"
#: ``(source, tool name)``: ``source`` is ``"builtin"`` or an MCP server's name.
ToolKey = tuple[str, str]
BUILTIN = "builtin"


def default_path() -> Path:
    return config_dir() / FILE_NAME


@dataclass
class ToolSettings:
    """Servers (as ``mcpServers`` entries, kept as the user wrote them), enabled tools and permissions."""

    path: Path = field(default_factory=default_path)
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled_servers: set[str] = field(default_factory=set)
    enabled: set[ToolKey] = field(default_factory=set)
    always_allowed: set[ToolKey] = field(default_factory=set)
    auto_allow_read_only: bool = False
    load_notice: str | None = None

    # -- servers --------------------------------------------------------------------------------------

    def add_server(self, config: ServerConfig | tuple[str, dict[str, Any]]) -> None:
        """Add (or replace) a server; an entry is checked first (``McpConfigError`` names what is wrong)."""
        name, entry = (config.name, server_entry(config)) if isinstance(config, ServerConfig) else config
        parse_server(name, entry)
        self.servers[name] = copy.deepcopy(entry)

    def remove_server(self, name: str) -> None:
        """Forget a server, its enabled tools and its permissions."""
        self.servers.pop(name, None)
        self.disabled_servers.discard(name)
        self.enabled = {key for key in self.enabled if key[0] != name}
        self.always_allowed = {key for key in self.always_allowed if key[0] != name}

    def server_configs(self) -> tuple[list[ServerConfig], list[str]]:
        """The usable, not disabled servers, and one line for each entry that cannot be used."""
        configs: list[ServerConfig] = []
        problems: list[str] = []
        for name, entry in self.servers.items():
            if name in self.disabled_servers or name == BUILTIN:
                continue
            try:
                configs.append(parse_server(name, entry))
            except McpConfigError as error:
                problems.append(str(error))
        return configs, problems

    # -- tools and permissions ------------------------------------------------------------------------

    def is_enabled(self, key: ToolKey) -> bool:
        return key in self.enabled and key[0] not in self.disabled_servers

    def set_enabled(self, key: ToolKey, on: bool) -> None:
        (self.enabled.add if on else self.enabled.discard)(key)

    def allow_always(self, key: ToolKey) -> None:
        self.always_allowed.add(key)

    def revoke(self, key: ToolKey) -> None:
        self.always_allowed.discard(key)

    def copy(self) -> ToolSettings:
        """An independent copy, for a worker thread."""
        return copy.deepcopy(self)

    # -- the file -------------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | None = None) -> ToolSettings:
        settings = cls(path if path is not None else default_path())
        try:
            raw = json.loads(settings.path.read_bytes())
        except FileNotFoundError:
            return settings
        except OSError as error:
            settings.load_notice = f"The tool settings could not be read ({error.strerror}); no tools are enabled."
            return settings
        except (ValueError, RecursionError):
            settings._keep_bad_copy("The tool settings file is damaged; no tools are enabled.")
            return settings
        problems = settings._read(raw)
        if problems:
            settings._keep_bad_copy("Some tool settings were left out: " + "; ".join(problems[:5]) + ".")
        return settings

    def _read(self, raw: object) -> list[str]:
        if not isinstance(raw, dict):
            return ["the file holds no settings"]
        problems: list[str] = []
        servers = raw.get("mcpServers", {})
        if isinstance(servers, dict):
            for name, entry in servers.items():
                try:
                    self.add_server((name, entry))
                except McpConfigError as error:
                    problems.append(str(error))
        else:
            problems.append("mcpServers is not an object")
        self.disabled_servers = {n for n in _strings(raw.get("disabledServers"), problems, "disabledServers")}
        self.enabled = set(_keys(raw.get("enabledTools"), problems, "enabledTools"))
        self.always_allowed = set(_keys(raw.get("alwaysAllowed"), problems, "alwaysAllowed"))
        auto = raw.get("autoAllowReadOnly", False)
        if isinstance(auto, bool):
            self.auto_allow_read_only = auto
        else:
            problems.append("autoAllowReadOnly is not true or false")
        return problems

    def to_json(self) -> dict[str, Any]:
        return {
            "mcpServers": copy.deepcopy(self.servers),
            "disabledServers": sorted(self.disabled_servers),
            "enabledTools": [list(key) for key in sorted(self.enabled)],
            "alwaysAllowed": [list(key) for key in sorted(self.always_allowed)],
            "autoAllowReadOnly": self.auto_allow_read_only,
        }

    def save(self) -> None:
        """Write atomically: a crash leaves the old file or the new one. Raises ``OSError``."""
        write_json_atomically(self.path, self.to_json())

    def _keep_bad_copy(self, notice: str) -> None:
        notice += " " + keep_bad_copy(self.path)
        log.warning("%s: %s", self.path, notice)
        self.load_notice = notice


def server_entry(config: ServerConfig) -> dict[str, Any]:
    """A ``ServerConfig`` as the ``mcpServers`` entry other apps write."""
    if config.transport == "http":
        entry: dict[str, Any] = {"type": "http", "url": config.url}
        if config.headers:
            entry["headers"] = dict(config.headers)
        return entry
    entry = {"command": config.command, "args": list(config.args)}
    if config.env:
        entry["env"] = dict(config.env)
    if config.cwd:
        entry["cwd"] = config.cwd
    return entry


def _strings(value: object, problems: list[str], what: str) -> Iterable[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{what} is not a list of names")
        return []
    return value


def _keys(value: object, problems: list[str], what: str) -> Iterable[ToolKey]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{what} is not a list")
        return []
    keys: list[ToolKey] = []
    for item in value:
        if isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item):
            keys.append((item[0], item[1]))
        else:
            problems.append(f"{what} has an entry that is not [source, tool]")
    return keys
