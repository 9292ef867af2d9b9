"""Several MCP servers together: listed side by side (one that cannot start does not hide the others), called by
server name, and all stopped on close."""

from __future__ import annotations

import sys

import pytest

from app.tools.mcp.config import ServerConfig, parse_mcp_servers
from app.tools.mcp.manager import McpManager
from app.tools.model import ToolError
from tests.tools.mcp.test_client import DEMO, gone


def test_lists_every_server_calls_by_name_and_stops_them_all() -> None:
    configs = parse_mcp_servers(
        f'{{"mcpServers": {{"one": {{"command": "{sys.executable}", "args": ["{DEMO}"]}},'
        f' "two": {{"type": "stdio", "command": "{sys.executable}", "args": ["{DEMO}"]}},'
        ' "ghost": {"command": "gemma-desk-no-such-server"}}}'
    )
    manager = McpManager(configs)
    listed = manager.list_tools()
    assert [(s.server, len(s.tools), s.error) for s in listed] == [
        ("one", 7, ""),
        ("two", 7, ""),
        ("ghost", 0, "server ghost: command 'gemma-desk-no-such-server' not found"),
    ]
    assert {tool.source for tool in listed[1].tools} == {"two"}
    pids = [int(manager.call(name, "whoami").text) for name in ("one", "two")]
    assert pids[0] != pids[1]
    assert manager.call("two", "add", {"a": 1, "b": 2}).text == "3"
    with pytest.raises(ToolError, match=r"^no MCP server named 'three'$"):
        manager.call("three", "add", {"a": 1, "b": 2})
    manager.close()
    assert all(gone(pid) for pid in pids)


def test_a_server_configured_twice_is_refused() -> None:
    twice = [ServerConfig("a", "stdio", command="x"), ServerConfig("a", "http", url="http://h/")]
    with pytest.raises(ToolError, match=r"^server 'a' is configured twice$"):
        McpManager(twice)
