"""llama.cpp's start-up and its native log: initialise the backend once, and route the log into Python logging.

llama.cpp writes its log through a C callback, in pieces; here the pieces become whole lines on the
``gemma_desk.llama`` logger (never the terminal), and ``capture_native_log`` collects the lines a load writes
so its failure can be explained.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import llama_cpp as C

log = logging.getLogger("gemma_desk.llama")

# ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the previous line).
_LEVELS = {0: logging.CRITICAL, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_log_lock = threading.Lock()
_log_partial: list[str] = []
_log_last_level = logging.INFO
_captures: list[list[str]] = []


def _on_native_log(level: int, text: bytes | None, _user: ctypes.c_void_p) -> None:
    global _log_last_level
    if not text:
        return
    piece = text.decode("utf-8", errors="replace")
    with _log_lock:
        py_level = _log_last_level if level == 5 else _LEVELS.get(level, logging.INFO)
        _log_last_level = py_level
        _log_partial.append(piece)
        if not piece.endswith("\n"):
            return
        line = "".join(_log_partial).rstrip("\n")
        _log_partial.clear()
        for capture in _captures:
            capture.append(line)
    log.log(py_level, "%s", line)


_LOG_CALLBACK = C.llama_log_callback(_on_native_log)
_backend_ready = False
_backend_lock = threading.Lock()


def init_backend() -> None:
    """Route native logs into Python logging and initialise llama.cpp once."""
    global _backend_ready
    with _backend_lock:
        C.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
        if not _backend_ready:
            from app.engine.cpu_variants import load_backends

            load_backends()  # before llama.cpp looks for backends itself (it would search the current folder)
            C.llama_backend_init()
            _backend_ready = True


@contextmanager
def capture_native_log() -> Iterator[list[str]]:
    """Collect the native log lines written while the block runs."""
    lines: list[str] = []
    with _log_lock:
        _captures.append(lines)
    try:
        yield lines
    finally:
        with _log_lock:
            _captures.remove(lines)
