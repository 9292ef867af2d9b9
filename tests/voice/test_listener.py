"""The listener through a real PortAudio stream: PulseAudio's null sink as the microphone, espeak-ng speech."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import soundfile as sf

from app.voice import BargeIn, DeviceLost, SpeechStarted, Utterance
from app.voice.events import Event
from app.voice.listener import DEVICE_LOST, Listener
from tests.media.virtual_mic import SINK, play, speech_wav

SILENCE_S = 0.8


@pytest.fixture(scope="module")
def room(virtual_speaker: None) -> None:
    """The virtual microphone and the virtual speaker whose sound leaks into it."""


def started(listener: Listener) -> Listener:
    listener.start()
    deadline = time.monotonic() + 10
    while not listener.listening:  # ALSA's PulseAudio plugin may take a second before the first block
        assert time.monotonic() < deadline, "no audio arrived from the microphone"
        time.sleep(0.01)
    return listener


def collect(listener: Listener, seconds: float, until: type | None = None) -> list[tuple[float, Event]]:
    """Poll as the window's timer does (every 20 ms) for ``seconds``, or until an event of type ``until``."""
    events: list[tuple[float, Event]] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        events.extend((now, event) for event in listener.poll())
        if until is not None and any(isinstance(e, until) for _, e in events):
            break
        time.sleep(0.02)
    return events


def test_a_spoken_question_is_one_utterance_soon_after_it_ends(room: None, speech: Path) -> None:
    listener = started(Listener(silence_s=SILENCE_S))
    try:
        played, loudest = time.perf_counter(), 0.0
        proc = play(speech, wait=False)
        while proc.poll() is None:
            loudest = max(loudest, listener.level)  # what a level meter would show
            time.sleep(0.01)
        ended = time.perf_counter()
        events = collect(listener, SILENCE_S + 1.0, until=Utterance)
        assert loudest > 0.05 and listener.level < 0.004  # speech, then the silence after it
    finally:
        listener.stop()
    assert [type(e) for _, e in events] == [SpeechStarted, Utterance], events
    (polled, utterance) = events[-1]
    assert isinstance(utterance, Utterance)
    assert polled - ended <= SILENCE_S + 1.0
    assert played < utterance.ended_at < polled - SILENCE_S + 0.05  # a perf_counter time, before the wait
    spoken = sf.info(str(speech)).duration
    assert spoken - 0.5 <= utterance.duration_s <= spoken + 0.6
    assert float((utterance.samples**2).mean()) ** 0.5 > 0.03
    assert not listener.running


def test_silence_is_nothing(room: None) -> None:
    listener = started(Listener())
    try:
        assert collect(listener, 4.0) == []
    finally:
        listener.stop()


def lost_device(listener: Listener) -> None:
    """Within 5 s one DeviceLost, then nothing more, and listening is off."""
    events = collect(listener, 5.0, until=DeviceLost)
    assert [e for _, e in events] == [DeviceLost(DEVICE_LOST)]
    assert collect(listener, 0.3) == [] and not listener.running


def our_streams() -> list[str]:
    listing = subprocess.run(["pactl", "list", "source-outputs"], capture_output=True, text=True, timeout=10)
    return [
        block.split(None, 1)[0]
        for block in listing.stdout.split("Source Output #")[1:]
        if f'application.process.id = "{os.getpid()}"' in block
    ]


def test_a_stream_the_sound_server_ends_is_opened_again(room: None, speech: Path) -> None:
    """PulseAudio drops our recording stream (a sound server hiccup; a device really gone would not reopen):
    the listener opens it again and goes on hearing turns."""
    if shutil.which("pacmd") is None:
        pytest.skip("no pacmd (apt install pulseaudio)")
    listener = started(Listener())
    try:
        ours = our_streams()
        assert len(ours) == 1
        subprocess.run(["pacmd", "kill-source-output", ours[0]], check=True, capture_output=True, timeout=10)
        deadline = time.monotonic() + 5
        while our_streams() in ([], ours):
            assert time.monotonic() < deadline, "the stream was not opened again"
            time.sleep(0.05)
        time.sleep(0.5)
        play(speech)
        events = collect(listener, 5.0, until=Utterance)
        assert not [e for _, e in events if isinstance(e, DeviceLost)] and isinstance(events[-1][1], Utterance)
        assert listener.running
    finally:
        listener.stop()


def test_a_stream_that_goes_quiet_is_a_lost_device(room: None) -> None:
    """The stream stays open but no block comes (the microphone's sink suspended): lost after ``stall_s``."""
    listener = started(Listener(stall_s=1.0))
    try:
        subprocess.run(["pactl", "suspend-sink", SINK, "1"], check=True, capture_output=True, timeout=10)
        quiet = time.perf_counter()
        lost_device(listener)
        assert time.perf_counter() - quiet >= 1.0
    finally:
        subprocess.run(["pactl", "suspend-sink", SINK, "0"], capture_output=True, timeout=10)
        listener.stop()


def test_talking_over_the_apps_voice_barges_in(room: None, speech: Path, tmp_path: Path) -> None:
    """The app's answer plays on the speaker and leaks back at -9 dB; the user speaks over it, at full level."""
    answer = speech_wav(tmp_path / "answer.wav", "The capital of France is Paris. It is known for its museums.")
    listener = started(Listener())
    app_voice = subprocess.Popen(["paplay", str(answer)])  # to the default sink: the speaker
    user: subprocess.Popen[bytes] | None = None
    try:
        listener.set_app_speaking(True)
        assert collect(listener, 2.0) == []  # its own echo is no turn
        user_at = time.perf_counter()
        user = play(speech, wait=False)
        events = collect(listener, 3.0, until=BargeIn)
        app_voice.terminate()  # the window stops the answer's voice on a barge-in
        listener.set_app_speaking(False)
        events += collect(listener, 5.0, until=Utterance)
    finally:
        listener.stop()
        for proc in (app_voice, user):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
    kinds = [type(e) for _, e in events]
    assert kinds == [BargeIn, SpeechStarted, Utterance], events
    barge, utterance = events[0][1], events[-1][1]
    assert isinstance(barge, BargeIn) and isinstance(utterance, Utterance)
    assert barge.at - barge.voice_started_at <= 0.2 + 1e-9
    assert barge.voice_started_at > user_at  # the user's voice, not the app's
    assert utterance.speech_s > 1.0  # the question, from the words said over the app
