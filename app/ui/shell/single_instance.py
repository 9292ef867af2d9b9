"""One Gemma Desk per user: a second ``gemma-desk [FILE…]`` hands its files to the running window and exits.

The first window holds a lock file (``QLockFile`` in the data folder) from its start, and once it is shown
listens on a ``QLocalServer`` named after the user and that folder. A later launch that finds the lock taken
connects with ``QLocalSocket``, sends its files and waits at most ``HAND_OFF_TIMEOUT_S`` for the answer; without
one (the first window hangs) it opens a window of its own and says so in the log. While nobody listens yet (the
first window is still starting: two launches at once, as Windows makes for several files opened together) it
tries again for up to ``STARTUP_WAIT_S``. A lock left by a crashed app is stale (its process is gone): the next
launch takes it, and removes the socket the crashed app left.

The protocol, one message each way: 4 bytes (big-endian length), then that many bytes of UTF-8 JSON. The launch
sends ``{"files": [absolute paths], "until": T}`` (no files: just come to the front; ``T``, on the system's
monotonic clock, is when it stops waiting: a window that reads the message later, having hung, leaves the files
to the window the launch opened instead). The window answers ``{"ok": true, "accepted": N}`` or ``{"ok": false,
"error": "…"}`` and hangs up. Whatever connects is untrusted: the window reads at most ``MAX_MESSAGE_BYTES``,
takes only a list of at most ``MAX_PATHS`` strings, attaches only absolute paths to things that exist (checked
off the GUI thread), and closes a connection that stays silent for ``IDLE_TIMEOUT_S``.

Only QtCore and QtNetwork: a launch that hands its files over never loads the widgets.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.paths import data_dir
from app.ui.tasks import run_in_background

log = logging.getLogger(__name__)

#: How long a launch waits for the running window's answer before opening a window of its own.
HAND_OFF_TIMEOUT_S = 2.0
#: How long a launch waits for a window that holds the lock but does not listen yet (it is starting).
STARTUP_WAIT_S = 20.0
#: The largest message either side reads (a list of paths is far smaller).
MAX_MESSAGE_BYTES = 256 * 1024
#: Paths one launch hands over (the composer takes 16 attachments; the rest are refused with its notice).
MAX_PATHS = 64
#: A connection that has not sent a whole message in this long is closed.
IDLE_TIMEOUT_S = 5.0
#: Connections handled at once; more are closed at once.
MAX_CONNECTIONS = 8
_HEADER = struct.Struct(">I")
#: Unix socket paths longer than this do not fit in ``sockaddr_un``; such a name goes to Qt's temporary folder.
_MAX_SOCKET_PATH = 100


class ProtocolError(ValueError):
    """A message that breaks the protocol, with a one-line reason."""


# --- names ------------------------------------------------------------------------------------------------


def instance_key() -> str:
    """``gemma-desk-<hash>``: one per user and data folder (a portable install is an app of its own)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name anywhere (some containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    folder = os.path.normcase(os.path.abspath(data_dir()))
    digest = hashlib.sha256(f"{user}\0{folder}".encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"gemma-desk-{digest}"


def server_name() -> str:
    """The local server's name: on Linux a socket in the user's runtime folder (the app's own in a Flatpak),
    elsewhere a plain name (Windows: a named pipe; macOS: a socket in the temporary folder)."""
    key = instance_key()
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if sys.platform.startswith("linux") and runtime and os.path.isdir(runtime):
        flatpak = os.environ.get("FLATPAK_ID", "")
        folder = os.path.join(runtime, "app", flatpak) if flatpak else runtime
        path = os.path.join(folder, key)
        if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
            return path
    return key


def lock_path() -> Path:
    return data_dir() / "instance.lock"


# --- messages ---------------------------------------------------------------------------------------------


def encode(message: object) -> bytes:
    """One message: its length, then its JSON (ASCII, so file names that are not UTF-8 survive as escapes)."""
    body = json.dumps(message).encode("ascii")
    return _HEADER.pack(len(body)) + body


class FrameReader:
    """Collects bytes until one whole message is there; refuses one that is too large or not JSON."""

    def __init__(self, limit: int = MAX_MESSAGE_BYTES) -> None:
        self._limit = limit
        self._buffer = bytearray()

    def feed(self, data: bytes) -> object | None:
        """The message once it is whole, else None. Raises ProtocolError."""
        self._buffer += data
        if len(self._buffer) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self._buffer)
        if size > self._limit:
            raise ProtocolError(f"the message is too large ({size:,} bytes; at most {self._limit:,})")
        if len(self._buffer) < _HEADER.size + size:
            return None
        body = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
        try:
            message: object = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ProtocolError("the message is not UTF-8 text") from None
        except ValueError:
            raise ProtocolError("the message is not JSON") from None
        return message


@dataclass(frozen=True)
class Request:
    """What a launch asks: attach ``files`` (none: come to the front), if it is still waiting at ``until``."""

    files: list[str]
    until: float

    def encode(self) -> bytes:
        return encode({"files": self.files, "until": self.until})


def request_of(message: object) -> Request:
    """A launch's request. Raises ProtocolError unless the message is ``{"files": [at most MAX_PATHS strings],
    "until": a number}``."""
    if not isinstance(message, dict):
        raise ProtocolError(f"expected an object, got {type(message).__name__}")
    files, until = message.get("files"), message.get("until")
    if not isinstance(files, list):
        raise ProtocolError("expected a list of paths in 'files'")
    if len(files) > MAX_PATHS:
        raise ProtocolError(f"too many paths ({len(files)}; at most {MAX_PATHS})")
    if not all(isinstance(item, str) for item in files):
        raise ProtocolError("every path must be a string")
    if not isinstance(until, (int, float)) or isinstance(until, bool):
        raise ProtocolError("expected a number in 'until'")
    return Request(files, float(until))


def usable(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The paths that name something that exists, absolutely; and why each other one was refused.
    Touches the file system: run it off the GUI thread."""
    accepted: list[Path] = []
    refused: list[str] = []
    for text in paths:
        shown = ascii(text[:200])
        try:
            if "\0" in text:
                refused.append(f"{shown} holds a NUL character")
            elif not os.path.isabs(text):
                refused.append(f"{shown} is not an absolute path")
            elif not os.path.exists(text):
                refused.append(f"{shown} does not exist")
            else:
                accepted.append(Path(text))
        except (ValueError, OSError) as exc:  # e.g. lone surrogates the file system cannot encode
            refused.append(f"{shown} cannot be used ({exc})")
    return accepted, refused


# --- a later launch -----------------------------------------------------------------------------------------


@dataclass
class Instance:
    """This process opens a window. ``primary``: it holds the lock, so it listens for later launches."""

    lock: QLockFile | None
    primary: bool

    def release(self) -> None:
        if self.lock is not None:
            self.lock.unlock()


def claim(paths: list[Path]) -> Instance | None:
    """Hand ``paths`` (absolute) to the running window: None when it took them (this launch is done). Otherwise
    this process opens the window: as the primary when it got the lock, else (the running one did not answer
    within ``HAND_OFF_TIMEOUT_S``, or did not listen within ``STARTUP_WAIT_S``) as a window of its own. Needs no
    QApplication."""
    started = time.monotonic()
    files = [os.fspath(p) for p in paths[:MAX_PATHS]]
    if len(paths) > MAX_PATHS:
        log.warning("only the first %d of %d files are handed over", MAX_PATHS, len(paths))
    try:
        lock_path().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.warning("cannot create the data folder for the instance lock: %s", exc)
    lock = QLockFile(os.fspath(lock_path()))
    lock.setStaleLockTime(0)  # stale only when its process is gone, however old
    while True:
        if lock.tryLock(0):
            return Instance(lock, primary=True)
        outcome, detail = _exchange(files)
        if outcome == "handed":
            log.info("handed %d file(s) to the running Gemma Desk (%s)", len(paths), detail)
            return None
        if lock.error() != QLockFile.LockError.LockFailedError:  # no lock can be taken here at all
            log.warning("cannot take %s (%s); this window listens for later launches anyway", lock_path(), detail)
            return Instance(None, primary=True)
        if outcome != "absent":
            log.warning("the running Gemma Desk %s: opening a window of its own", detail)
            return Instance(None, primary=False)
        if time.monotonic() - started >= STARTUP_WAIT_S:
            waited = f"has not listened for {STARTUP_WAIT_S:.0f} s ({detail})"
            log.warning("the running Gemma Desk %s: opening a window of its own", waited)
            return Instance(None, primary=False)
        time.sleep(0.1)  # it holds the lock but does not listen yet: it is starting


def _ms_left(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def _exchange(files: list[str]) -> tuple[str, str]:
    """Send ``files`` to the running window and read its answer: ("handed" | "absent": nobody listens | "silent":
    no answer in time | "refused", and what happened, said of the running window)."""
    if sys.platform == "win32":  # let the running window come to the front (Windows refuses it otherwise)
        import ctypes

        ctypes.windll.user32.AllowSetForegroundWindow(-1)  # type: ignore[attr-defined,unused-ignore]
    deadline = time.monotonic() + HAND_OFF_TIMEOUT_S
    socket = QLocalSocket()
    socket.connectToServer(server_name())
    try:
        if not socket.waitForConnected(_ms_left(deadline)):
            return "absent", f"is not listening: {socket.errorString()}"
        socket.write(Request(files, deadline).encode())
        socket.waitForBytesWritten(_ms_left(deadline))
        reader = FrameReader()
        answer: object = None
        while answer is None:
            if not socket.waitForReadyRead(_ms_left(deadline)) and not socket.bytesAvailable():
                return "silent", f"did not answer within {HAND_OFF_TIMEOUT_S:.0f} s"
            answer = reader.feed(bytes(socket.readAll().data()))
    except ProtocolError as exc:
        return "refused", f"sent an unreadable answer: {exc}"
    finally:
        socket.abort()
    if isinstance(answer, dict) and answer.get("ok") is True:
        return "handed", f"it accepted {answer.get('accepted')}"
    return "refused", f"refused them: {answer}"


# --- the running window ---------------------------------------------------------------------------------------


class InstanceServer(QObject):
    """The primary window's end: takes the files later launches hand over."""

    # Signals
    filesReceived = Signal(list)  # list[Path] to attach; empty: only come to the front

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name()
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_server_newConnection)
        self._connections: set[_Connection] = set()

    def listen(self) -> bool:
        """Listen (this process holds the lock, so a socket already there was left by a crashed app)."""
        if not self._server.listen(self.name):
            QLocalServer.removeServer(self.name)
            log.info("removed the socket an earlier Gemma Desk left behind (%s)", self.name)
            if not self._server.listen(self.name):
                reason = self._server.errorString()
                log.warning("cannot listen on %s (%s): later launches open windows of their own", self.name, reason)
                return False
        log.info("listening for later launches on %s", self.name)
        return True

    def close(self) -> None:
        self._server.close()

    def _on_server_newConnection(self) -> None:
        while (socket := self._server.nextPendingConnection()) is not None:
            if len(self._connections) >= MAX_CONNECTIONS:
                log.warning("refused a connection: %d are open already", MAX_CONNECTIONS)
                socket.abort()
                socket.deleteLater()
                continue
            connection = _Connection(socket, self)
            connection.received.connect(self.filesReceived)
            connection.finished.connect(self._connections.discard)
            self._connections.add(connection)


class _Connection(QObject):
    """One connected launch: read its message, check it, answer, hang up. It lives until both the check is done
    and the socket is closed (a launch that gave up waiting still has its message checked, and refused)."""

    # Signals
    received = Signal(list)
    finished = Signal(object)

    def __init__(self, socket: QLocalSocket, parent: QObject) -> None:
        super().__init__(parent)
        self._socket = socket
        socket.setParent(self)
        socket.setReadBufferSize(_HEADER.size + MAX_MESSAGE_BYTES)
        self._reader = FrameReader()
        self._answered = False
        self._checking = False
        self._closed = False
        self._finished = False
        self._idle = QTimer(self, singleShot=True, interval=int(IDLE_TIMEOUT_S * 1000))
        self._idle.timeout.connect(self._on_idle_timeout)
        self._idle.start()
        socket.readyRead.connect(self._on_socket_readyRead)
        socket.disconnected.connect(self._close)
        if socket.bytesAvailable():
            QTimer.singleShot(0, self, self._on_socket_readyRead)

    def _on_socket_readyRead(self) -> None:
        data = bytes(self._socket.readAll().data())
        if self._answered or self._closed:
            return
        try:
            message = self._reader.feed(data)
            if message is None:
                return
            request = request_of(message)
        except ProtocolError as exc:
            self._refuse(str(exc))
            return
        self._answered = self._checking = True
        self._idle.stop()
        run_in_background(
            lambda: usable(request.files),
            lambda result: self._on_checked(request, result),
            self._on_check_failed,
        )

    def _on_checked(self, request: Request, result: tuple[list[Path], list[str]]) -> None:
        self._checking = False
        if time.monotonic() > request.until:
            late = time.monotonic() - request.until
            log.warning("a later launch stopped waiting %.1f s ago and opened its own window; not attaching here", late)
            self._answer({"ok": False, "error": "too late: the launch stopped waiting"})
        else:
            accepted, refused = result
            for reason in refused:
                log.warning("a later launch sent a path that is not used: %s", reason)
            self._answer({"ok": True, "accepted": len(accepted)})
            if accepted or not refused:
                self.received.emit(accepted)
        self._finish_if_done()

    def _on_check_failed(self, error: BaseException) -> None:
        self._checking = False
        self._refuse(f"checking the paths failed: {error}")
        self._finish_if_done()

    def _refuse(self, reason: str) -> None:
        log.warning("refused a message on the instance socket: %s", reason)
        self._answered = True
        self._answer({"ok": False, "error": reason})

    def _answer(self, message: dict[str, object]) -> None:
        if not self._closed:
            self._socket.write(encode(message))
            self._socket.disconnectFromServer()  # after the answer is written

    def _on_idle_timeout(self) -> None:
        log.warning("closed a connection on the instance socket that sent no whole message in %.0f s", IDLE_TIMEOUT_S)
        self._socket.abort()
        self._close()

    def _close(self) -> None:
        self._closed = True
        self._idle.stop()
        self._finish_if_done()

    def _finish_if_done(self) -> None:
        if self._closed and not self._checking and not self._finished:
            self._finished = True
            self.finished.emit(self)
            self.deleteLater()
