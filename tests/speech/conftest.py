"""The real speech engine (speech-dispatcher with espeak-ng on Linux), opened once for the folder's tests, and
a recorder of what reaches the speakers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QCoreApplication

from app.speech import Speaker
from app.speech.engine import engine_for_this_machine
from tests.media.virtual_mic import NoVirtualMic
from tests.speech.sink_recorder import SinkRecorder

MISSING = "no speech-dispatcher (apt install speech-dispatcher speech-dispatcher-espeak-ng)"


@pytest.fixture(scope="module")
def open_speaker(qapp: QCoreApplication) -> Iterator[Speaker]:
    """One Speaker on the machine's engine, open (opening speech-dispatcher takes seconds)."""
    if engine_for_this_machine() is None:
        pytest.skip(MISSING)
    speaker = Speaker()
    deadline = time.monotonic() + 30
    while not speaker.voices() and not speaker.problem and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.01)
    if speaker.problem or not speaker.voices():
        speaker.close()
        pytest.skip(f"the speech engine cannot speak: {speaker.problem or 'it did not open'} ({MISSING})")
    yield speaker
    speaker.close()


@pytest.fixture
def speaker(open_speaker: Speaker) -> Iterator[Speaker]:
    """The open Speaker, silent and at normal speed afterwards."""
    yield open_speaker
    open_speaker.stop()
    open_speaker.set_rate(0.0)


@pytest.fixture
def recorder() -> Iterator[SinkRecorder]:
    try:
        rec = SinkRecorder()
    except NoVirtualMic as missing:
        pytest.skip(str(missing))
    with rec:
        yield rec
