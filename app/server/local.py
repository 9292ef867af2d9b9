"""``LocalServer``: the OpenAI-compatible API on uvicorn in a background thread, over a shared engine.

The engine belongs to whoever made it (the window or ``gemma-desk serve``): the server never loads or unloads a
model, it answers 503 while none is loaded. ``on_activity`` hears the number of requests in flight (queued +
running) whenever it changes, on the server's thread.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable

import uvicorn

from app.engine import Engine
from app.server.bridge import InFlight
from app.server.errors import ServerError
from app.server.options import ServerOptions, check_options
from app.server.routes import Api

START_TIMEOUT_S = 15.0


class LocalServer:
    def __init__(
        self, engine: Engine, options: ServerOptions, on_activity: Callable[[int], None] | None = None
    ) -> None:
        check_options(options)
        self.options = options
        self._in_flight = InFlight(options.max_in_flight, on_activity)
        self._api = Api(engine, options, self._in_flight)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = options.port

    @property
    def address(self) -> str:
        host = self.options.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self._port}"

    @property
    def in_flight(self) -> int:
        return self._in_flight.count

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Listen and serve in a background thread; a ``ServerError`` (one line) when the port is taken."""
        if self.running:
            return
        sock = self._bind()
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._api.app(),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=3,
            server_header=False,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="gemma-server", daemon=True)
        self._thread.start()
        waited = threading.Event()
        while not server.started and self._thread.is_alive() and not waited.wait(0.02):
            pass
        if not server.started:
            sock.close()
            self.stop()
            raise ServerError(f"The server could not start on {self.address}.")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every generation it started, close the port and end its thread."""
        self._in_flight.stop_all()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
        self._thread = None

    def _bind(self) -> socket.socket:
        host, port = self.options.host, self.options.port
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except socket.gaierror:
            raise ServerError(f"{host} is not an address this machine can listen on.") from None
        family, kind, proto, _name, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
            sock.listen(128)
        except OSError as error:
            sock.close()
            if error.errno == errno.EADDRINUSE:
                raise ServerError(f"Port {port} on {host} is already in use: choose another with --port.") from None
            raise ServerError(f"Cannot listen on {host}:{port}: {error.strerror or error}.") from None
        sock.set_inheritable(True)
        return sock
