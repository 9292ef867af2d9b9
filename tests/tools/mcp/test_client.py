"""The MCP client against a real MCP server (tests/tools/mcp/demo_server.py, the official SDK's server side):
over stdio as a subprocess, and over Streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.tools.mcp.client import McpClient
from app.tools.mcp.config import ServerConfig
from app.tools.mcp.results import ResultLimits
from app.tools.model import ToolError

DEMO = Path(__file__).with_name("demo_server.py")
DEMO_CONFIG = ServerConfig("demo", "stdio", command=sys.executable, args=(str(DEMO),))


def gone(pid: int, within_s: float = 8.0) -> bool:
    """Whether process ``pid`` has ended (and been reaped) within the time."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def demo() -> Iterator[McpClient]:
    client = McpClient(DEMO_CONFIG)
    yield client
    client.close()


def test_lists_the_servers_tools_with_schemas_and_read_only_hints(demo: McpClient) -> None:
    specs = {spec.name: spec for spec in demo.list_tools()}
    assert set(specs) == {"add", "echo", "picture", "sleepy", "crash", "huge", "whoami"}
    assert [name for name, spec in specs.items() if spec.read_only] == ["whoami"]
    assert {spec.source for spec in specs.values()} == {"demo"}
    assert specs["add"].description == "Add two whole numbers."
    assert specs["add"].parameters["required"] == ["a", "b"]
    assert specs["add"].parameters["properties"]["a"]["type"] == "integer"
    assert specs["add"].declaration()["function"]["name"] == "add"


def test_calls_return_the_tools_text(demo: McpClient) -> None:
    assert demo.call("add", {"a": 2, "b": 40}).text == "42"
    result = demo.call("echo", {"text": "héllo 👋\nline two"})
    assert (result.text, result.images, result.is_error) == ("héllo 👋\nline two", (), False)


def test_a_tool_error_is_a_result_the_model_sees(demo: McpClient) -> None:
    result = demo.call("add", {"a": "two", "b": 1})
    assert result.is_error
    assert "Input should be a valid integer" in result.text
    unknown = demo.call("divide", {"a": 1})
    assert (unknown.text, unknown.is_error) == ("Unknown tool: divide", True)


def test_a_picture_arrives_as_decoded_png_bytes(demo: McpClient) -> None:
    result = demo.call("picture")
    assert result.text == ""
    assert len(result.images) == 1
    with Image.open(io.BytesIO(result.images[0])) as picture:
        assert (picture.format, picture.size, picture.getpixel((0, 0))) == ("PNG", (3, 2), (255, 0, 0))


def test_a_picture_over_the_cap_is_left_out_with_a_note() -> None:
    with McpClient(DEMO_CONFIG, limits=ResultLimits(image_bytes=20)) as client:
        result = client.call("picture")
    assert result.images == ()
    assert result.text == "[picture left out: over the 20 bytes limit]"


def test_a_huge_result_is_cut_at_the_cap_and_says_so(demo: McpClient) -> None:
    result = demo.call("huge")
    body, note = result.text.rsplit("\n", 1)
    assert body == "x" * 1_000_000
    assert note == "… (result cut at 1.0 MB of 5.0 MB)"


def test_a_hung_tool_times_out_with_one_line_and_the_server_keeps_serving(demo: McpClient) -> None:
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"^server demo did not answer within 1 s$"):
        demo.call("sleepy", {"seconds": 30}, timeout_s=1)
    assert time.monotonic() - started < 3
    assert demo.call("add", {"a": 1, "b": 1}).text == "2"


def test_calls_from_several_threads_at_once(demo: McpClient) -> None:
    answers: dict[int, str] = {}

    def ask(n: int) -> None:
        answers[n] = demo.call("add", {"a": n, "b": 1000}).text

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == {n: str(n + 1000) for n in range(8)}


def test_a_server_that_dies_mid_call_is_one_line_and_starts_again(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gemma_desk.mcp.demo")
    with McpClient(DEMO_CONFIG) as client:
        first = int(client.call("whoami").text)
        with pytest.raises(ToolError, match=r"^server demo stopped during the call \(it starts again on the next"):
            client.call("crash")
        assert gone(first)
        second = int(client.call("whoami").text)
        assert second != first
        assert client.call("add", {"a": 3, "b": 4}).text == "7"
    assert gone(second)
    lines = [r.getMessage() for r in caplog.records if r.name == "gemma_desk.mcp.demo"]
    assert f"demo server {first} ready" in lines
    assert "demo: crashing now" in lines
    assert f"demo server {second} ready" in lines


def test_close_stops_the_server_even_while_a_tool_hangs() -> None:
    client = McpClient(DEMO_CONFIG)
    pid = int(client.call("whoami").text)
    with pytest.raises(ToolError, match=r"^server demo did not answer within 0.5 s$"):
        client.call("sleepy", {"seconds": 60}, timeout_s=0.5)
    started = time.monotonic()
    client.close()
    assert gone(pid)
    assert time.monotonic() - started < 8
    assert not client.running
    assert int(client.call("whoami").text) != pid  # usable again after close: a fresh server
    client.close()


def test_close_kills_a_server_that_ignores_stdin_closing_and_sigterm() -> None:
    client = McpClient(ServerConfig("stubborn", "stdio", command=sys.executable, args=(str(DEMO), "--stubborn")))
    pid = int(client.call("whoami").text)
    started = time.monotonic()
    client.close()
    assert gone(pid, within_s=1.0)
    assert 3.5 < time.monotonic() - started < 8  # a grace period after stdin closed, another after SIGTERM, then KILL


def test_a_command_that_does_not_exist_is_one_line() -> None:
    client = McpClient(ServerConfig("ghost", "stdio", command="gemma-desk-no-such-server"))
    with pytest.raises(ToolError, match=r"^server ghost: command 'gemma-desk-no-such-server' not found$"):
        client.list_tools()
    client.close()


def test_a_server_that_exits_at_once_is_one_line() -> None:
    config = ServerConfig("quitter", "stdio", command=sys.executable, args=("-c", "print('bye')"))
    with (
        McpClient(config, start_timeout_s=10) as client,
        pytest.raises(ToolError, match=r"^server quitter exited before it answered \(its messages are in the log\)$"),
    ):
        client.list_tools()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(DEMO), "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the demo server did not start listening over HTTP")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_streamable_http_lists_and_calls(http_url: str) -> None:
    with McpClient(ServerConfig("web", "http", url=http_url)) as client:
        specs = {spec.name: spec for spec in client.list_tools()}
        assert specs["whoami"].read_only and not specs["add"].read_only
        assert {spec.source for spec in specs.values()} == {"web"}
        assert client.call("add", {"a": 20, "b": 22}).text == "42"
        assert client.call("picture").images[0].startswith(b"\x89PNG")
        with pytest.raises(ToolError, match=r"^server web did not answer within 1 s$"):
            client.call("sleepy", {"seconds": 2}, timeout_s=1)
        assert client.call("echo", {"text": "still here"}).text == "still here"


def test_an_http_server_that_is_not_there_is_one_line() -> None:
    config = ServerConfig("offline", "http", url=f"http://127.0.0.1:{free_port()}/mcp")
    with McpClient(config) as client, pytest.raises(ToolError, match=r"^server offline could not start: ") as caught:
        client.list_tools()
    assert "\n" not in str(caught.value)
