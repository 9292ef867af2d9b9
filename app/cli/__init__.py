"""The command line: ``ask`` and ``chat`` (``chat.py``), ``models`` (``models.py``), ``--self-check``
(``self_check.py``), the way answers are printed (``output.py``) and the parser (``main.py``).

``gemma-desk`` with no arguments, or with only files, is the window, chosen by ``app.__main__``; the command
line reaches the window only for the self-check, through ``app.ui.window_check``.
"""

from __future__ import annotations


def run(argv: list[str]) -> int:
    """Run one command line (without the program name); returns the exit status."""
    from app.cli.main import run as run_main

    return run_main(argv)
