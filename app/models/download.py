"""Download model files over HTTP(S): resumable, verified, cancellable, and safe to run twice.

``download(spec)`` writes ``<dest>.part``, resumes it with ``Range`` (also
after the app was killed), retries dropped connections, checks the size and
SHA-256, then renames it to ``dest`` in one step. No Qt: the UI wraps it in a
task and turns the ``Progress`` callback into signals.

Decisions a caller should know:

* **Pause keeps, Cancel deletes.** ``Control.pause()`` stops within one chunk,
  keeps the ``.part`` and raises ``DownloadPaused``; ``resume()`` then a new
  ``download()`` call continues from it. ``Control.cancel()`` stops, deletes
  the ``.part`` and raises ``DownloadCancelled``. A paused download is
  discarded with ``discard_partial(spec)``. Both interrupt a stalled read at
  once (the socket is shut down), not after ``timeout_s``.
* **A second download of the same file fails at once** with "already being
  downloaded" (threads or processes alike; see ``app.models.disk.PartLock``).
* **The token is only the ``token`` argument** (the app passes its setting);
  ``HF_TOKEN`` from the environment is not read, so a token is never sent to a
  mirror the user did not give it to. It goes only to the URL's own origin,
  never along a redirect to another host (Hugging Face redirects to a CDN),
  and is never logged.
* **Unverifiable files:** without a catalog SHA-256 only the size is checked;
  the final ``Progress`` (state ``"done"``) says which with ``verified``.
* **``download_many``** checks free space for all files together first, then
  downloads them in turn with one aggregated progress: ``done``/``total``
  count all files, ``label`` names the current one.
* **An existing ``dest``** of the expected size (or of any size when none is
  known) is taken as already downloaded and returned without re-hashing it;
  ``verify_file`` is the deliberate check.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import functools
import hashlib
import http.client
import logging
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, NoReturn

from app import __version__
from app.models.disk import (
    SPACE_MARGIN,
    DownloadError,
    PartLock,
    check_free_space,
    device_of,
    format_duration,
    format_size,
    hash_file,
    part_path,
    write_error,
)

__all__ = [
    "Control",
    "DownloadCancelled",
    "DownloadError",
    "DownloadPaused",
    "DownloadSpec",
    "Progress",
    "check_free_space",
    "discard_partial",
    "download",
    "download_many",
    "free_space_needed",
    "hf_url",
    "part_path",
    "verify_file",
]

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
#: The first retry waits this long, doubling up to RETRY_MAX_S; a retry that made progress starts over.
RETRY_BASE_S = 0.2
RETRY_MAX_S = 10.0
PROGRESS_INTERVAL_S = 0.1
SPEED_WINDOW_S = 5.0
MAX_REDIRECTS = 10
GGUF_MAGIC = b"GGUF"
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: what can go in a header


class DownloadCancelled(DownloadError):
    """The user cancelled; the partial file was deleted."""


class DownloadPaused(DownloadError):
    """The user paused; the partial file was kept and the next ``download()`` resumes it."""


@dataclass(frozen=True)
class DownloadSpec:
    url: str
    dest: Path
    size: int | None = None  # bytes, from the catalog
    sha256: str | None = None  # hex, from the catalog
    label: str = ""  # shown in progress; the file name when empty

    @property
    def name(self) -> str:
        return self.label or self.dest.name


@dataclass(frozen=True)
class Progress:
    label: str
    done: int
    total: int | None
    speed_bps: float  # bytes per second over the last few seconds
    eta_s: float | None
    state: str  # "connecting" | "downloading" | "verifying" | "paused" | "done" | "failed" | "cancelled"
    verified: bool | None = None  # on "done": True when the SHA-256 was checked, False when only the size


ProgressCallback = Callable[[Progress], None]


def describe_progress(p: Progress) -> str:
    """ "1.2 GB of 5.5 GB (22 %), 31.0 MB/s, 2 min 18 s left", or what the download is doing instead."""
    if p.state == "connecting":
        return "Connecting…"
    if p.state == "verifying":
        return f"Checking {p.label}…"
    if p.state in ("failed", "cancelled", "done"):
        return {"failed": "Failed", "cancelled": "Cancelled", "done": "Done"}[p.state]
    text = format_size(p.done)
    if p.total:
        text += f" of {format_size(p.total)}" + ("" if p.state == "paused" else f" ({100 * p.done / p.total:.0f} %)")
    if p.state == "paused":
        return f"Paused at {text}"
    if p.speed_bps > 0:
        text += f", {format_size(int(p.speed_bps))}/s"
        if p.eta_s is not None:
            text += f", {format_duration(p.eta_s)} left"
    return text


class Control:
    """Pause or cancel a running download from another thread; kept by the caller, passed to ``download()``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paused = False
        self._cancelled = False
        self._wake = threading.Event()
        self._sock: socket.socket | None = None

    def pause(self) -> None:
        with self._lock:
            self._paused = True
        self._interrupt()

    def resume(self) -> None:
        """Clear a pause, so this Control can be passed to the next ``download()`` call."""
        with self._lock:
            self._paused = False
            if not self._cancelled:
                self._wake.clear()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
        self._interrupt()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def check(self) -> None:
        """Raise DownloadCancelled or DownloadPaused when asked to stop."""
        if self._cancelled:
            raise DownloadCancelled("The download was cancelled.")
        if self._paused:
            raise DownloadPaused("The download was paused.")

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when paused or cancelled meanwhile (then raise)."""
        self._wake.wait(seconds)
        self.check()

    def _interrupt(self) -> None:
        self._wake.set()
        with self._lock:
            sock = self._sock
        if sock is not None:
            _shutdown(sock)

    def _attach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            stop = self._paused or self._cancelled
        if stop and sock is not None:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """Wake a thread blocked reading ``sock`` (the base method: an SSLSocket's own one drops its state)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


# ---------------------------------------------------------------------------------------------- URLs


def hf_url(repo: str, filename: str, endpoint: str | None = None, revision: str = "main") -> str:
    """The download address of ``filename`` in a Hugging Face repository (or a mirror of it).

    The endpoint is ``endpoint`` when given (the app's setting), else ``$HF_ENDPOINT``, else huggingface.co.
    """
    base = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    quote = urllib.parse.quote
    return f"{base}/{quote(repo, safe='/')}/resolve/{quote(revision, safe='')}/{quote(filename, safe='/')}"


def _display_url(url: str) -> str:
    """``url`` without credentials or query (signed CDN addresses carry secrets there)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _origin(url: str) -> tuple[str, str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _proxy_for(scheme: str, host: str) -> urllib.parse.SplitResult | None:
    """The HTTP proxy the system asks us to use for ``host`` (environment, or macOS/Windows settings)."""
    if _is_loopback(host):
        return None
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts if parts.scheme in ("http", "https") and parts.hostname else None


# ---------------------------------------------------------------------------------------------- progress


class _Reporter:
    """Turns byte counts into ``Progress`` at most every PROGRESS_INTERVAL_S, with a moving-average speed."""

    def __init__(self, label: str, callback: ProgressCallback | None) -> None:
        self.label = label
        self._callback = callback
        self._last = -1.0
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self.total: int | None = None

    def restart(self) -> None:
        self._samples.clear()

    def speed(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def received(self, done: int) -> None:
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()
        self.emit("downloading", done)

    def emit(self, state: str, done: int, *, verified: bool | None = None) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if state in ("downloading", "verifying"):
            if now - self._last < PROGRESS_INTERVAL_S:
                return
            self._last = now
        speed = self.speed() if state in ("downloading", "done") else 0.0
        eta: float | None = None
        if state == "done":
            eta = 0.0
        elif state == "downloading" and self.total is not None and speed > 0:
            eta = max(0, self.total - done) / speed
        self._callback(Progress(self.label, done, self.total, speed, eta, state, verified))


# ---------------------------------------------------------------------------------------------- one download


class _Transient(Exception):
    """Worth retrying: a dropped connection, a timeout, a 5xx; ``delay`` overrides the backoff."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class _Again(Exception):
    """Start the request over at once (the .part was reset); not a failure."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _Transient):
        return str(exc)
    if isinstance(exc, socket.gaierror):
        return "the server's name could not be found"
    if isinstance(exc, ConnectionRefusedError):
        return "the server refused the connection"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "the server stopped answering"
    if isinstance(exc, http.client.IncompleteRead | http.client.RemoteDisconnected | ConnectionError):
        return "the connection dropped"
    if isinstance(exc, ssl.SSLError):
        return f"a secure connection could not be made ({exc.reason or exc})"
    return str(exc) or type(exc).__name__


class _Job:
    def __init__(
        self, spec: DownloadSpec, control: Control, reporter: _Reporter, token: str | None, timeout_s: float, chunk: int
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.part = part_path(spec.dest)
        self.control = control
        self.report = reporter
        self.token = (token or "").strip() or None
        self.timeout_s = timeout_s
        self.chunk = max(4096, chunk)
        self.file: BinaryIO | None = None
        self.digest = _new_digest()
        self.offset = 0  # bytes in the .part, all of them hashed
        self.total: int | None = spec.size
        self.want_gguf = spec.dest.name.lower().endswith(".gguf")

    # -- the .part --------------------------------------------------------------------------------

    def open_part(self) -> None:
        existing = self.part.stat().st_size if self.part.exists() else 0
        try:
            self.file = open(self.part, "r+b" if self.part.exists() else "w+b", buffering=0)  # noqa: SIM115
        except OSError as exc:
            raise write_error(exc, self.part, self.name) from exc
        if existing and self.spec.size is not None and existing > self.spec.size:
            existing = 0  # longer than the file: not ours
        if existing:
            self.report.emit("verifying", 0)
            digest, hashed = hash_file(
                self.part,
                limit=existing,
                chunk=self.chunk,
                on_progress=lambda n: self.report.emit("verifying", n),
                should_stop=self.control.check,
            )
            head = self.file.read(len(GGUF_MAGIC))
            if hashed == existing and (not self.want_gguf or head == GGUF_MAGIC[: len(head)]):
                self.digest, self.offset = digest, existing
                log.info("resuming %s from %d bytes", self.name, existing)
        self.reset(self.offset)

    def reset(self, offset: int = 0) -> None:
        """Truncate the .part to ``offset`` (0: start over)."""
        assert self.file is not None
        if offset == 0:
            self.digest = _new_digest()
            self.report.restart()
        self.offset = offset
        try:
            self.file.seek(offset)
            if os.fstat(self.file.fileno()).st_size > offset:
                self.file.truncate()
        except OSError as exc:
            raise write_error(exc, self.part, self.name) from exc

    def write(self, data: bytes) -> None:
        assert self.file is not None
        view = memoryview(data)
        try:
            while view:
                n = self.file.write(view)
                if not n:
                    raise OSError(0, "the file accepted no data")
                view = view[n:]
        except OSError as exc:
            raise write_error(exc, self.part, self.name) from exc
        self.digest.update(data)
        self.offset += len(data)

    def close(self, *, sync: bool) -> None:
        file, self.file = self.file, None
        if file is None:
            return
        try:
            if sync:
                os.fsync(file.fileno())
        except OSError as exc:
            raise write_error(exc, self.part, self.name) from exc
        finally:
            file.close()

    def delete_part(self) -> None:
        self.close(sync=False)
        with contextlib.suppress(FileNotFoundError):
            self.part.unlink()

    def fail_and_delete(self, message: str) -> DownloadError:
        self.delete_part()
        return DownloadError(message)

    # -- HTTP -------------------------------------------------------------------------------------

    def connect(self, url: str) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
        """A connection for ``url``, the request target, and the proxy's headers."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DownloadError(f"Cannot download {self.name}: {_display_url(url)} is not an http(s) address.")
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        extra: dict[str, str] = {}
        proxy = _proxy_for(parts.scheme, host)
        if proxy is not None and proxy.hostname:
            if proxy.username:
                cred = f"{urllib.parse.unquote(proxy.username)}:{urllib.parse.unquote(proxy.password or '')}"
                extra["Proxy-Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode("ascii")
            proxy_port = proxy.port or 8080
            if parts.scheme == "http":  # ask the proxy for the absolute URL
                conn = http.client.HTTPConnection(proxy.hostname, proxy_port, timeout=self.timeout_s)
                return conn, url, extra
            tls = http.client.HTTPSConnection(proxy.hostname, proxy_port, timeout=self.timeout_s, context=_tls())
            tls.set_tunnel(host, port, headers=extra)
            return tls, target, {}
        if parts.scheme == "https":
            return (
                http.client.HTTPSConnection(host, port, timeout=self.timeout_s, context=_tls()),
                target,
                {},
            )
        return http.client.HTTPConnection(host, port, timeout=self.timeout_s), target, {}

    def request(self) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """GET the file from ``offset`` on, following redirects; the token stays with the first origin."""
        url = self.spec.url
        first = _origin(url)
        headers = {"User-Agent": f"gemma-desk/{__version__}", "Accept-Encoding": "identity"}
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
        for _ in range(MAX_REDIRECTS + 1):
            conn, target, extra = self.connect(url)
            sent = dict(headers, **extra)
            if self.token and _origin(url) == first:
                sent["Authorization"] = f"Bearer {self.token}"
            try:
                conn.request("GET", target, headers=sent)
                self.control._attach(conn.sock)
                resp = conn.getresponse()
            except BaseException:
                self.control._attach(None)
                conn.close()
                raise
            location = resp.getheader("Location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                conn.close()
                url = urllib.parse.urljoin(url, location)
                log.info("%s: redirected to %s", self.name, _display_url(url))
                continue
            return conn, resp
        raise DownloadError(
            f"Cannot download {self.name}: the server at {_display_url(self.spec.url)} redirects in a loop."
        )

    def attempt(self) -> None:
        """One request: append to the .part until the file ends. Raises _Transient, _Again or DownloadError."""
        self.report.emit("connecting", self.offset)
        conn, resp = self.request()
        try:
            self.receive(resp)
        finally:
            self.control._attach(None)
            conn.close()

    def check_status(self, resp: http.client.HTTPResponse) -> bool:
        """Act on the status; False when the .part already holds the whole file (416)."""
        status, url = resp.status, _display_url(self.spec.url)
        if status in (401, 403):
            hint = (
                "check that the token in Settings → Hugging Face token is valid and that this account accepted "
                "the model's license on Hugging Face"
                if self.token
                else "accept its license on Hugging Face and set a token in Settings → Hugging Face token"
            )
            raise DownloadError(f"The server refused {self.name} (HTTP {status}): the model may be gated; {hint}.")
        if status == 404:
            raise DownloadError(
                f"{self.name} was not found at {url} (the catalog may be out of date or the mirror lacks it)."
            )
        if status == 429 or status >= 500:
            retry_after = resp.getheader("Retry-After", "")
            delay = min(float(retry_after), 60.0) if retry_after.isdigit() else None
            raise _Transient(f"the server is busy or failing (HTTP {status} {resp.reason})", delay)
        if status == 416:
            whole = _content_range(resp.getheader("Content-Range", ""))[2]
            expected = self.spec.size if self.spec.size is not None else whole
            if self.offset and expected is not None and self.offset == expected:
                self.total = expected
                return False  # the .part is complete (a kill between the last byte and the rename)
            self._start_over("it refused the range asked for")
        if status == 200:
            if self.offset:
                log.info("%s: the server ignored the Range request; starting over", self.name)
                self.reset(0)
            length = resp.getheader("Content-Length")
            if length and length.isdigit():
                self._set_total(int(length))
        elif status == 206:
            start, _end, whole = _content_range(resp.getheader("Content-Range", ""))
            if start != self.offset:
                self._start_over(f"it resumed at byte {start} instead of {self.offset}")
            if whole is not None:
                self._set_total(whole)
        else:
            raise DownloadError(f"The server refused {self.name}: HTTP {status} {resp.reason} from {url}.")
        if "text/html" in resp.getheader("Content-Type", "").lower():
            raise self.fail_and_delete(self._web_page_message())
        return True

    def _start_over(self, why: str) -> NoReturn:
        """The server could not resume the .part: start over without Range (once; a second time is an error)."""
        if not self.offset:
            raise DownloadError(f"The server sent a broken answer for {self.name} ({why}). Try again later.")
        log.info("%s: the server could not resume (%s); starting over", self.name, why)
        self.reset(0)
        raise _Again

    def _set_total(self, total: int) -> None:
        if self.spec.size is not None and total != self.spec.size:
            raise self.fail_and_delete(
                f"The server's {self.name} is {format_size(total)} but the catalog says {format_size(self.spec.size)}: "
                "the catalog may be out of date. Nothing was kept."
            )
        if self.total is None:  # the size was not known before: check the space now
            check_free_space(self.spec.dest.parent, total - self.offset + SPACE_MARGIN)
        self.total = self.report.total = total

    def _web_page_message(self) -> str:
        return (
            f"The server sent a web page instead of the model file {self.name} (an error or login page, or a "
            "network sign-in portal); it was not kept. Check the download server in Settings and try again."
        )

    def receive(self, resp: http.client.HTTPResponse) -> None:
        if not self.check_status(resp):
            return
        head = b""
        checking = self.want_gguf and self.offset == 0
        while True:
            self.control.check()
            data = resp.read1(self.chunk)
            if not data:
                break
            if checking:  # hold the first bytes back until they show whether this is a GGUF at all
                head += data
                if len(head) < len(GGUF_MAGIC):
                    continue
                if not head.startswith(GGUF_MAGIC):
                    raise self.fail_and_delete(
                        self._web_page_message()
                        if head.lstrip()[:1] == b"<"
                        else (
                            f"The server sent something that is not a GGUF model for {self.name}; it was not kept. "
                            "The catalog or the download server may be wrong."
                        )
                    )
                data, head, checking = head, b"", False
            self.write(data)
            self.report.received(self.offset)
        self.control.check()  # an interrupted read ends like EOF: tell them apart
        if checking and head:
            raise self.fail_and_delete(self._web_page_message())
        if self.total is not None and self.offset < self.total:
            raise _Transient("the connection dropped")

    # -- the whole job ----------------------------------------------------------------------------

    def run(self, retries: int) -> bool:
        """Download and verify into the .part, then move it to ``dest``; True when the SHA-256 was checked."""
        self.open_part()
        if self.total is not None:
            check_free_space(self.spec.dest.parent, self.total - self.offset + SPACE_MARGIN)
        failures = 0
        while True:
            self.control.check()
            before = self.offset
            try:
                self.attempt()
                break
            except _Again:
                continue
            except (_Transient, OSError, http.client.HTTPException) as exc:
                self.control.check()  # the socket was shut down by pause/cancel
                if isinstance(exc, ssl.SSLCertVerificationError):
                    raise DownloadError(
                        f"Could not download {self.name}: the server's certificate is not trusted "
                        f"({exc.verify_message})."
                    ) from exc
                failures = 1 if self.offset > before else failures + 1
                reason = _reason(exc)
                if failures > retries:
                    raise DownloadError(
                        f"Could not download {self.name}: {reason}. Check the connection (or the download server "
                        "in Settings) and try again; it will resume where it stopped."
                    ) from exc
                delay = exc.delay if isinstance(exc, _Transient) and exc.delay is not None else None
                delay = delay if delay is not None else min(RETRY_BASE_S * 2 ** (failures - 1), RETRY_MAX_S)
                log.info("%s: %s at %d bytes; retry %d in %.1f s", self.name, reason, self.offset, failures, delay)
                self.control.sleep(delay)
        return self.finish()

    def finish(self) -> bool:
        self.report.total = self.total = self.total if self.total is not None else self.offset
        self.report.emit("verifying", self.offset)
        if self.spec.size is not None and self.offset != self.spec.size:
            raise self.fail_and_delete(
                f"{self.name} is damaged: it is {format_size(self.offset)} instead of "
                f"{format_size(self.spec.size)}; it was deleted. Try again."
            )
        verified = self.spec.sha256 is not None
        if self.spec.sha256 is not None and self.digest.hexdigest() != self.spec.sha256.strip().lower():
            raise self.fail_and_delete(
                f"{self.name} is damaged: its checksum does not match the catalog; it was deleted. Try again."
            )
        self.close(sync=True)
        os.replace(self.part, self.spec.dest)
        _sync_folder(self.spec.dest.parent)
        return verified


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def _new_digest() -> hashlib._Hash:
    return hashlib.sha256()


def _content_range(value: str) -> tuple[int | None, int | None, int | None]:
    """``bytes 100-199/1000`` → (100, 199, 1000); ``bytes */1000`` → (None, None, 1000); unknowns are None."""
    unit, _, rest = value.strip().partition(" ")
    if unit.lower() != "bytes":
        return None, None, None
    span, _, whole = rest.partition("/")
    start, _, end = span.partition("-")

    def num(text: str) -> int | None:
        return int(text) if text.strip().isdigit() else None

    return num(start), num(end), num(whole)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX; a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------------------------- public API


def download(
    spec: DownloadSpec,
    *,
    control: Control | None = None,
    progress: ProgressCallback | None = None,
    token: str | None = None,
    timeout_s: float = 30,
    retries: int = 5,
    chunk: int = 1 << 20,
) -> Path:
    """Download ``spec.url`` to ``spec.dest`` (resuming a ``.part`` left earlier) and return ``dest``.

    Raises DownloadPaused / DownloadCancelled when ``control`` asks, DownloadError
    for anything else a user must act on (its ``str()`` says what to do).
    ``retries`` counts consecutive failed attempts that brought no new bytes.
    """
    control = control if control is not None else Control()
    reporter = _Reporter(spec.name, progress)
    reporter.total = spec.size
    job = _Job(spec, control, reporter, token, timeout_s, chunk)
    try:
        verified = _run_locked(job, retries)
    except DownloadCancelled:
        reporter.emit("cancelled", 0)
        raise
    except DownloadPaused:
        reporter.emit("paused", job.offset)
        raise
    except DownloadError as exc:
        log.warning("download of %s failed: %s", spec.name, exc)
        reporter.emit("failed", job.offset)
        raise
    if verified is None:
        log.info("%s is already downloaded", spec.name)
        reporter.emit("done", spec.dest.stat().st_size, verified=False)
    else:
        log.info("downloaded %s (%s, %s)", spec.name, format_size(job.offset), "SHA-256" if verified else "size only")
        reporter.emit("done", job.offset, verified=verified)
    return spec.dest


def _run_locked(job: _Job, retries: int) -> bool | None:
    """Run ``job`` holding the .part's lock; None when ``dest`` was already there."""
    spec = job.spec
    if job.token is not None and not _TOKEN_CHARS.fullmatch(job.token):
        raise DownloadError("The Hugging Face token in Settings has characters a token cannot have; paste it again.")
    try:
        spec.dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"Cannot create the folder {spec.dest.parent}: {exc.strerror or exc}.") from exc
    with PartLock(job.part, spec.name):
        if _already_there(spec):  # checked under the lock: another download may just have finished it
            return None
        try:
            return job.run(retries)
        except DownloadCancelled:
            job.delete_part()
            raise
        except OSError as exc:  # trouble with a local file that no step above turned into a message
            raise DownloadError(f"Could not download {spec.name}: {exc.strerror or exc}.") from exc
        finally:
            job.close(sync=False)


def _already_there(spec: DownloadSpec) -> bool:
    """``dest`` exists with the catalog's size (any size when none is known)."""
    return spec.dest.is_file() and (spec.size is None or spec.dest.stat().st_size == spec.size)


def _remaining(spec: DownloadSpec) -> int:
    """Bytes still to download for ``spec`` (0 when its size is unknown or it is already there)."""
    if spec.size is None or _already_there(spec):
        return 0
    part = part_path(spec.dest)
    have = part.stat().st_size if part.is_file() else 0
    return max(0, spec.size - have) if have <= spec.size else spec.size


def free_space_needed(specs: Sequence[DownloadSpec]) -> int:
    """Disk space the downloads still need: the bytes left of each file of known size, plus a small margin."""
    remaining = sum(_remaining(spec) for spec in specs)
    return remaining + SPACE_MARGIN if remaining else 0


def _check_space_for(specs: Sequence[DownloadSpec]) -> None:
    """Check free space per file system, for all the files that land on it together."""
    groups: dict[int, list[DownloadSpec]] = {}
    for spec in specs:
        groups.setdefault(device_of(spec.dest.parent), []).append(spec)
    for group in groups.values():
        needed = free_space_needed(group)
        if needed:
            check_free_space(group[0].dest.parent, needed)


def download_many(
    specs: Sequence[DownloadSpec],
    *,
    control: Control | None = None,
    progress: ProgressCallback | None = None,
    token: str | None = None,
    timeout_s: float = 30,
    retries: int = 5,
    chunk: int = 1 << 20,
) -> list[Path]:
    """Download several files that belong together (a model and its projector), one after another.

    Free space is checked for all of them first. Progress is aggregated: ``done``
    and ``total`` count every file (``total`` is None unless all sizes are known),
    ``label`` names the file being fetched, and ``"done"`` comes once, after the
    last one (``verified`` only when every file's SHA-256 was checked). Files
    finished before a failure or pause are kept as they are.
    """
    _check_space_for(specs)
    sizes = [spec.size for spec in specs]
    combined = _Combined(progress, sum(s for s in sizes if s is not None) if None not in sizes else None, len(specs))
    paths: list[Path] = []
    for spec in specs:
        path = download(
            spec, control=control, progress=combined, token=token, timeout_s=timeout_s, retries=retries, chunk=chunk
        )
        paths.append(path)
        combined.base += path.stat().st_size
    return paths


class _Combined:
    """Relays the progress of several downloads as one: bytes of all files, "done" only after the last."""

    def __init__(self, callback: ProgressCallback | None, total: int | None, count: int) -> None:
        self._callback = callback
        self._total = total
        self._left = count
        self._verified = True
        self.base = 0  # bytes of the files already finished

    def __call__(self, p: Progress) -> None:
        if p.state == "done":
            self._verified = self._verified and bool(p.verified)
            self._left -= 1
            if self._left:
                return
        done = self.base + p.done
        eta = p.eta_s
        if self._total is not None and p.speed_bps > 0 and p.state == "downloading":
            eta = max(0, self._total - done) / p.speed_bps
        verified = self._verified if p.state == "done" else None
        if self._callback is not None:
            self._callback(replace(p, done=done, total=self._total, eta_s=eta, verified=verified))


def discard_partial(spec: DownloadSpec) -> None:
    """Delete the ``.part`` of a paused or failed download (DownloadError if it is being downloaded now)."""
    part = part_path(spec.dest)
    with PartLock(part, spec.name), contextlib.suppress(FileNotFoundError):
        part.unlink()


def verify_file(path: Path, sha256: str | None, size: int | None, progress: ProgressCallback | None = None) -> bool:
    """Check a downloaded file against the catalog; True when the SHA-256 was checked, False when only the size.

    Raises DownloadError when it does not match (the file is left alone: the user decides).
    """
    reporter = _Reporter(path.name, progress)
    try:
        actual = path.stat().st_size
    except OSError as exc:
        raise DownloadError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    reporter.total = actual
    if size is not None and actual != size:
        reporter.emit("failed", 0)
        raise DownloadError(
            f"{path.name} is damaged: it is {format_size(actual)} instead of {format_size(size)}. Download it again."
        )
    if sha256 is None:
        reporter.emit("done", actual, verified=False)
        return False
    reporter.emit("verifying", 0)
    try:
        digest, _ = hash_file(path, on_progress=lambda n: reporter.emit("verifying", n))
    except OSError as exc:
        reporter.emit("failed", 0)
        raise DownloadError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if digest.hexdigest() != sha256.strip().lower():
        reporter.emit("failed", actual)
        raise DownloadError(f"{path.name} is damaged: its checksum does not match the catalog. Download it again.")
    reporter.emit("done", actual, verified=True)
    return True
