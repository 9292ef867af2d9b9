"""Servers for the remote engine's tests, all on 127.0.0.1 at free ports.

- ``OpenAIServer``: any OpenAI-compatible server run as a subprocess (llama-cpp-python's own
  ``python -m llama_cpp.server``; ``gemma-desk serve`` fits the same shape), started, waited for on
  ``/v1/models`` and killed at the end.
- ``CannedServer``: a real HTTP server (``http.server``) that lists models and replays a scripted chat
  completion stream: canned chunks, an error status, a pause, or a connection cut in the middle of the stream.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: ``python -m llama_cpp.server``, after loading llama.cpp's CPU module the way the app does: a build of one
#: module per CPU level finds none by itself (llama.cpp would look beside the Python executable).
LLAMA_CPP_SERVER = (
    "import runpy, sys; from app.engine.cpu_variants import load_backends; load_backends(); "
    "sys.argv[0] = 'llama_cpp.server'; runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)"
)


class OpenAIServer:
    """An OpenAI-compatible server in a subprocess; ``url`` is its API base (``http://127.0.0.1:N/v1``)."""

    def __init__(self, command: Sequence[str], port: int, api_key: str = "", log: Path | None = None) -> None:
        self.command = list(command)
        self.port = port
        self.api_key = api_key
        self.url = f"http://127.0.0.1:{port}/v1"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def llama_cpp(cls, model: Path, *, api_key: str = "", log: Path | None = None) -> OpenAIServer:
        port = free_port()
        command = [sys.executable, "-c", LLAMA_CPP_SERVER, "--model", str(model), "--host", "127.0.0.1"]
        command += ["--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--verbose", "false"]
        if api_key:
            command += ["--api_key", api_key]
        return cls(command, port, api_key, log)

    @classmethod
    def gemma_desk(cls, model: Path, *, api_key: str = "", log: Path | None = None) -> OpenAIServer:
        """``gemma-desk serve`` with the tiny model (its options as issue 16 names them)."""
        port = free_port()
        command = [sys.executable, "-m", "app", "serve", "--model", str(model), "--host", "127.0.0.1"]
        command += ["--port", str(port)]
        if api_key:
            command += ["--api-key", api_key]
        return cls(command, port, api_key, log)

    def start(self, timeout: float = 60.0) -> OpenAIServer:
        if self.log is not None:
            with self.log.open("wb") as out:  # the child keeps its own copy
                self.process = subprocess.Popen(
                    self.command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
        else:
            self.process = subprocess.Popen(
                self.command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {' '.join(self.command)}")
            try:
                if httpx.get(self.url + "/models", headers=headers, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout} s: {' '.join(self.command)}")

    def kill(self) -> None:
        """Kill it at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.kill()
            self.process.wait(timeout=30)


@dataclass
class Reply:
    """What the canned server answers to the next chat completion."""

    chunks: Sequence[dict[str, Any] | str] = ()  # each a data line: a chunk, or text such as "[DONE]"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""  # for an error status
    cut: bool = False  # close the connection after the chunks, mid-stream (no end of the chunked body)
    hold_s: float = 0.0  # wait this long before answering at all (no headers yet)
    delay_s: float = 0.0  # wait this long between chunks


def delta(**fields: Any) -> dict[str, Any]:
    """A ``chat.completion.chunk`` with one choice carrying ``fields`` as its delta."""
    finish = fields.pop("finish_reason", None)
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


class CannedServer:
    """A real HTTP server that lists ``models`` and answers chat completions with the replies queued."""

    def __init__(self, models: Sequence[str] = ("gemma-4-31b-it",)) -> None:
        self.models = list(models)
        self.replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []  # the bodies received
        self.headers: list[dict[str, str]] = []
        self.closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> CannedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()

    def reply(self, *chunks: dict[str, Any] | str, **options: Any) -> None:
        self.replies.append(Reply(chunks, **options))


def _handler(canned: CannedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in canned.models]})
            self._send(200, body.encode(), {"Content-Type": "application/json"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            canned.requests.append(json.loads(self.rfile.read(length)))
            canned.headers.append(dict(self.headers.items()))
            reply = canned.replies.pop(0) if canned.replies else Reply(("[DONE]",))
            if reply.hold_s and canned.closing.wait(reply.hold_s):
                return
            if reply.status != 200:
                self._send(reply.status, reply.body.encode(), {"Content-Type": "application/json", **reply.headers})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in reply.chunks:
                line = chunk if isinstance(chunk, str) else json.dumps(chunk)
                data = f"data: {line}\n\n".encode()
                try:
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                except OSError:
                    return  # the client went away (Stop)
                if reply.delay_s and canned.closing.wait(reply.delay_s):
                    return
            if reply.cut:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(b"0\r\n\r\n")

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
