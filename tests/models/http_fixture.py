"""A real HTTP file server on 127.0.0.1 for the download tests, with switches that make it misbehave.

Routes: ``/files/<name>`` serves ``files[name]`` (with ``Range``);
``/redirect/<name>`` answers 302 to ``redirect_to + /files/<name>``;
``/relative/<name>`` answers 302 to ``/files/<name>`` on the same origin. A
request line with an absolute URL (as sent to a proxy) is served by its path.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please sign in.</body></html>\n"


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    target: str  # the request line's target (a path, or an absolute URL through a proxy)
    headers: dict[str, str]  # lower-case names

    @property
    def range(self) -> str | None:
        return self.headers.get("range")

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class FileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        # Switches
        self.drop_after: int | None = None  # cut the connection after this many body bytes of a response...
        self.drops: int | None = 1  # ...for this many responses (None: every one)
        self.ignore_range = False  # answer 200 with the whole file to a Range request
        self.range_from_zero = False  # answer 206 to a Range request, but from byte 0
        self.status: int | None = None  # answer every file request with this status and a short text body
        self.html = False  # send HTML_PAGE as text/html instead of the file
        self.html_as_binary = False  # send HTML_PAGE labelled application/octet-stream
        self.slow_s = 0.0  # pause before each piece of the body
        self.piece = 16384
        self.redirect_to = ""  # base URL that /redirect/ points to
        self._thread = threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, name: str, *, route: str = "files", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{route}/{name}"

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def take_drop(self) -> int | None:
        """The byte count to cut this response at, or None."""
        with self._lock:
            if self.drop_after is None or self.drops == 0:
                return None
            if self.drops is not None:
                self.drops -= 1
            return self.drop_after

    def ranges(self) -> list[str | None]:
        return [s.range for s in self.seen]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up (a killed download, a cancel) are the point of these tests


class _Handler(BaseHTTPRequestHandler):
    server: FileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        server.record(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
        path = urlsplit(self.path).path
        route, _, name = path.lstrip("/").partition("/")
        if route == "redirect":
            return self._send(302, b"", headers={"Location": f"{server.redirect_to}/files/{name}"})
        if route == "relative":
            return self._send(302, b"", headers={"Location": f"/files/{name}"})
        if server.status is not None:
            return self._send(server.status, b"no\n", "text/plain")
        data = server.files.get(name)
        if route != "files" or data is None:
            return self._send(404, b"Entry not found\n", "text/plain")
        if server.html or server.html_as_binary:
            return self._send(200, HTML_PAGE, "text/html; charset=utf-8" if server.html else "application/octet-stream")
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match is None or server.ignore_range:
            return self._send(200, data, cut=server.take_drop())
        start = 0 if server.range_from_zero else int(match.group(1))
        if start >= len(data):
            return self._send(416, b"", headers={"Content-Range": f"bytes */{len(data)}"})
        headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        return self._send(206, data[start:], headers=headers, cut=server.take_drop())

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
        cut: int | None = None,
    ) -> None:
        server = self.server
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            sent = 0
            for start in range(0, len(body), server.piece):
                if server.slow_s and server.stopping.wait(server.slow_s):
                    return
                piece = body[start : start + server.piece]
                if cut is not None and sent + len(piece) >= cut:
                    self.wfile.write(piece[: cut - sent])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops mid-file
                    self.close_connection = True
                    return
                self.wfile.write(piece)
                sent += len(piece)
        except OSError:
            self.close_connection = True
