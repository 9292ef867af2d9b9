"""The preview's network: Chromium switches that leave Qt WebEngine no way out but through our gate.

The request interceptor (``sandbox.RequestGuard``) sees page requests, but Chromium also opens
connections it never shows an interceptor: ``<link rel=preconnect>`` (a DNS query and a TCP connection,
scripts on or off) and WebRTC (STUN over UDP, TURN over TCP, mDNS announcements on the LAN). These
switches close those paths, each measured against real listeners by ``tests/ui/test_preview_network.py``:

* ``--proxy-server=socks5://127.0.0.1:PORT`` with ``--proxy-bypass-list=<-loopback>``: every connection
  Chromium makes, preconnects and 127.0.0.1 included, goes to the ``NetworkGate`` below. A SOCKS5 proxy
  resolves names itself, so Chromium sends no DNS query for them either.
* ``--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1``: Chromium resolves no name at all (the
  gate's address is the only exception). This stops what does not go through the proxy, such as the
  lookup of a TURN server's name.
* ``--force-webrtc-ip-handling-policy=disable_non_proxied_udp``: WebRTC sends no UDP (STUN, UDP TURN,
  mDNS) and its TCP goes through the proxy. Chromium's plain ``--webrtc-ip-handling-policy`` does
  nothing in Qt WebEngine; the page attribute ``WebRTCPublicInterfacesOnly`` still sends STUN.

The gate refuses every connection except to a host and port that a preview's guard let a request go to
(remote images, fonts and styles, after the user agreed). So with the network off nothing leaves, and
with it on only what the guard allowed does.

Chromium reads its switches once, when Qt WebEngine starts (the first profile), from the environment
variable ``QTWEBENGINE_CHROMIUM_FLAGS``; they hold for the whole process. The preview is the app's only
WebEngine user, so ``sandbox.sandbox_profile`` calls ``harden_webengine`` before it makes a profile.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import os
import selectors
import socket
import struct
import threading
from collections import deque

log = logging.getLogger(__name__)

FLAGS_ENV = "QTWEBENGINE_CHROMIUM_FLAGS"
#: Switches of the user's own that would undo ours: Chromium prefers these to --proxy-server.
_WEAKENING = frozenset({"--no-proxy-server", "--proxy-auto-detect", "--proxy-pac-url"})
_HANDSHAKE_TIMEOUT_S = 10.0
_CONNECT_TIMEOUT_S = 15.0
_CHUNK = 64 * 1024

# SOCKS5 (RFC 1928) replies
_OK, _NOT_ALLOWED, _HOST_UNREACHABLE, _REFUSED, _NOT_SUPPORTED, _ADDRESS_NOT_SUPPORTED = 0, 2, 4, 5, 7, 8


def chromium_switches(gate_port: int) -> list[str]:
    """The switches, each one argument as Chromium sees it."""
    return [
        f"--proxy-server=socks5://127.0.0.1:{gate_port}",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    ]


def split_flags(text: str) -> list[str]:
    """Split like Qt WebEngine splits ``QTWEBENGINE_CHROMIUM_FLAGS``: spaces separate, double quotes group."""
    args: list[str] = []
    current: list[str] = []
    quoted = started = False
    for char in text:
        if char == '"':
            quoted, started = not quoted, True
        elif char == " " and not quoted:
            if started:
                args.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if started:
        args.append("".join(current))
    return args


def merged_flags(existing: str, gate_port: int) -> str:
    """``existing`` without switches that would weaken ours, then ours (the last value of a switch wins)."""
    ours = chromium_switches(gate_port)
    dropped = _WEAKENING | {switch.split("=", 1)[0] for switch in ours}
    kept = [arg for arg in split_flags(existing) if arg.split("=", 1)[0] not in dropped]
    return " ".join(f'"{a}"' if " " in a else a for a in [*kept, *ours])


class NetworkGate:
    """A SOCKS5 endpoint on 127.0.0.1 for Chromium: it refuses every connection but those permitted.

    It runs on its own threads; ``permit``/``revoke`` are quick and safe from any thread (the guard calls
    them on the GUI thread). ``refused`` and ``passed`` hold the last 200 targets, newest last.
    """

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._permits: dict[int, set[tuple[str, int]]] = {}
        self._owners = itertools.count(1)
        self.refused: deque[str] = deque(maxlen=200)
        self.passed: deque[str] = deque(maxlen=200)
        self._closed = False
        threading.Thread(target=self._accept_loop, name="preview-gate", daemon=True).start()

    # -- what the previews say ---------------------------------------------------------------------

    def new_owner(self) -> int:
        """A key for one preview's permits (``revoke`` takes them all back)."""
        return next(self._owners)

    def permit(self, owner: int, host: str, port: int) -> None:
        with self._lock:
            self._permits.setdefault(owner, set()).add((_normal_host(host), port))

    def revoke(self, owner: int) -> None:
        with self._lock:
            self._permits.pop(owner, None)

    def is_permitted(self, host: str, port: int) -> bool:
        key = (_normal_host(host), port)
        with self._lock:
            return any(key in permits for permits in self._permits.values())

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    # -- the gate's own threads -------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="preview-gate-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(_HANDSHAKE_TIMEOUT_S)
                target = _read_request(conn)
                if isinstance(target, int):
                    _reply(conn, target)
                    return
                host, port = target
                if not self.is_permitted(host, port):
                    self.refused.append(f"{host}:{port}")
                    _reply(conn, _NOT_ALLOWED)
                    return
                try:
                    upstream = socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S)
                except OSError as exc:
                    log.info("preview gate: %s:%s unreachable (%s)", host, port, exc)
                    _reply(conn, _REFUSED if isinstance(exc, ConnectionRefusedError) else _HOST_UNREACHABLE)
                    return
                self.passed.append(f"{host}:{port}")
                with upstream:
                    _reply(conn, _OK)
                    _relay(conn, upstream)
            except (OSError, ValueError) as exc:
                log.debug("preview gate: connection dropped (%s)", exc)


def _normal_host(host: str) -> str:
    host = host.strip("[]").lower().rstrip(".")
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    return host


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ValueError("closed during the SOCKS handshake")
        data += chunk
    return data


def _read_request(conn: socket.socket) -> tuple[str, int] | int:
    """The SOCKS5 greeting and CONNECT request: the target, or the error code to answer with."""
    version, count = _recv_exact(conn, 2)
    methods = _recv_exact(conn, count)
    if version != 5 or 0 not in methods:
        conn.sendall(b"\x05\xff")
        raise ValueError("not a SOCKS5 client without authentication")
    conn.sendall(b"\x05\x00")
    version, command, _reserved, kind = _recv_exact(conn, 4)
    if kind == 1:
        host = socket.inet_ntop(socket.AF_INET, _recv_exact(conn, 4))
    elif kind == 4:
        host = socket.inet_ntop(socket.AF_INET6, _recv_exact(conn, 16))
    elif kind == 3:
        host = _recv_exact(conn, _recv_exact(conn, 1)[0]).decode("ascii", "replace")
    else:
        return _ADDRESS_NOT_SUPPORTED
    (port,) = struct.unpack(">H", _recv_exact(conn, 2))
    if version != 5 or command != 1:  # CONNECT only: no BIND, no UDP ASSOCIATE
        return _NOT_SUPPORTED
    return host, port


def _reply(conn: socket.socket, code: int) -> None:
    with contextlib.suppress(OSError):
        conn.sendall(bytes([5, code, 0, 1, 0, 0, 0, 0, 0, 0]))


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    a.settimeout(None)
    b.settimeout(None)
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while True:
            for key, _ in selector.select():
                data = key.fileobj.recv(_CHUNK)  # type: ignore[union-attr]
                if not data:
                    return
                key.data.sendall(data)


_gate: NetworkGate | None = None
_gate_lock = threading.Lock()


def harden_webengine() -> NetworkGate:
    """Start the gate (once per process) and put the switches into the environment Chromium reads.

    Call before Qt WebEngine starts, i.e. before the first ``QWebEngineProfile``; later calls only
    return the gate.
    """
    global _gate
    with _gate_lock:
        if _gate is None:
            _gate = NetworkGate()
            os.environ[FLAGS_ENV] = merged_flags(os.environ.get(FLAGS_ENV, ""), _gate.port)
            log.info("preview network: Chromium goes through the gate on 127.0.0.1:%s", _gate.port)
        return _gate
