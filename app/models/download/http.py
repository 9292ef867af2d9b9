"""The HTTP side of a download: addresses, proxies, the request with its redirects, and ``Content-Range``.

The token goes only to the URL's own origin, never along a redirect to another
host (Hugging Face redirects to a CDN), and is never logged; logged addresses
lose their credentials and query (signed CDN addresses carry secrets there).
"""

from __future__ import annotations

import base64
import functools
import http.client
import logging
import os
import re
import ssl
import urllib.parse
import urllib.request

from app import __version__
from app.models.download.control import Control
from app.models.download.errors import DownloadError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
MAX_REDIRECTS = 10
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: what can go in a header


def hf_url(repo: str, filename: str, endpoint: str | None = None, revision: str = "main") -> str:
    """The download address of ``filename`` in a Hugging Face repository (or a mirror of it).

    The endpoint is ``endpoint`` when given (the app's setting), else ``$HF_ENDPOINT``, else huggingface.co.
    """
    base = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    quote = urllib.parse.quote
    return f"{base}/{quote(repo, safe='/')}/resolve/{quote(revision, safe='')}/{quote(filename, safe='/')}"


def check_token(token: str | None) -> None:
    """DownloadError unless ``token`` (already stripped; None: none) can be sent in a header."""
    if token is not None and not _TOKEN_CHARS.fullmatch(token):
        raise DownloadError("The Hugging Face token in Settings has characters a token cannot have; paste it again.")


def display_url(url: str) -> str:
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


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def connect(url: str, name: str, timeout_s: float) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """A connection for ``url``, the request target, and the proxy's headers (``name``: the file, for messages)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"Cannot download {name}: {display_url(url)} is not an http(s) address.")
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
            conn = http.client.HTTPConnection(proxy.hostname, proxy_port, timeout=timeout_s)
            return conn, url, extra
        tls = http.client.HTTPSConnection(proxy.hostname, proxy_port, timeout=timeout_s, context=_tls())
        tls.set_tunnel(host, port, headers=extra)
        return tls, target, {}
    if parts.scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout_s, context=_tls()), target, {}
    return http.client.HTTPConnection(host, port, timeout=timeout_s), target, {}


def get(
    url: str, *, name: str, offset: int, token: str | None, timeout_s: float, control: Control
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """GET ``url`` from byte ``offset`` on, following redirects; the token stays with the first origin.

    ``control`` watches the connection's socket while the request is in flight; the caller closes the
    connection and clears that watch once it has read the answer.
    """
    first = _origin(url)
    headers = {"User-Agent": f"gemma-desk/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        conn, target, extra = connect(current, name, timeout_s)
        sent = dict(headers, **extra)
        if token and _origin(current) == first:
            sent["Authorization"] = f"Bearer {token}"
        try:
            conn.request("GET", target, headers=sent)
            control.watch_socket(conn.sock)
            resp = conn.getresponse()
        except BaseException:
            control.watch_socket(None)
            conn.close()
            raise
        location = resp.getheader("Location")
        if resp.status in (301, 302, 303, 307, 308) and location:
            conn.close()
            current = urllib.parse.urljoin(current, location)
            log.info("%s: redirected to %s", name, display_url(current))
            continue
        return conn, resp
    raise DownloadError(f"Cannot download {name}: the server at {display_url(url)} redirects in a loop.")


def content_range(value: str) -> tuple[int | None, int | None, int | None]:
    """``bytes 100-199/1000`` → (100, 199, 1000); ``bytes */1000`` → (None, None, 1000); unknowns are None."""
    unit, _, rest = value.strip().partition(" ")
    if unit.lower() != "bytes":
        return None, None, None
    span, _, whole = rest.partition("/")
    start, _, end = span.partition("-")

    def num(text: str) -> int | None:
        return int(text) if text.strip().isdigit() else None

    return num(start), num(end), num(whole)
