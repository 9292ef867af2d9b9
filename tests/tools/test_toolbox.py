"""Which tools an answer is offered and under which names: only what the user enabled, one name per tool even when
two sources clash, and a server's tool whose declaration holds control-token text left out with a notice; running
an offered tool never raises."""

from __future__ import annotations

import sys
from pathlib import Path

from app.tools.consent import chat_permissions, standing_permission, with_chat_permission
from app.tools.mcp.manager import McpManager
from app.tools.model import ToolSpec
from app.tools.tool_settings import ToolSettings
from app.tools.toolbox import OfferedTool, ToolBox, _named, control_text_in
from tests.tools.mcp.test_client import DEMO


def demo_settings(tmp_path: Path, *keys: tuple[str, str]) -> ToolSettings:
    settings = ToolSettings(tmp_path / "tools.json")
    for name in ("one", "two"):
        settings.add_server((name, {"command": sys.executable, "args": [str(DEMO)]}))
    for key in keys:
        settings.set_enabled(key, True)
    return settings


def test_nothing_is_offered_until_enabled(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)
    with McpManager(settings.server_configs()[0]) as manager:
        offer = ToolBox(settings, manager).offer()
        assert not offer and offer.notices == ()
        assert not any(client.running for client in manager._clients.values())  # no server was started


def test_enabled_tools_are_offered_and_clashing_names_get_the_server_in_front(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, ("builtin", "calculator"), ("one", "add"), ("two", "add"), ("two", "echo"))
    with McpManager(settings.server_configs()[0]) as manager:
        box = ToolBox(settings, manager)
        offer = box.offer()
        assert list(offer.tools) == ["calculator", "add", "two_add", "echo"]
        assert [d["function"]["name"] for d in offer.declarations()] == list(offer.tools)
        assert offer.tools["two_add"].spec.name == "add" and offer.tools["two_add"].source == "two"
        assert box.run(offer.tools["two_add"], {"a": 1, "b": 2}).text == "3"
        bad = box.run(offer.tools["add"], {"a": "one", "b": 2})
        assert bad.is_error and "must be an integer" in bad.text
        assert box.run(offer.tools["calculator"], {"expression": "2**10"}).text == "1024"


def test_a_disabled_server_offers_nothing(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path, ("one", "add"))
    settings.disabled_servers.add("one")
    configs, _ = settings.server_configs()
    assert configs and all(c.name != "one" for c in configs)
    assert not ToolBox(settings, McpManager(configs)).offer()


def test_a_server_that_cannot_start_is_a_notice(tmp_path: Path) -> None:
    settings = ToolSettings(tmp_path / "tools.json")
    settings.add_server(("ghost", {"command": "gemma-desk-no-such-server"}))
    settings.set_enabled(("ghost", "x"), True)
    settings.set_enabled(("builtin", "current_time"), True)
    with McpManager(settings.server_configs()[0]) as manager:
        offer = ToolBox(settings, manager).offer()
    assert list(offer.tools) == ["current_time"]
    assert offer.notices == ("MCP server ‘ghost’: server ghost: command 'gemma-desk-no-such-server' not found",)


def test_control_token_text_in_a_declaration_is_found() -> None:
    clean = ToolSpec("lookup", "Finds <|turn> in text", {"type": "object", "properties": {"q": {"type": "string"}}})
    assert control_text_in(clean) == ""  # a description is fenced as text: allowed
    sneaky = ToolSpec("lookup", "", {"type": "object", "properties": {"q": {"enum": ["a", "<turn|>"]}}})
    assert control_text_in(sneaky) == "its declaration holds '|>'"
    assert control_text_in(ToolSpec("x", "", {"type": "object", "properties": {"<eos>": {}}}))


def test_names_stay_unique_and_callable() -> None:
    spec = ToolSpec("search", "")
    named = _named([("builtin", spec), ("web tools", spec), ("web-tools", spec), ("9lives", spec)])
    assert list(named) == ["search", "web_tools_search", "web-tools_search", "_9lives_search"]
    assert all(isinstance(tool, OfferedTool) for tool in named.values())


def test_standing_permissions(tmp_path: Path) -> None:
    settings = ToolSettings(tmp_path / "tools.json")
    reader = OfferedTool("whoami", ToolSpec("whoami", "", read_only=True), "one")
    writer = OfferedTool("add", ToolSpec("add", ""), "one")
    assert standing_permission(reader, settings, set()) == ""
    settings.auto_allow_read_only = True
    assert standing_permission(reader, settings, set()) == "read_only"
    assert standing_permission(writer, settings, set()) == ""
    settings.allow_always(("one", "add"))
    assert standing_permission(writer, settings, set()) == "always"
    settings.revoke(("one", "add"))
    kept = with_chat_permission({"other": 1}, ("one", "add"))
    assert kept["other"] == 1 and chat_permissions(kept) == {("one", "add")}
    assert standing_permission(writer, settings, chat_permissions(kept)) == "chat"
    assert chat_permissions(with_chat_permission(kept, ("one", "add"), allowed=False)) == set()
    assert chat_permissions({"allowed_tools": "everything"}) == set()
