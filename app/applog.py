"""Logging set-up: a rotating log file for everything, the terminal only on request.

llama.cpp's native log is routed into the ``gemma_desk.llama`` logger by the
engine, so it lands here too instead of on the user's terminal.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys

from app.paths import log_dir

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(*, verbose: bool = False) -> None:
    root = logging.getLogger()
    if getattr(root, "_gemma_desk_configured", False):
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            folder / "gemma-desk.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    except OSError:
        pass  # a read-only home: log nowhere rather than fail
    if verbose:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(console)
    root._gemma_desk_configured = True  # type: ignore[attr-defined]
