"""One MCP server, used from any thread: a synchronous facade over the official (async) ``mcp`` SDK.

Each ``McpClient`` runs its own event loop on a background thread; the connection lives in one task there (the
SDK's context managers must be entered and left by the same task) and calls are submitted to that loop, waited
for with a timeout. The server starts when first needed, restarts on the next call after it died, and stops on
``close()`` (stdin closed, then SIGTERM to its process group after a grace period, then SIGKILL: the SDK's
shutdown). A stdio server's stderr goes to the logger ``gemma_desk.mcp.<name>``.

Everything a server sends is untrusted: tool names and schemas are checked, text is capped, pictures are
decoded, checked and capped. Every failure is a one-line ``ToolError``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import asynccontextmanager
from typing import Any, TextIO, TypeVar

import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from app.tools.mcp.config import ServerConfig
from app.tools.mcp.results import ResultLimits, tool_result, tool_specs
from app.tools.model import ToolError, ToolResult, ToolSpec

_T = TypeVar("_T")
_log = logging.getLogger("gemma_desk.mcp")
#: JSON-RPC's "connection closed" error code, as the SDK raises it when the server went away mid-request.
_CONNECTION_CLOSED = -32000
#: Extra seconds the calling thread waits beyond a call's own timeout, for the loop to report it.
_SLACK_S = 10.0


def seconds(value: float) -> str:
    """``30 s``, ``0.5 s``: a timeout as the messages print it."""
    return f"{value:g} s"


def first_cause(error: BaseException) -> BaseException:
    """The first real exception inside (nested) exception groups, which the SDK's task groups raise."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


class _Connection:
    """A live session: the client, the task holding it open, and the event that lets that task close it."""

    def __init__(self, client: Client, holder: asyncio.Task[None], stop: asyncio.Event) -> None:
        self.client = client
        self.holder = holder
        self.stop = stop


class McpClient:
    """One configured MCP server: ``list_tools()``, ``call()``, ``close()``; safe to use from several threads."""

    def __init__(self, config: ServerConfig, *, limits: ResultLimits | None = None, start_timeout_s: float = 30.0):
        self.config = config
        self.limits = limits or ResultLimits()
        self.start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connection: _Connection | None = None
        self._server_log = logging.getLogger(f"gemma_desk.mcp.{config.name}")

    @property
    def running(self) -> bool:
        """Whether a session with the server is open (it may still have died since the last call)."""
        return self._connection is not None

    # Public, synchronous API.

    def start(self) -> None:
        """Connect (start the server) unless already connected; ``ToolError`` if it cannot start."""
        self._ensure_connection()

    def list_tools(self, timeout_s: float = 30.0) -> list[ToolSpec]:
        """The server's tools as ``ToolSpec``s (``source`` is the server's name); unusable ones are left out."""
        connection = self._ensure_connection()
        listed = self._run(self._list(connection, timeout_s), timeout_s)
        return tool_specs(self.config.name, listed, self._server_log)

    def call(self, name: str, arguments: dict[str, Any] | None = None, timeout_s: float = 30.0) -> ToolResult:
        """Call tool ``name``: its result (``is_error`` when the tool itself failed), or ``ToolError`` when the
        server could not answer (it hung past ``timeout_s``, died, or refused the request)."""
        connection = self._ensure_connection()
        result = self._run(self._call(connection, name, arguments or {}, timeout_s), timeout_s)
        return tool_result(result, self.limits)

    def close(self) -> None:
        """Stop the server (if started) and the loop thread; a later call starts everything again."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            if self._connection is not None:
                self._disconnect_from_caller(self._connection)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5.0)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> McpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The loop thread.

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name=f"mcp-{self.config.name}", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def _submit(self, coroutine: Coroutine[Any, Any, _T]) -> Future[_T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._ensure_loop())

    def _run(self, coroutine: Coroutine[Any, Any, _T], timeout_s: float) -> _T:
        future = self._submit(coroutine)
        try:
            return future.result(timeout=timeout_s + _SLACK_S)
        except FutureTimeout:
            future.cancel()
            raise ToolError(f"server {self.config.name} did not answer within {seconds(timeout_s)}") from None

    def _ensure_connection(self) -> _Connection:
        with self._lock:
            if self._connection is None:
                future = self._submit(self._connect())
                try:
                    self._connection = future.result(timeout=self.start_timeout_s + _SLACK_S)
                except FutureTimeout:
                    future.cancel()
                    raise ToolError(
                        f"server {self.config.name} did not start within {seconds(self.start_timeout_s)}"
                    ) from None
            return self._connection

    def _disconnect_from_caller(self, connection: _Connection) -> None:
        """Close ``connection`` from a calling thread, waiting for the server to stop (the lock is held)."""
        future = self._submit(self._disconnect(connection))
        try:
            future.result(timeout=15.0)
        except (FutureTimeout, Exception) as error:  # closing must not fail the caller
            _log.warning("server %s did not stop cleanly: %s", self.config.name, first_cause(error))
        self._connection = None

    # Coroutines (run on the loop thread).

    async def _connect(self) -> _Connection:
        ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        stop = asyncio.Event()
        holder = asyncio.create_task(self._hold(ready, stop))
        try:
            client = await asyncio.wait_for(asyncio.shield(ready), self.start_timeout_s)
        except TimeoutError:
            stop.set()
            holder.cancel()
            await asyncio.gather(holder, return_exceptions=True)
            raise ToolError(f"server {self.config.name} did not start within {seconds(self.start_timeout_s)}") from None
        except BaseException as error:
            await asyncio.gather(holder, return_exceptions=True)
            raise self._start_error(first_cause(error)) from None
        return _Connection(client, holder, stop)

    async def _hold(self, ready: asyncio.Future[Client], stop: asyncio.Event) -> None:
        """Open the session, hand it over through ``ready``, and keep it open until ``stop`` is set."""
        stderr = _StderrPipe(self._server_log) if self.config.transport == "stdio" else None
        try:
            async with self._sdk_client(stderr) as client:
                if stderr is not None:
                    stderr.spawned()
                ready.set_result(client)
                await stop.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            else:
                _log.debug("server %s: session ended with %r", self.config.name, first_cause(error))
        finally:
            if stderr is not None:
                stderr.spawned()

    def _sdk_client(self, stderr: _StderrPipe | None) -> Client:
        config = self.config
        if config.transport == "http":
            return Client(_http_transport(config.url, dict(config.headers)), cache=None)
        assert stderr is not None
        parameters = StdioServerParameters(
            command=config.command, args=list(config.args), env=dict(config.env) or None, cwd=config.cwd
        )
        # The SDK spawns the process with stderr=errlog: our pipe instead of the terminal.
        return Client(stdio_client(parameters, errlog=stderr.writer), cache=None)

    async def _disconnect(self, connection: _Connection) -> None:
        connection.stop.set()
        await asyncio.gather(connection.holder, return_exceptions=True)

    async def _list(self, connection: _Connection, timeout_s: float) -> Any:
        return await self._request(connection, connection.client.list_tools(), timeout_s)

    async def _call(self, connection: _Connection, name: str, arguments: dict[str, Any], timeout_s: float) -> Any:
        return await self._request(connection, connection.client.call_tool(name, arguments), timeout_s)

    async def _request(self, connection: _Connection, request: Coroutine[Any, Any, _T], timeout_s: float) -> _T:
        name = self.config.name
        try:
            async with asyncio.timeout(timeout_s):
                return await request
        except TimeoutError:
            raise ToolError(f"server {name} did not answer within {seconds(timeout_s)}") from None
        except MCPError as error:
            if error.code != _CONNECTION_CLOSED:
                raise ToolError(f"server {name}: {error.message[:500]}") from None
            await self._forget(connection)
            raise ToolError(f"server {name} stopped during the call (it starts again on the next call)") from None
        except Exception as error:
            await self._forget(connection)
            cause = first_cause(error)
            raise ToolError(f"server {name} failed: {type(cause).__name__}: {str(cause)[:500]}") from None

    async def _forget(self, connection: _Connection) -> None:
        """The server went away: close what is left of the session, so the next call starts it again."""
        if self._connection is connection:
            self._connection = None
        await self._disconnect(connection)

    def _start_error(self, error: BaseException) -> ToolError:
        name, command = self.config.name, self.config.command
        if isinstance(error, ToolError):
            return error
        if isinstance(error, MCPError) and error.code == _CONNECTION_CLOSED:
            return ToolError(f"server {name} exited before it answered (its messages are in the log)")
        if isinstance(error, FileNotFoundError) and self.config.transport == "stdio":
            return ToolError(f"server {name}: command {command!r} not found")
        if isinstance(error, PermissionError) and self.config.transport == "stdio":
            return ToolError(f"server {name}: command {command!r} cannot be run (permission denied)")
        return ToolError(f"server {name} could not start: {type(error).__name__}: {error}")


@asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    """Streamable HTTP with the configured headers (an ``Authorization`` token, say) on every request."""
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0)) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


class _StderrPipe:
    """A pipe whose write end becomes the server's stderr; a thread logs each line it writes."""

    def __init__(self, logger: logging.Logger) -> None:
        read_fd, write_fd = os.pipe()
        self.writer: TextIO = open(write_fd, "w", encoding="utf-8")  # noqa: SIM115 (closed by spawned())
        self._reader = threading.Thread(target=self._pump, args=(read_fd, logger), name="mcp-stderr", daemon=True)
        self._reader.start()

    def spawned(self) -> None:
        """Drop our copy of the write end (the server holds its own), so the reader ends when the server does."""
        if not self.writer.closed:
            self.writer.close()

    @staticmethod
    def _pump(read_fd: int, logger: logging.Logger) -> None:
        with os.fdopen(read_fd, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.strip():
                    logger.info("%s", line.rstrip()[:2000])
