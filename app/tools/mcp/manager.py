"""All configured MCP servers together: one client each, started when first needed, stopped together on quit.

The window, the command line and (later) the local server each hold one ``McpManager``; it is safe to use from
any thread. A server that cannot start does not hide the others: listing reports it as a one-line error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from app.tools.mcp.client import McpClient
from app.tools.mcp.config import ServerConfig
from app.tools.mcp.results import ResultLimits
from app.tools.model import ToolError, ToolResult, ToolSpec


@dataclass(frozen=True)
class ServerTools:
    """One server's tools, or the one-line reason there are none."""

    server: str
    tools: tuple[ToolSpec, ...] = ()
    error: str = ""


@dataclass
class McpManager:
    """The clients of ``configs`` by server name; nothing starts until a listing or a call needs it."""

    configs: Iterable[ServerConfig]
    limits: ResultLimits = field(default_factory=ResultLimits)
    _clients: dict[str, McpClient] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for config in self.configs:
            if config.name in self._clients:
                raise ToolError(f"server {config.name!r} is configured twice")
            self._clients[config.name] = McpClient(config, limits=self.limits)

    @property
    def servers(self) -> list[str]:
        return list(self._clients)

    def client(self, server: str) -> McpClient:
        try:
            return self._clients[server]
        except KeyError:
            raise ToolError(f"no MCP server named {server!r}") from None

    def list_tools(self, servers: Iterable[str] | None = None, timeout_s: float = 30.0) -> list[ServerTools]:
        """Each server's tools (starting those not yet running, side by side), in configuration order."""
        names = list(self._clients) if servers is None else list(servers)
        found: dict[str, ServerTools] = {}

        def list_one(name: str) -> None:
            try:
                found[name] = ServerTools(name, tuple(self.client(name).list_tools(timeout_s)))
            except ToolError as error:
                found[name] = ServerTools(name, error=str(error))

        _side_by_side([partial(list_one, name) for name in names])
        return [found[name] for name in names]

    def call(
        self, server: str, tool: str, arguments: dict[str, Any] | None = None, timeout_s: float = 30.0
    ) -> ToolResult:
        """Call ``tool`` on ``server``; ``ToolError`` (one line) when the server could not answer."""
        return self.client(server).call(tool, arguments, timeout_s)

    def close(self) -> None:
        """Stop every server, side by side (each may take its grace period)."""
        with self._lock:
            _side_by_side([client.close for client in self._clients.values()])

    def __enter__(self) -> McpManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _side_by_side(jobs: list[Callable[[], None]]) -> None:
    """Run the jobs on threads of their own and wait for all of them."""
    threads = [threading.Thread(target=job, name="mcp-manager", daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
