"""``Speaker`` on the real engine: what reaches the speakers, when, and how it stops."""

from __future__ import annotations

import time

import pytest
from pytestqt.qtbot import QtBot

from app.speech import NO_ENGINE, Speaker, SpeechStatus, speech_status
from app.speech.engine import ENGINE_VARIABLE, choose_engine
from tests.speech.sink_recorder import SinkRecorder

PROSE = (
    "The river rises in the northern hills. It runs south for two hundred miles. "
    "Farmers along its banks grow wheat and barley. In spring the water is high and fast."
)
SHORT = "The river rises in the northern hills. It runs south for two hundred miles."
#: Seconds of sound per word: espeak-ng at its normal rate says about three words a second, with pauses.
PER_WORD = (0.1, 0.8)


def read(qtbot: QtBot, speaker: Speaker, markdown: str, timeout_ms: int = 40_000) -> None:
    with qtbot.waitSignal(speaker.finished, timeout=timeout_ms):
        speaker.speak_text(markdown)


def test_a_streamed_answer_is_heard_from_its_first_sentence(
    qtbot: QtBot, speaker: Speaker, recorder: SinkRecorder
) -> None:
    """The voice starts once the first sentence is complete, while the answer still streams."""
    pieces = ["The river ", "rises in the **northern** ", "hills. It runs", " south for two hundred miles. "]
    start = time.perf_counter()
    speaker.start_reading()
    with qtbot.waitSignal(speaker.firstAudio, timeout=5000):
        for piece in pieces:
            speaker.feed(piece)
    assert speaker.first_sentence_at is not None and speaker.first_audio_at is not None
    latency = speaker.first_audio_at - speaker.first_sentence_at
    print(f"first audio {latency * 1000:.0f} ms after the first sentence was complete")
    assert 0 <= latency < 1.0
    with qtbot.waitSignal(speaker.finished, timeout=40_000):
        speaker.feed("Farmers along its banks grow wheat and barley. In spring the water")
        speaker.feed(" is high and fast.")
        speaker.end_reading()
    assert not speaker.speaking
    time.sleep(0.2)  # the sink's last blocks
    words = len(PROSE.split())
    heard = recorder.sound_seconds(start)
    assert PER_WORD[0] * words < heard < PER_WORD[1] * words, heard


def test_code_blocks_are_announced_not_read(qtbot: QtBot, speaker: Speaker, recorder: SinkRecorder) -> None:
    """A 40-line code block adds "Python code block, 40 lines." to the reading, not its 40 lines."""
    code = "\n".join(f"    total = total + values[{i}] * weights[{i}]" for i in range(40))
    without_start = time.perf_counter()
    read(qtbot, speaker, SHORT)
    with_start = time.perf_counter()
    read(qtbot, speaker, f"{SHORT}\n\n```python\n{code}\n```\n")
    time.sleep(0.2)
    plain = recorder.sound_seconds(without_start) - recorder.sound_seconds(with_start)
    with_code = recorder.sound_seconds(with_start)
    assert plain > 1.5
    assert with_code < plain + 3.0, (plain, with_code)  # the code itself would take over twenty seconds


def test_stop_silences_at_once(qtbot: QtBot, speaker: Speaker, recorder: SinkRecorder) -> None:
    with qtbot.waitSignal(speaker.firstAudio, timeout=5000):
        speaker.speak_text(PROSE * 3)
    qtbot.wait(800)
    stopped = time.perf_counter()
    with qtbot.waitSignal(speaker.speakingChanged, timeout=1000) as changed:
        speaker.stop()
    assert changed.args == [False] and not speaker.speaking
    qtbot.wait(1000)
    loud = recorder.loud_times()
    assert loud and loud[0] < stopped
    tail = loud[-1] - stopped
    print(f"last sound {tail * 1000:.0f} ms after stop()")
    assert tail < 0.3


def test_a_faster_rate_is_heard_as_shorter_speech(qtbot: QtBot, speaker: Speaker, recorder: SinkRecorder) -> None:
    speaker.set_rate(-0.3)
    slow_start = time.perf_counter()
    read(qtbot, speaker, SHORT)
    speaker.set_rate(0.6)
    fast_start = time.perf_counter()
    read(qtbot, speaker, SHORT)
    time.sleep(0.2)
    slow = recorder.sound_seconds(slow_start) - recorder.sound_seconds(fast_start)
    fast = recorder.sound_seconds(fast_start)
    assert fast < 0.8 * slow, (slow, fast)


def test_a_new_reading_replaces_the_one_being_spoken(qtbot: QtBot, speaker: Speaker) -> None:
    """Starting again stops the old reading: only the new one finishes, once."""
    speaker.speak_text(PROSE * 3)
    with qtbot.waitSignal(speaker.finished, timeout=20_000):
        speaker.speak_text("Short.")
    assert not speaker.speaking


def test_creating_a_speaker_does_not_wait_for_the_engine(qtbot: QtBot, open_speaker: Speaker) -> None:
    """Opening speech-dispatcher takes seconds (it lists ~1,500 voices): that happens on the speech thread."""
    start = time.perf_counter()
    speaker = Speaker()
    created = time.perf_counter() - start
    with qtbot.waitSignal(speaker.ready, timeout=30_000):
        pass
    opened = time.perf_counter() - start
    speaker.close()
    print(f"Speaker() {created * 1000:.1f} ms on the GUI thread, engine open after {opened:.2f} s")
    assert created < 0.1 and not speaker.problem and speaker.voices()


def test_without_an_engine_every_call_is_a_quiet_no_op(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_VARIABLE, "none")
    speaker = Speaker()
    assert speaker.problem == NO_ENGINE and speaker.engine == ""
    with qtbot.assertNotEmitted(speaker.speakingChanged), qtbot.assertNotEmitted(speaker.firstAudio):
        speaker.start_reading()
        speaker.feed("Hello there. ")
        speaker.end_reading()
        speaker.speak_text("More text.")
        speaker.set_rate(0.5)
        speaker.stop()
        qtbot.wait(50)
    assert not speaker.speaking and speaker.voices() == []
    speaker.close()
    assert speech_status() == SpeechStatus("", [], NO_ENGINE)


def test_the_engine_is_chosen_per_platform_and_never_qt_s_test_engine() -> None:
    assert choose_engine(["mock", "speechd"], "linux") == "speechd"
    assert choose_engine(["mock"], "linux") is None
    assert choose_engine(["sapi", "winrt", "mock"], "win32") == "winrt"
    assert choose_engine(["sapi", "mock"], "win32") == "sapi"
    assert choose_engine(["darwin"], "darwin") == "darwin"
    assert choose_engine(["mock", "flite"], "linux") == "flite"
    assert choose_engine(["speechd"], "linux", forced="none") is None
    assert choose_engine(["speechd", "mock"], "linux", forced="mock") is None
    assert choose_engine(["speechd", "flite"], "linux", forced="flite") == "flite"
