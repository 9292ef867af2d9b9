"""Entry point: ``gemma-desk`` (and ``python -m app``). It alone chooses the window or the command line.

No arguments open the window. Files and only files (``gemma-desk notes.png song.mp3``, as a desktop's "Open
with" passes them) open the window with them attached; ``gemma-desk -- FILE…`` does so for any names, a file
called ``ask`` included. Anything else is the command line (``ask``, ``chat``, ``models``, ``serve``, ``--self-check``,
``--help``, ``--version``), which refuses a mistyped command with its usage line. macOS may pass a ``-psn_…``
process serial number to an app opened from the Finder: that is not an argument.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: The command line's commands (``app.cli.main.build_parser``; a test keeps the two in step).
COMMANDS = frozenset({"ask", "chat", "models", "serve"})


def window_files(args: list[str]) -> list[Path] | None:
    """The files to open the window with, when the arguments are only files; None: they are the command line's."""
    if args and args[0] == "--":
        return [Path(a) for a in args[1:]]
    if any(a in COMMANDS or a.startswith("-") for a in args):
        return None
    if all(os.path.exists(a) for a in args):
        return [Path(a) for a in args]
    return None


def main(argv: list[str] | None = None) -> int:
    args = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-psn_")]
    files = window_files(args)
    if files is None:
        from app.cli import run

        return run(args)
    missing = [f for f in files if not f.exists()]
    for f in missing:
        sys.stderr.write(f"gemma-desk: {f}: no such file\n")
    if missing:
        from app.cli.output import EXIT_USAGE

        return EXIT_USAGE
    from app.ui import run_app

    return run_app(files)


if __name__ == "__main__":
    sys.exit(main())
