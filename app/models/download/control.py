"""Pause and cancel: ``Control`` lets another thread stop a running download within one chunk.

A stalled read is interrupted at once: the download registers the socket it
reads from (``watch_socket``), and pause or cancel shuts that socket down.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from app.models.download.errors import DownloadCancelled, DownloadPaused


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

    def watch_socket(self, sock: socket.socket | None) -> None:
        """The socket a read may block on now (None: none); pause and cancel shut it down."""
        with self._lock:
            self._sock = sock
            stop = self._paused or self._cancelled
        if stop and sock is not None:
            _shutdown(sock)

    def _interrupt(self) -> None:
        self._wake.set()
        with self._lock:
            sock = self._sock
        if sock is not None:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """Wake a thread blocked reading ``sock`` (the base method: an SSLSocket's own one drops its state)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
