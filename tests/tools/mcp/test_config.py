"""The ``mcpServers`` JSON other apps use, read into typed server settings; every wrong shape is one clear line."""

from __future__ import annotations

import json

import pytest

from app.tools.mcp.config import McpConfigError, ServerConfig, parse_mcp_servers


def test_stdio_and_http_servers_as_other_apps_write_them() -> None:
    text = json.dumps(
        {
            "mcpServers": {
                "files": {"command": "npx", "args": ["-y", "server-files", "/tmp"], "env": {"TOKEN": "t"}},
                "web": {"url": "http://127.0.0.1:8000/mcp"},
                "typed": {"type": "streamable-http", "url": "https://example.org/mcp", "headers": {"X-Key": "k"}},
                "plain": {"type": "stdio", "command": "demo"},
            }
        }
    )
    assert parse_mcp_servers(text) == [
        ServerConfig("files", "stdio", command="npx", args=("-y", "server-files", "/tmp"), env={"TOKEN": "t"}),
        ServerConfig("web", "http", url="http://127.0.0.1:8000/mcp"),
        ServerConfig("typed", "http", url="https://example.org/mcp", headers={"X-Key": "k"}),
        ServerConfig("plain", "stdio", command="demo"),
    ]


def test_a_bare_table_of_servers_is_accepted() -> None:
    assert parse_mcp_servers('{"s": {"type": "http", "url": "http://localhost/mcp"}}') == [
        ServerConfig("s", "http", url="http://localhost/mcp")
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", r"^not JSON: .*line 1, column 2"),
        ("[1, 2]", r"^expected a JSON object with an mcpServers table$"),
        ('{"mcpServers": []}', r"^mcpServers: expected an object of servers by name$"),
        ('{"mcpServers": {"a": "npx"}}', r"^server 'a': expected an object with command or url$"),
        ('{"mcpServers": {"a": {"args": []}}}', r"^server 'a': command must be a non-empty string$"),
        ('{"mcpServers": {"a": {"command": 5}}}', r"^server 'a': command must be a non-empty string$"),
        ('{"mcpServers": {"a": {"command": "x", "args": "-v"}}}', r"^server 'a': args must be a list of strings$"),
        ('{"mcpServers": {"a": {"command": "x", "args": [1]}}}', r"^server 'a': args must be a list of strings$"),
        ('{"mcpServers": {"a": {"command": "x", "env": {"K": 1}}}}', r"^server 'a': env must be an object of strings$"),
        ('{"mcpServers": {"a": {"command": "x", "env": {"A=B": "1"}}}}', r"^server 'a': env has a name or value"),
        ('{"mcpServers": {"a": {"command": "x", "cwd": 3}}}', r"^server 'a': cwd must be a string$"),
        ('{"mcpServers": {"a": {"command": "x\\u0000y"}}}', r"^server 'a': command, args and cwd may not contain NUL"),
        ('{"mcpServers": {"a": {"type": "sse", "url": "http://h/"}}}', r"^server 'a': type must be one of stdio, http"),
        ('{"mcpServers": {"a": {"type": "http"}}}', r"^server 'a': url must be a string$"),
        ('{"mcpServers": {"a": {"url": "file:///etc/passwd"}}}', r"^server 'a': url must be an http:// or https://"),
        ('{"mcpServers": {"a": {"url": "http://"}}}', r"^server 'a': url must be an http:// or https://"),
        ('{"mcpServers": {"a": {"url": "http://h/", "headers": []}}}', r"^server 'a': headers must be an object of"),
        ('{"mcpServers": {"": {"command": "x"}}}', r"^server '': a name must be 1-100 characters on one line$"),
        ('{"mcpServers": {"a\\nb": {"command": "x"}}}', r"^server 'a\\nb': a name must be 1-100 characters"),
    ],
)
def test_every_wrong_shape_is_one_line_naming_the_server_and_field(document: str, message: str) -> None:
    with pytest.raises(McpConfigError, match=message) as caught:
        parse_mcp_servers(document)
    assert "\n" not in str(caught.value)


def test_json_that_nests_too_deep_is_one_line() -> None:
    with pytest.raises(McpConfigError, match=r"^not usable: it nests too deep$"):
        parse_mcp_servers("[" * 100_000 + "]" * 100_000)
