"""Renders hostile pages in the real preview and records every DNS query, TCP connection and UDP packet.

Run by ``test_preview_network.py`` as its own process (Chromium's switches hold for a whole process):

    unshare --mount python -m tests.ui.net_probe RESULT.json [--unhardened] [--wait SECONDS]

In a private mount namespace (root) it points ``/etc/resolv.conf`` at a DNS stub on 127.53.x.y:53 that
records each query and answers 127.0.0.1, so a name the page uses becomes a query here and then a
connection to the listeners. Without the namespace the DNS part is not observed (``dns_observed`` false).
Listeners: TCP and UDP on 127.0.0.1, and mDNS (224.0.0.251:5353; only WebRTC's own names are counted).
``--unhardened`` runs the same pages without the preview's Chromium switches and with WebRTC on every
interface (the preview as it was): the control that shows the listeners see the leaks this guards against.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESOLVER = f"127.53.{random.randint(1, 254)}.{random.randint(1, 254)}"  # one per run: runs may overlap
NAME = "leak-probe.example"  # every host name on the pages ends in this; the stub answers them with 127.0.0.1
_UUID_LABEL = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def add(self, kind: str, what: str) -> None:
        with self._lock:
            self.events.append((kind, what))

    def take(self) -> list[tuple[str, str]]:
        with self._lock:
            events, self.events = self.events, []
        return events


def _daemon(target: Callable[..., None], *args: object) -> None:
    threading.Thread(target=target, args=args, daemon=True).start()


def _dns_reply(query: bytes, rec: Recorder) -> bytes:
    labels, offset = [], 12
    while offset < len(query) and query[offset]:
        size = query[offset]
        labels.append(query[offset + 1 : offset + 1 + size].decode("ascii", "replace"))
        offset += 1 + size
    offset += 1
    qtype = struct.unpack(">H", query[offset : offset + 2])[0] if offset + 2 <= len(query) else 0
    rec.add("dns", f"{'.'.join(labels)} type {qtype}")
    is_a = qtype == 1
    header = query[:2] + b"\x81\x80" + query[4:6] + struct.pack(">HHH", int(is_a), 0, 0)
    answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04" + socket.inet_aton("127.0.0.1") if is_a else b""
    return header + query[12 : offset + 4] + answer


def _serve_dns_udp(sock: socket.socket, rec: Recorder) -> None:
    while True:
        query, peer = sock.recvfrom(4096)
        with contextlib.suppress(Exception):
            sock.sendto(_dns_reply(query, rec), peer)


def _serve_dns_tcp(sock: socket.socket, rec: Recorder) -> None:
    while True:
        conn, _ = sock.accept()
        with conn, contextlib.suppress(Exception):
            conn.settimeout(2)
            (size,) = struct.unpack(">H", conn.recv(2))
            reply = _dns_reply(conn.recv(size), rec)
            conn.sendall(struct.pack(">H", len(reply)) + reply)


def _count_tcp(sock: socket.socket, rec: Recorder) -> None:
    while True:
        conn, peer = sock.accept()
        with conn:
            conn.settimeout(0.3)
            try:
                first = conn.recv(16)
            except OSError:
                first = b""
            rec.add("tcp", f"from port {peer[1]}, first bytes {first.hex()}")


def _count_udp(sock: socket.socket, rec: Recorder, kind: str) -> None:
    while True:
        data, peer = sock.recvfrom(65536)
        if kind == "mdns" and not _UUID_LABEL.search(data):
            continue  # another program's mDNS, not a WebRTC host-candidate name
        rec.add(kind, f"{len(data)} bytes from {peer[0]}:{peer[1]}, starting {data[:8].hex()}")


def _private_resolver() -> bool:
    """Point this process's resolver at the stub: True if done. Only in a mount namespace of its own
    (``unshare --mount`` runs us in one; the bind mounts then never touch the machine's files)."""
    try:
        private = os.readlink("/proc/self/ns/mnt") != os.readlink(f"/proc/{os.getppid()}/ns/mnt")
    except OSError:
        private = False
    if not private:
        return False
    folder = Path(tempfile.mkdtemp(prefix="net-probe-"))
    (folder / "resolv.conf").write_text(f"nameserver {RESOLVER}\noptions timeout:1 attempts:1\n")
    (folder / "nsswitch.conf").write_text("hosts: files dns\n")
    for name in ("resolv.conf", "nsswitch.conf"):
        done = subprocess.run(["mount", "--bind", str(folder / name), f"/etc/{name}"], capture_output=True)
        if done.returncode != 0:
            return False
    return True


def start_listeners(rec: Recorder, dns: bool) -> dict[str, Any]:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(128)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    _daemon(_count_tcp, tcp, rec)
    _daemon(_count_udp, udp, rec, "udp")
    facts: dict[str, Any] = {"tcp_port": tcp.getsockname()[1], "udp_port": udp.getsockname()[1]}
    try:
        mdns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mdns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        mdns.bind(("", 5353))
        group = socket.inet_aton("224.0.0.251") + socket.inet_aton("0.0.0.0")
        mdns.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, group)
        _daemon(_count_udp, mdns, rec, "mdns")
        facts["mdns_observed"] = True
    except OSError as exc:
        facts["mdns_observed"] = f"no mDNS listener: {exc}"
    facts["dns_observed"] = False
    if dns:
        try:
            dns_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            dns_udp.bind((RESOLVER, 53))
            dns_tcp = socket.socket()
            dns_tcp.bind((RESOLVER, 53))
            dns_tcp.listen(16)
        except OSError as exc:
            facts["dns_observed"] = f"no DNS stub on {RESOLVER}:53: {exc}"
        else:
            _daemon(_serve_dns_udp, dns_udp, rec)
            _daemon(_serve_dns_tcp, dns_tcp, rec)
            facts["dns_observed"] = True
    return facts


def self_check(rec: Recorder, facts: dict[str, Any]) -> None:
    """Each listener must see what it is there to see, or the probe's zeros would mean nothing."""
    if facts["dns_observed"] is True:
        socket.getaddrinfo(f"self-check.{NAME}", 80, socket.AF_INET)
    socket.create_connection(("127.0.0.1", facts["tcp_port"])).close()
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"self-check", ("127.0.0.1", facts["udp_port"]))
    time.sleep(0.4)
    kinds = [kind for kind, _ in rec.take()]
    expected = ["tcp", "udp"] + (["dns"] if facts["dns_observed"] is True else [])
    missing = [kind for kind in expected if kind not in kinds]
    if missing:
        raise SystemExit(f"net_probe: the {', '.join(missing)} listener saw nothing of its own self-check")


def hostile_page(tcp: int, udp: int) -> str:
    """Every way out we know of, towards the listeners: by address and by name, with and without scripts."""
    html: list[str] = []
    js: list[str] = ["const attempt = f => { try { f() } catch (e) {} };"]
    for n, host in enumerate(("127.0.0.1", f"{{}}.{NAME}")):

        def url(label: str, path: str = "", scheme: str = "http", host: str = host) -> str:
            return f"{scheme}://{host.format(label)}:{tcp}{path}"

        html += [
            f'<link rel="preconnect" href="{url("preconnect")}">',
            f'<link rel="preconnect" href="{url("preconnect-tls", scheme="https")}">',
            f'<link rel="dns-prefetch" href="{url("dns-prefetch")}">',
            f'<link rel="prefetch" href="{url("prefetch", "/prefetch")}">',
            f'<link rel="preload" as="style" href="{url("preload", "/p.css")}">',
            f'<link rel="preload" as="font" crossorigin href="{url("preload-font", "/f.woff2")}">',
            f'<link rel="modulepreload" href="{url("modulepreload", "/m.js")}">',
            f'<link rel="prerender" href="{url("prerender", "/")}">',
            f'<link rel="stylesheet" href="{url("css", "/s.css")}">',
            f'<link rel="icon" href="{url("icon", "/favicon.ico")}">',
            f'<link rel="manifest" href="{url("manifest", "/m.json")}">',
            f"<style>@import url({url('import', '/i.css')});",
            f"@font-face {{ font-family: f{n}; src: url({url('font', '/f.woff')}) }}",
            f".b{n} {{ font-family: f{n}; background: url({url('bg', '/bg.png')});",
            f"  cursor: url({url('cursor', '/c.cur')}), auto }}</style>",
            f'<p class="b{n}">text</p><img src="{url("img", "/i.png")}">',
            f'<img srcset="{url("srcset", "/s.png")} 2x">',
            f'<svg width="4" height="4"><image href="{url("svgimage", "/s.png")}"/></svg>',
            f'<iframe src="{url("iframe", "/f")}"></iframe>',
            f"<iframe srcdoc=\"<link rel=preconnect href='{url('srcdoc')}'>",
            f"<img src='{url('srcdoc-img', '/i.png')}'>\"></iframe>",
            f'<video src="{url("video", "/v.mp4")}" autoplay></video>',
            f'<audio src="{url("audio", "/a.mp3")}" autoplay></audio>',
            f'<object data="{url("object", "/o")}"></object><embed src="{url("embed", "/e")}">',
            f'<a href="{url("anchor", "/")}" ping="{url("ping", "/ping")}" id="a{n}">link</a>',
            f'<form id="form{n}" action="{url("form", "/f")}" method="post"><input name="a" value="b"></form>',
            f'<script src="{url("script", "/s.js")}"></script>',
            '<script type="speculationrules">',
            f'{{"prefetch": [{{"source": "list", "urls": ["{url("speculation", "/s")}"]}}]}}</script>',
        ]
        target = url("js")
        js += [
            f"attempt(() => fetch('{target}/fetch', {{mode: 'no-cors', keepalive: true}}).catch(() => 0));",
            f"attempt(() => {{ const x = new XMLHttpRequest(); x.open('GET', '{target}/xhr'); x.send(); }});",
            f"attempt(() => new WebSocket('{target.replace('http:', 'ws:')}/ws'));",
            f"attempt(() => new EventSource('{target}/events'));",
            f"attempt(() => navigator.sendBeacon('{target}/beacon', 'x'));",
            "attempt(() => { const l = document.createElement('link'); l.rel = 'preconnect';"
            f" l.href = '{url('js-preconnect')}'; document.head.append(l); }});",
            f"attempt(() => {{ new Image().src = '{target}/new-image.png'; }});",
            f"setTimeout(() => attempt(() => document.getElementById('a{n}').click()), 300);",
        ]
    stun_by_name, turn_by_name = f"stun.{NAME}:{udp}", f"turn.{NAME}:{tcp}"
    js += [
        f"attempt(() => new WebTransport('https://127.0.0.1:{udp}/wt').ready.catch(() => 0));",
        "attempt(() => {",
        "  const pc = new RTCPeerConnection({iceServers: [",
        f"    {{urls: ['stun:127.0.0.1:{udp}', 'stun:{stun_by_name}']}},",
        f"    {{urls: ['turn:127.0.0.1:{tcp}?transport=tcp', 'turn:{turn_by_name}?transport=tcp',",
        f"            'turn:127.0.0.1:{udp}?transport=udp'], username: 'user', credential: 'secret'}}]}});",
        "  pc.createDataChannel('leak');",
        "  pc.createOffer().then(offer => pc.setLocalDescription(offer)).catch(() => 0);",
        "  window.keep = pc;",
        "});",
        "setTimeout(() => attempt(() => document.getElementById('form0').submit()), 600);",
    ]
    refresh = f'<meta http-equiv="refresh" content="1;url=http://refresh.{NAME}:{tcp}/">'
    body = "\n".join(html)
    script = "\n".join(js)
    return f"<!DOCTYPE html><html><head>{refresh}</head><body>\n{body}\n<script>\n{script}\n</script></body></html>"


def run_pages(rec: Recorder, facts: dict[str, Any], wait_s: float, hardened: bool) -> dict[str, Any]:
    from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
    from PySide6.QtWebEngineCore import QWebEngineSettings
    from PySide6.QtWidgets import QApplication

    import app.ui.preview.sandbox as sandbox
    from app.ui.preview.sandbox_network import NetworkGate

    if not hardened:  # the control: a gate nobody is sent to, and Chromium as it comes
        sandbox.harden_webengine = NetworkGate
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    qapp = QApplication(sys.argv[:1])
    from app.ui.preview.pane import PreviewPane

    def wait(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    pane = PreviewPane()
    if not hardened:  # ... with WebRTC on every interface, as before the hardening
        pane.page.settings().setAttribute(QWebEngineSettings.WebAttribute.WebRTCPublicInterfacesOnly, False)
    pane.resize(900, 600)
    pane.show()
    page = hostile_page(facts["tcp_port"], facts["udp_port"])
    phases: dict[str, Any] = {}
    for scripts in (False, True):
        pane.scripts.setChecked(scripts)
        wait(0.5)
        rec.take()
        pane.show_html(page)
        wait(wait_s)
        events = rec.take()
        phases["scripts on" if scripts else "scripts off"] = {
            kind: [what for k, what in events if k == kind] for kind in ("dns", "tcp", "udp", "mdns")
        }
    gate = getattr(sandbox, "harden_webengine", None)  # (absent before the hardening)
    facts["gate_refused"] = len(gate().refused) if gate else 0
    facts["guard_blocked"] = len(pane.page.guard.blocked)
    facts["phases"] = phases
    pane.close()
    pane.deleteLater()
    wait(0.3)
    del qapp
    return facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("result", type=Path)
    parser.add_argument("--unhardened", action="store_true")
    parser.add_argument("--wait", type=float, default=3.0)
    args = parser.parse_args(argv)
    rec = Recorder()
    facts = start_listeners(rec, dns=_private_resolver())
    self_check(rec, facts)
    result = run_pages(rec, facts, args.wait, hardened=not args.unhardened)
    args.result.write_text(json.dumps(result, indent=1))
    sys.stdout.flush()
    os._exit(0)  # skip Chromium's slow teardown: the result is written


if __name__ == "__main__":
    raise SystemExit(main())
