"""Where a remote server is, how to talk to it, and what its failures mean to a person.

A server's address may be given with or without its ``/v1`` (``http://gpu-box:8080`` and
``http://gpu-box:8080/v1`` are the same server); an address with another path (``https://host/api/v1``) is
taken as the API's base as it is. Every failure becomes a ``RemoteError`` whose text is one line fit to show.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.engine.errors import EngineError

#: Tokens a picture is taken to cost when nothing better is known (Gemma 4's default vision budget).
DEFAULT_VISION_BUDGET = 280
#: How a request that broke off after the answer began is explained (what came is kept).
MIDWAY = "The server stopped in the middle of the answer"
#: The most characters of a server's own error text quoted in a message.
_DETAIL_CHARS = 200


class RemoteError(EngineError):
    """A remote server could not be used; ``str(error)`` is one line fit to show a user."""


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    """A remote OpenAI-compatible server and the model to use on it.

    ``model`` may be empty when the server serves exactly one model (it is then taken). What the model takes
    cannot be asked of every server, so the config says it: pictures by default, sound only when told.
    """

    base_url: str
    api_key: str = ""
    model: str = ""
    vision: bool = True
    audio: bool = False
    vision_budget: int = DEFAULT_VISION_BUDGET  # tokens per picture, for estimates (``measure``)
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 300.0  # the longest silence while streaming (a long prompt is read before the answer)

    @property
    def api_base(self) -> str:
        """The base of the API's paths, without a trailing slash (``http://host:8080/v1``)."""
        return api_base(self.base_url)

    @property
    def host(self) -> str:
        """``host:port`` as the address gives it, for ``Remote (host)``."""
        return urlsplit(self.api_base).netloc.rpartition("@")[2]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def api_base(base_url: str) -> str:
    """The API base of a server address; ``RemoteError`` for something that is not an http(s) address."""
    text = base_url.strip()
    if text and "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteError(f"'{base_url}' is not a server address: give one like http://gpu-box:8080/v1.")
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}"


def list_models(base_url: str, api_key: str = "", timeout: float = 10.0) -> list[str]:
    """The ids of the models the server at ``base_url`` serves (``GET /v1/models``); ``RemoteError`` when the
    server cannot be reached, refuses the key or does not answer like an OpenAI-compatible server."""
    config = RemoteConfig(base_url, api_key, connect_timeout_s=timeout, read_timeout_s=timeout)
    with httpx.Client() as client:
        return [str(entry["id"]) for entry in fetch_models(client, config)]


def fetch_models(client: httpx.Client, config: RemoteConfig) -> list[dict[str, Any]]:
    """The server's model entries (each a mapping with at least an ``id``)."""
    url = config.api_base + "/models"
    timeout = httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s)
    try:
        response = client.get(url, headers=config.headers(), timeout=timeout)
    except httpx.HTTPError as exc:
        raise RemoteError(transport_message(exc, config)) from None
    if response.status_code >= 400:
        raise RemoteError(status_message(response, config))
    try:
        data = response.json()
    except (ValueError, RecursionError):
        data = None
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RemoteError(f"{url} did not answer like an OpenAI-compatible server (no model list).")
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str) and e["id"]]


def detail_of(body: str) -> str:
    """A server's own reason, from an OpenAI-style error body (or its plain text), as one short line."""
    text = body
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", "")
        text = str(error) if error is not None else ""
    line = re.sub(r"\s+", " ", text).strip()
    return line if len(line) <= _DETAIL_CHARS else line[: _DETAIL_CHARS - 1] + "…"


def status_message(response: httpx.Response, config: RemoteConfig) -> str:
    """What an HTTP error status means, in one line (the response's body must have been read)."""
    status = response.status_code
    try:
        detail = detail_of(response.text)
    except (httpx.HTTPError, UnicodeDecodeError):
        detail = ""
    if status in (401, 403):
        return "The server refused the API key" + (" (none was given)." if not config.api_key else ".")
    if status == 404:
        if config.model:
            return f"The server does not have the model '{config.model}' (any more): choose another one."
        return f"{config.api_base} has no OpenAI-compatible API: check the address."
    if status == 429:
        wait = (response.headers.get("Retry-After") or "").strip()
        when = f"in {wait} s" if wait.isdigit() else "in a moment"
        return f"The server is busy: try again {when}."
    suffix = f": {detail}" if detail else "."
    if status >= 500:
        return f"The server failed (HTTP {status}){suffix}"
    return f"The server refused the request (HTTP {status}){suffix}"


def transport_message(exc: httpx.HTTPError, config: RemoteConfig, *, answering: bool = False) -> str:
    """What a network failure means, in one line; ``answering``: it came while the answer streamed."""
    if answering:
        if isinstance(exc, httpx.ReadTimeout):
            return f"{MIDWAY}: nothing came for {config.read_timeout_s:g} s."
        return f"{MIDWAY}."
    address = config.api_base
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Could not reach {address}: no answer within {config.connect_timeout_s:g} s."
    if isinstance(exc, httpx.ConnectError):
        reason = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc).strip()) or "connection failed"
        return f"Could not reach {address}: {reason[:1].lower()}{reason[1:]}"
    if isinstance(exc, httpx.ReadTimeout):
        return f"The server at {config.host} sent nothing for {config.read_timeout_s:g} s: it may be overloaded."
    if isinstance(exc, httpx.TimeoutException):
        return f"The server at {config.host} took too long to answer."
    return f"The connection to {config.host} failed: {type(exc).__name__}: {exc}"
