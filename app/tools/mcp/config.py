"""MCP server settings: the ``mcpServers`` JSON other apps use, read into typed, checked ``ServerConfig``s.

The JSON is untrusted (pasted by the user, or a file given to the command line): every wrong shape becomes one
``McpConfigError`` line naming the server and the field, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

Transport = Literal["stdio", "http"]

#: The ``type`` values other apps write, and the transport each means.
_TYPES: dict[str, Transport] = {"stdio": "stdio", "http": "http", "streamable-http": "http", "streamableHttp": "http"}


class McpConfigError(ValueError):
    """An ``mcpServers`` document that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class ServerConfig:
    """One MCP server: a command to start (stdio) or a Streamable HTTP address."""

    name: str
    transport: Transport
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


def parse_mcp_servers(text: str) -> list[ServerConfig]:
    """The servers in an ``mcpServers`` JSON document (a bare ``{"name": {...}}`` table is accepted too)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise McpConfigError(f"not JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise McpConfigError("not usable: it nests too deep") from None
    if not isinstance(document, dict):
        raise McpConfigError("expected a JSON object with an mcpServers table")
    table = document.get("mcpServers", document)
    if not isinstance(table, dict):
        raise McpConfigError("mcpServers: expected an object of servers by name")
    return [parse_server(name, entry) for name, entry in table.items()]


def parse_server(name: str, entry: object) -> ServerConfig:
    """One server's entry, checked field by field."""
    if not name.strip() or len(name) > 100 or any(ch in name for ch in "\r\n\t"):
        raise McpConfigError(f"server {name[:40]!r}: a name must be 1-100 characters on one line")
    if not isinstance(entry, dict):
        raise McpConfigError(f"server {name!r}: expected an object with command or url")
    kind = entry.get("type", entry.get("transport"))
    if kind is not None and (not isinstance(kind, str) or kind not in _TYPES):
        raise McpConfigError(f"server {name!r}: type must be one of {', '.join(_TYPES)}, not {kind!r}")
    transport = _TYPES[kind] if isinstance(kind, str) else ("http" if "url" in entry else "stdio")
    if transport == "http":
        return ServerConfig(
            name,
            "http",
            url=_url(name, entry.get("url")),
            headers=_string_table(name, "headers", entry.get("headers", {})),
        )
    command = entry.get("command")
    if not isinstance(command, str) or not command.strip():
        raise McpConfigError(f"server {name!r}: command must be a non-empty string")
    args = entry.get("args", [])
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        raise McpConfigError(f"server {name!r}: args must be a list of strings")
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise McpConfigError(f"server {name!r}: cwd must be a string")
    for text in (command, *args, cwd or ""):
        if "\0" in text:
            raise McpConfigError(f"server {name!r}: command, args and cwd may not contain NUL characters")
    return ServerConfig(
        name, "stdio", command=command, args=tuple(args), env=_string_table(name, "env", entry.get("env", {})), cwd=cwd
    )


def _url(name: str, url: object) -> str:
    if not isinstance(url, str):
        raise McpConfigError(f"server {name!r}: url must be a string")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise McpConfigError(f"server {name!r}: url must be an http:// or https:// address, not {url[:80]!r}")
    return url


def _string_table(name: str, what: str, table: object) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise McpConfigError(f"server {name!r}: {what} must be an object of strings")
    if any("\0" in k or "\0" in v or (what == "env" and "=" in k) for k, v in table.items()):
        raise McpConfigError(f"server {name!r}: {what} has a name or value that cannot be used")
    return dict(table)
