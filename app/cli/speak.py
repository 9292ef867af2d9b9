"""``ask --speak``: the answer is read aloud as it streams, and the command ends once the voice has finished.

The voice (``app.speech.Speaker``) hears the answer through the output (``Output.listener``): its text, never
its thinking; code blocks are announced, not read. The engine speaks on a thread of its own; its news (opened, a
sentence done) arrives through the Qt event loop (a QCoreApplication, made only for ``--speak``), which turns
after each piece of the answer and then until the voice is done.

Speech is an extra: without an engine, or when it fails, a notice on stderr says why, the answer is printed
as always and the exit status is the answer's (0 when it was answered), so a script that asks for speech on a
machine without it still works. Ctrl-C while the voice reads stops it and exits 130.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QCoreApplication

from app.cli.output import EXIT_INTERRUPTED, EXIT_OK, Output
from app.speech import Speaker

#: How often the wait for the voice looks at Qt's events (and lets Ctrl-C in).
_TICK_S = 0.02


def aloud(out: Output, answer: Callable[[], int]) -> int:
    """Run ``answer`` (the command, printing to ``out``) with its answer read aloud; its exit status."""
    app = QCoreApplication.instance() or QCoreApplication([])
    speaker = Speaker()
    try:
        if speaker.problem:
            out.notice(speaker.problem)
            return answer()
        speaker.failed.connect(lambda message: out.notice(f"the answer could not be read aloud: {message}"))
        speaker.start_reading()
        out.listener = _Turning(app, speaker)
        code = answer()
        out.listener = None
        if code != EXIT_OK:  # interrupted or failed: no reading to wait for
            return code
        return _until_spoken(app, speaker, out)
    finally:
        out.listener = None
        speaker.close()
        # Gone now, with its engine and connections, while Qt is whole: left to the interpreter's exit, the voice's
        # objects were torn down beside Qt's own once ("shared QObject was deleted directly", then SIGABRT).
        shiboken6.delete(speaker)


class _Turning:
    """Hands the answer's pieces to the voice and lets Qt's events through after each, so the engine's news
    (open, a sentence done) arrives and the voice keeps up while the model writes."""

    def __init__(self, app: QCoreApplication, speaker: Speaker) -> None:
        self.app, self.speaker = app, speaker

    def feed(self, piece: str) -> None:
        self.speaker.feed(piece)
        self.app.processEvents()

    def end_reading(self) -> None:
        self.speaker.end_reading()
        self.app.processEvents()


def _until_spoken(app: QCoreApplication, speaker: Speaker, out: Output) -> int:
    try:
        while speaker.speaking:
            app.processEvents()
            time.sleep(_TICK_S)
    except KeyboardInterrupt:
        speaker.stop()
        out.notice("interrupted: the answer is no longer read aloud.")
        return EXIT_INTERRUPTED
    return EXIT_OK
