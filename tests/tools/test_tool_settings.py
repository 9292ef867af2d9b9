"""The tool settings file: saved atomically and read back; a damaged one keeps what is valid, says so and keeps
a copy; removing a server forgets its tools and permissions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from app.tools.mcp.config import McpConfigError, ServerConfig
from app.tools.tool_settings import ToolSettings


def test_round_trip(tmp_path: Path) -> None:
    settings = ToolSettings(tmp_path / "tools.json")
    settings.add_server(("files", {"command": sys.executable, "args": ["-m", "files"], "env": {"A": "1"}}))
    settings.add_server(ServerConfig("web", "http", url="http://127.0.0.1:9/mcp", headers={"X": "y"}))
    settings.set_enabled(("files", "read"), True)
    settings.set_enabled(("builtin", "calculator"), True)
    settings.allow_always(("files", "read"))
    settings.auto_allow_read_only = True
    settings.save()
    again = ToolSettings.load(tmp_path / "tools.json")
    assert again.load_notice is None
    assert again.servers == settings.servers
    assert again.enabled == {("files", "read"), ("builtin", "calculator")}
    assert again.always_allowed == {("files", "read")} and again.auto_allow_read_only
    configs, problems = again.server_configs()
    assert [c.name for c in configs] == ["files", "web"] and problems == []
    assert json.loads((tmp_path / "tools.json").read_text())["mcpServers"]["web"]["type"] == "http"


def test_a_missing_file_is_everything_off(tmp_path: Path) -> None:
    settings = ToolSettings.load(tmp_path / "nope.json")
    assert settings.enabled == set() and settings.servers == {} and settings.load_notice is None


def test_a_damaged_file_keeps_what_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "tools.json"
    path.write_text(
        json.dumps(
            {
                "mcpServers": {"ok": {"command": "x"}, "bad": {"args": ["no command"]}},
                "enabledTools": [["ok", "t"], "nonsense"],
                "autoAllowReadOnly": "yes",
            }
        )
    )
    settings = ToolSettings.load(path)
    assert list(settings.servers) == ["ok"] and settings.enabled == {("ok", "t")}
    assert settings.auto_allow_read_only is False
    assert settings.load_notice is not None and "command must be a non-empty string" in settings.load_notice
    assert (tmp_path / "tools.json.bad").exists()
    path.write_text("{not json")
    broken = ToolSettings.load(path)
    assert broken.load_notice == (
        "The tool settings file is damaged; no tools are enabled. The old file was kept as tools.json.bad."
    )


def test_remove_server_forgets_its_tools_and_permissions(tmp_path: Path) -> None:
    settings = ToolSettings(tmp_path / "tools.json")
    settings.add_server(("a", {"command": "x"}))
    settings.set_enabled(("a", "t"), True)
    settings.set_enabled(("builtin", "calculator"), True)
    settings.allow_always(("a", "t"))
    settings.remove_server("a")
    assert settings.enabled == {("builtin", "calculator")} and settings.always_allowed == set()


def test_a_bad_server_is_refused_with_its_reason(tmp_path: Path) -> None:
    with pytest.raises(McpConfigError, match="url must be an http"):
        ToolSettings(tmp_path / "t.json").add_server(("w", {"type": "http", "url": "file:///etc/passwd"}))
