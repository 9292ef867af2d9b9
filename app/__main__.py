"""Entry point: ``gemma-desk`` (and ``python -m app``). It alone chooses the window or the command line.

No arguments open the window; anything else is the command line (``ask``, ``chat``, ``models``,
``--self-check``, ``--help``, ``--version``). macOS may pass a ``-psn_…`` process serial number to an
app opened from the Finder: that is not an argument.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-psn_")]
    if not args:
        from app.ui import run_app

        return run_app()
    from app.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
