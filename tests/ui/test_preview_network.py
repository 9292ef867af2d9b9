"""The preview makes no DNS query, TCP connection, UDP packet or WebRTC traffic with the network off.

The hostile pages (``net_probe.hostile_page``: preconnect, dns-prefetch, prefetch, preload, images,
styles, fonts, frames, forms, meta refresh, fetch, XHR, WebSocket, EventSource, sendBeacon, WebRTC with
STUN and TURN servers…) render in the real preview in a process of their own, scripts off and then on,
against real listeners on 127.0.0.1 and a DNS stub the process's resolver points at. The same pages in the
preview as it was before (no Chromium switches, WebRTC on every interface) are the control: there the
listeners must see the leaks.

The gate itself (``app.ui.preview.sandbox_network``) is tested here too, with plain sockets.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.ui.preview.sandbox_network import NetworkGate, chromium_switches, merged_flags, split_flags
from tests.conftest import REPO

WAIT_S = 3.0  # per page: WebRTC gathers and preconnects within about a second


def _run_probe(tmp_path: Path, *extra: str) -> dict[str, Any]:
    result = tmp_path / "result.json"
    command = [sys.executable, "-m", "tests.ui.net_probe", str(result), "--wait", str(WAIT_S), *extra]
    unshare = shutil.which("unshare")
    if unshare and hasattr(os, "geteuid") and os.geteuid() == 0:
        probe = subprocess.run([unshare, "--mount", "true"], capture_output=True)
        if probe.returncode == 0:
            command = [unshare, "--mount", *command]
    env = dict(os.environ)
    env.pop("QTWEBENGINE_CHROMIUM_FLAGS", None)  # the probe's WebEngine starts from scratch
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0 and result.exists(), done.stdout[-2000:] + done.stderr[-4000:]
    facts: dict[str, Any] = json.loads(result.read_text())
    return facts


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run_probe(tmp_path_factory.mktemp("net-probe"))


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run_probe(tmp_path_factory.mktemp("net-probe-control"), "--unhardened")


@pytest.mark.gui
@pytest.mark.parametrize("phase", ["scripts off", "scripts on"])
def test_the_preview_opens_no_connection_and_sends_no_packet(hardened: dict[str, Any], phase: str) -> None:
    seen = hardened["phases"][phase]
    assert seen["tcp"] == [], f"TCP connections to 127.0.0.1 with {phase}"
    assert seen["udp"] == [], f"UDP packets (STUN, TURN, QUIC) to 127.0.0.1 with {phase}"
    assert seen["mdns"] == [], f"WebRTC mDNS announcements with {phase}"
    assert hardened["guard_blocked"] > 20 and hardened["gate_refused"] > 0  # the pages did try


@pytest.mark.gui
@pytest.mark.parametrize("phase", ["scripts off", "scripts on"])
def test_the_preview_sends_no_dns_query(hardened: dict[str, Any], phase: str) -> None:
    if hardened["dns_observed"] is not True:
        pytest.skip(f"DNS not observed (no private mount namespace for a resolver stub: run as root): "
                    f"{hardened['dns_observed']}")  # fmt: skip
    assert hardened["phases"][phase]["dns"] == [], f"DNS queries with {phase}"


@pytest.mark.gui
def test_unhardened_the_listeners_see_the_leaks(control: dict[str, Any]) -> None:
    """The control: the same pages in the preview as it was. Proves the zeros above can fail."""
    off, on = control["phases"]["scripts off"], control["phases"]["scripts on"]
    assert off["tcp"], "a preconnect with scripts off should have connected"
    assert on["udp"], "WebRTC should have sent STUN to the UDP listener"
    if control["dns_observed"] is True:
        assert any("preconnect" in query for query in off["dns"]), off["dns"]


# -- the gate ----------------------------------------------------------------------------------------------


@pytest.fixture
def gate() -> Iterator[NetworkGate]:
    gate = NetworkGate()
    yield gate
    gate.close()


@pytest.fixture
def upstream() -> Iterator[tuple[int, list[bytes]]]:
    """An echo server on 127.0.0.1 that records what reached it."""
    server = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(1024)
                seen.append(data)
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], seen
    server.close()


def _socks_connect(gate: NetworkGate, host: str, port: int) -> tuple[socket.socket, int]:
    client = socket.create_connection(("127.0.0.1", gate.port), timeout=5)
    client.sendall(b"\x05\x01\x00")
    assert client.recv(2) == b"\x05\x00"
    name = host.encode()
    client.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
    reply = client.recv(10)
    return client, reply[1]


def test_the_gate_refuses_what_no_preview_allowed(gate: NetworkGate, upstream: tuple[int, list[bytes]]) -> None:
    port, seen = upstream
    client, code = _socks_connect(gate, "127.0.0.1", port)
    client.close()
    assert code == 2 and gate.refused[-1] == f"127.0.0.1:{port}"  # "connection not allowed by ruleset"
    assert seen == []


def test_the_gate_relays_to_an_allowed_host_until_revoked(gate: NetworkGate, upstream: tuple[int, list[bytes]]) -> None:
    port, seen = upstream
    owner = gate.new_owner()
    gate.permit(owner, "127.0.0.1", port)
    client, code = _socks_connect(gate, "127.0.0.1", port)
    with client:
        assert code == 0
        client.sendall(b"hello")
        assert client.recv(16) == b"HELLO"
    assert seen == [b"hello"] and gate.passed[-1] == f"127.0.0.1:{port}"
    assert not gate.is_permitted("127.0.0.1", port + 1)  # the port counts
    gate.revoke(owner)
    client, code = _socks_connect(gate, "127.0.0.1", port)
    client.close()
    assert code == 2 and seen == [b"hello"]


def test_the_switches_win_over_the_users_own() -> None:
    flags = merged_flags('--no-proxy-server --enable-logging "--js-flags=--foo bar" --proxy-server=direct://', 4321)
    args = split_flags(flags)
    assert args == ["--enable-logging", "--js-flags=--foo bar", *chromium_switches(4321)]
    assert "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" in args
