"""A real MCP server for the tests, built on the official SDK's server side: stdio by default, ``--http PORT`` for
Streamable HTTP on 127.0.0.1.

Its tools cover what a client must survive: plain answers, a picture, a hang, a crash mid-call and a huge result.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import time

from mcp.server import MCPServer
from mcp.server.mcpserver.utilities.types import Image
from mcp_types import ToolAnnotations
from PIL import Image as PILImage

server = MCPServer("demo")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two whole numbers."""
    return str(a + b)


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return text


@server.tool()
def picture() -> Image:
    """A 3x2 red PNG."""
    buffer = io.BytesIO()
    PILImage.new("RGB", (3, 2), (255, 0, 0)).save(buffer, format="PNG")
    return Image(data=buffer.getvalue(), format="png")


@server.tool()
def sleepy(seconds: float = 60.0) -> str:
    """Sleep (past any sensible timeout)."""
    time.sleep(seconds)
    return "awake"


@server.tool()
def crash() -> str:
    """Exit the whole server in the middle of the call."""
    sys.stderr.write("demo: crashing now\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def huge() -> str:
    """Five megabytes of text."""
    return "x" * 5_000_000


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def whoami() -> str:
    """The server's process id (read-only)."""
    return str(os.getpid())


if __name__ == "__main__":
    sys.stderr.write(f"demo server {os.getpid()} ready\n")
    sys.stderr.flush()
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif sys.argv[1:] == ["--stubborn"]:
        # A server that will not go: it ignores SIGTERM and stays after its stdin closes (only SIGKILL ends it).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.run()
        time.sleep(3600)
    else:
        server.run()
