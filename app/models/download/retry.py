"""Retrying a download: which failures are worth another attempt, the backoff, and the message when they run out.

A dropped connection, a timeout or a 5xx is retried; an attempt that brought
new bytes resets the count, so a long download over a flaky line goes on as
long as it makes progress.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
from collections.abc import Callable

from app.models.download.control import Control
from app.models.download.errors import DownloadError

log = logging.getLogger(__name__)

#: The first retry waits this long, doubling up to RETRY_MAX_S; a retry that made progress starts over.
RETRY_BASE_S = 0.2
RETRY_MAX_S = 10.0


class Transient(Exception):
    """Worth retrying: a dropped connection, a timeout, a 5xx; ``delay`` overrides the backoff."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


class Again(Exception):
    """Start the request over at once (the .part was reset); not a failure."""


def reason(exc: BaseException) -> str:
    """Why an attempt failed, in words for the message and the log."""
    if isinstance(exc, Transient):
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


def backoff_s(failures: int) -> float:
    """The wait before retry number ``failures`` (1, 2, …)."""
    return min(RETRY_BASE_S * 2.0 ** (failures - 1), RETRY_MAX_S)


def with_retries(
    attempt: Callable[[], None], offset: Callable[[], int], *, control: Control, name: str, retries: int
) -> None:
    """Call ``attempt`` until it returns, retrying transient failures; ``offset()`` tells whether one made progress.

    Raises DownloadError after ``retries`` consecutive attempts without new bytes (or at once for an untrusted
    certificate), and DownloadPaused / DownloadCancelled when ``control`` asks.
    """
    failures = 0
    while True:
        control.check()
        before = offset()
        try:
            attempt()
            return
        except Again:
            continue
        except (Transient, OSError, http.client.HTTPException) as exc:
            control.check()  # the socket was shut down by pause/cancel
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise DownloadError(
                    f"Could not download {name}: the server's certificate is not trusted ({exc.verify_message})."
                ) from exc
            failures = 1 if offset() > before else failures + 1
            why = reason(exc)
            if failures > retries:
                raise DownloadError(
                    f"Could not download {name}: {why}. Check the connection (or the download server "
                    "in Settings) and try again; it will resume where it stopped."
                ) from exc
            delay = exc.delay if isinstance(exc, Transient) and exc.delay is not None else backoff_s(failures)
            log.info("%s: %s at %d bytes; retry %d in %.1f s", name, why, offset(), failures, delay)
            control.sleep(delay)
