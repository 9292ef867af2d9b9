"""A spoken conversation in the real window: hands-free turns, answers read aloud, barge-in, and what goes wrong.

Real audio both ways. The user's voice is espeak-ng played into the virtual microphone ``vmic``; the app
speaks through the OS speech engine (speech-dispatcher with espeak-ng) to the default sink ``vspk``, whose
monitor is recorded to hear what came out — and loops back into the microphone at -9 dB, as a laptop's
speakers leak into its microphone (``tests/media/virtual_mic.py``). The tiny Gemma 4 hears the question
through its audio projector; its (random-weight) answer is forced by a grammar so that there are sentences to
read.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.engine import GenerateRequest
from app.speech.engine import engine_for_this_machine
from app.store import Store
from app.ui.capture.hands_free import HEARING, LISTENING, OFF, SPEAKING
from app.ui.shell.main_window import MainWindow
from app.ui.tasks import wait_for_db
from tests.chat.tool_grammar import answer_grammar
from tests.media.virtual_mic import SINK, SpeakerRecorder, play, speech_wav
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui

NO_ENGINE = "no speech-dispatcher (apt install speech-dispatcher speech-dispatcher-espeak-ng)"
ANSWER = "Paris is the capital of France. It lies on the Seine, and it is known for its museums and its food."
LONG_ANSWER = " ".join(
    f"Sentence number {n} of a long answer goes on for a while, so that there is time to interrupt it."
    for n in range(1, 9)
)


@pytest.fixture(scope="module")
def room(virtual_speaker: None) -> None:
    """The microphone, the speaker that leaks into it, and the OS speech engine."""
    if engine_for_this_machine() is None:
        pytest.skip(NO_ENGINE)


@pytest.fixture(scope="module")
def question(tmp_path_factory: pytest.TempPathFactory, room: None) -> Path:
    return speech_wav(tmp_path_factory.mktemp("voice") / "question.wav", "What is the capital of France?")


@pytest.fixture(scope="module")
def interruption(tmp_path_factory: pytest.TempPathFactory, room: None) -> Path:
    return speech_wav(tmp_path_factory.mktemp("voice") / "stop.wav", "Wait, stop. Tell me about Berlin instead.")


@pytest.fixture
def recorder(room: None) -> Iterator[SpeakerRecorder]:
    rec = SpeakerRecorder().start()
    yield rec
    rec.stop()


def forced(window: MainWindow, *texts: str) -> list[GenerateRequest]:
    """Each answer the window asks for is the next text (then the last one again)."""
    answers, requests = list(texts), []

    def force(request: GenerateRequest) -> GenerateRequest:
        text = answers.pop(0) if len(answers) > 1 else answers[0]
        requests.append(request)
        return replace(request, max_tokens=400, sampling=replace(request.sampling, grammar=answer_grammar(text)))

    window.controller.before_generate = force
    return requests


@pytest.fixture
def voice_window(
    qtbot: QtBot, launch: Launch, room: None, tiny_model: Path, tiny_mmproj: Path
) -> Callable[..., MainWindow]:
    def make(**settings: object) -> MainWindow:
        window = launch(**{"context_size": 4096, "seed": 1, "hands_free_silence_s": 0.6, **settings})
        window.load_model(tiny_model, tiny_mmproj)
        qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
        qtbot.waitUntil(lambda: window.media.voice.status is not None, timeout=10_000)
        return window

    return make


def hands_free_on(qtbot: QtBot, window: MainWindow) -> list[str]:
    """Turn hands-free on (with its switch) and wait until the microphone hears and the voice is open."""
    states: list[str] = []
    window.hands_free.stateChanged.connect(states.append)
    assert window.hands_free.button.isEnabled(), window.hands_free.button.toolTip()
    qtbot.mouseClick(window.hands_free.button, Qt.MouseButton.LeftButton)
    listener = window.hands_free.listener
    assert listener is not None and window.hands_free.bar.isVisible()
    qtbot.waitUntil(lambda: listener.listening, timeout=10_000)
    speaker = window.read_aloud.speaker
    qtbot.waitUntil(lambda: bool(speaker.voices()) or bool(speaker.problem), timeout=30_000)
    assert not speaker.problem
    return states


def sound_spans(rec: SpeakerRecorder, gap_s: float = 0.35, threshold: float = 0.01) -> list[tuple[float, float]]:
    """Stretches of sound on the speaker (start, end), pauses shorter than ``gap_s`` inside them."""
    samples, times = rec.samples()
    loud = times[np.abs(samples) >= threshold]
    spans: list[tuple[float, float]] = []
    for t in loud:
        if spans and t - spans[-1][1] <= gap_s:
            spans[-1] = (spans[-1][0], float(t))
        else:
            spans.append((float(t), float(t)))
    return spans


def messages(window: MainWindow) -> int:
    return len(window.chat.messages)


def test_a_spoken_question_is_heard_sent_answered_and_the_answer_spoken(
    qtbot: QtBot, voice_window: Callable[..., MainWindow], question: Path, recorder: SpeakerRecorder
) -> None:
    window = voice_window()
    forced(window, ANSWER)
    states = hands_free_on(qtbot, window)
    assert window.hands_free.state == LISTENING and "Listening" in window.hands_free.bar.state_label.text()
    levels: list[int] = []
    window.hands_free.stateChanged.connect(lambda _s: levels.append(window.hands_free.bar.meter.value()))
    play(question)  # the user speaks, then is quiet: the turn goes after 0.6 s of silence
    qtbot.waitUntil(lambda: messages(window) == 2, timeout=10_000)
    qtbot.waitUntil(lambda: not window.controller.generating and not window.read_aloud.speaking, timeout=60_000)

    assert states[:2] == [LISTENING, HEARING] and SPEAKING in states, states
    assert states[-1] == LISTENING  # back to listening, with no turn made of its own voice (echo)
    user = window.controller.path[-2]
    assert user.role == "user" and [a.kind for a in user.attachments] == ["audio"]
    wait_for_db()
    with Store.open(window.store_path()) as store:
        heard = sf.info(str(store.attachment_path(user.attachments[0])))
    spoken = sf.info(str(question)).duration
    assert spoken - 0.3 <= heard.duration <= spoken + 1.0  # the question, a short pre-roll and tail

    spans = sound_spans(recorder)
    assert spans, "nothing came out of the speaker"
    heard_s = sum(end - start for start, end in spans)
    assert 2.0 < heard_s < 15.0, spans  # about four seconds of speech for two sentences
    times = window.read_aloud.times
    assert times is not None and times.first_token is not None and times.first_audio is not None
    assert times.speech_end < times.first_token < times.first_audio
    assert times.sentence_to_audio_s is not None and times.sentence_to_audio_s < 1.0
    assert "after you stopped speaking" in window.chat.messages[-1].footer.text()
    assert window.chat.messages[-1].speak_button.text() == "Speak"  # it finished speaking

    time.sleep(1.5)  # the echo of its own answer does not become a question
    qtbot.wait(100)
    assert messages(window) == 2 and window.hands_free.state == LISTENING
    qtbot.mouseClick(window.hands_free.button, Qt.MouseButton.LeftButton)
    assert window.hands_free.state == OFF and not window.hands_free.bar.isVisible()


def test_speaking_over_the_answer_stops_it_at_once_and_starts_a_new_turn(
    qtbot: QtBot,
    voice_window: Callable[..., MainWindow],
    question: Path,
    interruption: Path,
    recorder: SpeakerRecorder,
) -> None:
    # The app's voice at 60 %: its echo in the microphone about 13 dB under the user's voice (at full volume
    # it is 9 dB under, the -9 dB loopback: too close to tell apart without the playback signal).
    window = voice_window(speech_volume=60)
    forced(window, LONG_ANSWER, ANSWER)
    hands_free_on(qtbot, window)
    barge: list[tuple[float, float]] = []
    window.hands_free.bargedIn.connect(lambda voice, stopped: barge.append((voice, stopped)))
    play(question)
    qtbot.waitUntil(lambda: window.read_aloud.speaking, timeout=30_000)
    qtbot.wait(1500)  # a second and a half into the answer
    speaking = play(interruption, wait=False)
    qtbot.waitUntil(lambda: bool(barge), timeout=10_000)
    voice_started, told = barge[0]
    qtbot.wait(600)
    # The speaker went quiet: the last sound of the answer came soon after the user's voice began.
    answer_end = max(end for start, end in sound_spans(recorder) if start < voice_started)
    assert answer_end - voice_started < 0.30, (answer_end - voice_started, told - voice_started)
    assert told - voice_started < 0.30
    # The interruption is the next question: the first answer is kept as stopped, the second is answered.
    qtbot.waitUntil(lambda: speaking.poll() is not None, timeout=20_000)
    qtbot.waitUntil(lambda: messages(window) == 4, timeout=20_000)
    qtbot.waitUntil(lambda: not window.controller.generating and not window.read_aloud.speaking, timeout=60_000)
    first_answer = window.controller.path[1]
    assert first_answer.status in ("stopped", "complete")  # stopped when the answer was still being written
    assert window.chat.messages[-1].text() == ANSWER


def test_a_long_silence_sends_nothing(qtbot: QtBot, voice_window: Callable[..., MainWindow]) -> None:
    window = voice_window()
    states = hands_free_on(qtbot, window)
    qtbot.wait(4000)
    assert messages(window) == 0 and states == [LISTENING] and window.hands_free.state == LISTENING


def test_speak_reads_any_answer_and_esc_stops_it(
    qtbot: QtBot, voice_window: Callable[..., MainWindow], recorder: SpeakerRecorder
) -> None:
    window = voice_window()
    forced(window, LONG_ANSWER)
    window.controller.send("Tell me a long story.", [])
    qtbot.waitUntil(lambda: messages(window) == 2 and not window.controller.generating, timeout=30_000)
    answer = window.chat.messages[-1]
    assert not window.read_aloud.speaking  # a typed question's answer is not read unasked
    assert answer.speak_button.isVisible() and not window.chat.messages[0].speak_button.isVisible()
    qtbot.mouseClick(answer.speak_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: recorder.first_sound_at() is not None, timeout=30_000)
    assert answer.speak_button.text() == "Stop" and window.read_aloud.speaking
    qtbot.wait(800)
    window.composer.focus_input()
    pressed = time.perf_counter()
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.read_aloud.speaking, timeout=5_000)
    qtbot.wait(500)
    last = recorder.last_sound_at()
    assert last is not None and last - pressed < 0.30
    assert answer.speak_button.text() == "Speak"


def test_the_voice_settings_pick_a_system_voice(qtbot: QtBot, voice_window: Callable[..., MainWindow]) -> None:
    from PySide6.QtWidgets import QComboBox

    window = voice_window()
    window.open_settings()
    dialog = window.settings_dialog
    assert dialog is not None
    titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert "Voice" in titles
    page = dialog.tabs.widget(titles.index("Voice"))
    combo = next(c for c in page.findChildren(QComboBox) if c.accessibleName() == "Voice")
    qtbot.waitUntil(lambda: combo.count() > 2, timeout=30_000)  # the engine's voices, once it is open
    assert combo.itemText(0) == "System default"
    combo.setCurrentIndex(2)
    chosen = combo.currentData()
    dialog.accept()
    assert window.settings.get_str("speech_voice") == chosen


def test_without_a_speech_engine_the_window_says_so_and_still_answers(
    qtbot: QtBot, voice_window: Callable[..., MainWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMMA_DESK_SPEECH_ENGINE", "none")
    window = voice_window()
    forced(window, ANSWER)
    window.controller.send("Hello", [])
    qtbot.waitUntil(lambda: messages(window) == 2 and not window.controller.generating, timeout=30_000)
    qtbot.mouseClick(window.chat.messages[-1].speak_button, Qt.MouseButton.LeftButton)
    assert "No speech engine is installed" in window.notice_bar.label.text()
    assert "speech-dispatcher" in window.notice_bar.label.text()
    assert not window.read_aloud.speaking
    window.read_aloud.voice_question_sent(time.perf_counter())  # a spoken question: answered in writing
    window.controller.send("Again", [])
    qtbot.waitUntil(lambda: messages(window) == 4 and not window.controller.generating, timeout=30_000)
    assert window.chat.messages[-1].text() == ANSWER and not window.read_aloud.speaking


def test_hands_free_needs_a_model_that_hears(qtbot: QtBot, launch: Launch, room: None, text_only_model: Path) -> None:
    window = launch()
    window.load_model(text_only_model)
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
    qtbot.waitUntil(lambda: window.media.voice.status is not None, timeout=10_000)
    button = window.hands_free.button
    assert not button.isEnabled() and "cannot hear" in button.toolTip()
    window.hands_free.set_on(True)
    assert window.hands_free.state == OFF and "cannot hear" in window.notice_bar.label.text()


def test_a_microphone_that_stops_turns_hands_free_off_with_a_message(
    qtbot: QtBot, voice_window: Callable[..., MainWindow]
) -> None:
    window = voice_window()
    hands_free_on(qtbot, window)
    subprocess.run(["pactl", "suspend-sink", SINK, "1"], check=True, timeout=10)  # the device goes silent
    try:
        qtbot.waitUntil(lambda: window.hands_free.state == OFF, timeout=20_000)  # after trying to reopen it
    finally:
        subprocess.run(["pactl", "suspend-sink", SINK, "0"], check=True, timeout=10)
    assert "microphone stopped" in window.notice_bar.label.text()
    assert not window.hands_free.button.isChecked() and window.hands_free.button.isEnabled()
