"""The window (Qt). The command line and ``__main__`` reach it only through the functions here.

Everything else in ``app.ui`` is the window's own business, grouped by feature: ``shell`` (the
application, main window, theme, sidebar, bars, settings), ``chat``, ``composer``, ``capture``
(camera, microphone, playback), ``preview`` and ``model_setup``; ``engine_bridge`` and ``tasks`` are
the Qt adapters over the engine and background work. Imports here are lazy: ``import app.ui``
loads no Qt.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.ui.shell.self_check import Say


def run_app(files: Sequence[Path] = ()) -> int:
    """Open the window with ``files`` attached and run until it closes (``gemma-desk [FILE…]``). When this user's
    window is already open, hand it the files (or just bring it to the front) and return 0 at once, without
    loading the widgets."""
    from app.applog import setup_logging
    from app.ui.shell.single_instance import claim

    setup_logging()
    absolute = [Path(os.path.abspath(p)) for p in files]
    instance = claim(absolute)
    if instance is None:
        return 0
    from app.ui.shell.app import run_app as run

    return run(absolute, instance)


def allow_webengine_as_root() -> None:
    """Let Qt WebEngine start when running as root (containers), before any QApplication."""
    from app.ui.shell.app import allow_webengine_as_root as allow

    allow()


def window_check(say: Say, model: Path, prompt: str, started: float) -> int:
    """The self-check's window part (``--self-check --check-model``): 0 if the window, model and preview work."""
    from app.ui.shell.self_check import window_check as check

    return check(say, model, prompt, started)
