"""The microphone recorder through a real PortAudio stream (PulseAudio null sink as the microphone)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.media import AUDIO_SAMPLE_RATE
from app.media.recorder import MicError, Recorder, SilentRecording, TooShort, finish, mic_status
from tests.media.virtual_mic import play


def wait_listening(recorder: Recorder) -> None:
    deadline = time.monotonic() + 10
    while not recorder.listening:
        assert time.monotonic() < deadline, "no audio arrived from the microphone"
        time.sleep(0.01)


def record(recorder: Recorder, seconds: float) -> None:
    """Record ``seconds`` of audio (counted in samples, not wall time)."""
    recorder.start()
    wait_listening(recorder)
    deadline = time.monotonic() + seconds + 10
    while recorder.elapsed_s < seconds and not recorder.limit_reached:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_the_default_input_is_listed(virtual_mic: None) -> None:
    status = mic_status()
    assert status.usable and status.portaudio.startswith("PortAudio")
    assert any(d.is_default for d in status.devices)


def test_records_speech_at_the_device_rate_and_writes_16k_mono(virtual_mic: None, speech: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    recorder.start()
    wait_listening(recorder)
    play(speech)  # blocks until played
    time.sleep(0.3)
    levels_seen = recorder.peak
    recording = recorder.stop()
    assert not recorder.recording
    spoken = sf.info(str(speech)).duration
    assert recording.sample_rate >= 16000 and spoken <= recording.duration_s <= spoken + 3
    assert levels_seen > 0.1
    wav = tmp_path / "clip.wav"
    audio = finish(recording, wav)
    info = sf.info(str(wav))
    assert (info.samplerate, info.channels, info.subtype) == (AUDIO_SAMPLE_RATE, 1, "PCM_16")
    assert abs(info.duration - recording.duration_s) < 0.05 and abs(audio.duration_s - info.duration) < 0.05
    data, _ = sf.read(str(wav), dtype="float32")
    loud = np.abs(data) > 0.05
    assert loud.mean() > 0.1  # speech, not a click: a good share of the clip is loud


def test_silence_is_not_sent_and_a_tap_is_too_short(virtual_mic: None, tmp_path: Path) -> None:
    recorder = Recorder()
    record(recorder, 0.8)
    with pytest.raises(SilentRecording, match="Nothing was heard"):
        finish(recorder.stop(), tmp_path / "silent.wav")
    assert not (tmp_path / "silent.wav").exists()
    recorder.start()  # pressed and let go at once
    with pytest.raises(TooShort, match="Hold the microphone button"):
        finish(recorder.stop(), tmp_path / "tap.wav")


def test_a_held_button_stops_at_the_limit(virtual_mic: None, speech: Path, tmp_path: Path) -> None:
    recorder = Recorder(max_s=1.0)
    recorder.start()
    wait_listening(recorder)
    proc = play(speech, wait=False)
    deadline = time.monotonic() + 10
    while not recorder.limit_reached and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # still "held": nothing more is taken
    recording = recorder.stop()
    proc.wait(timeout=30)
    assert recording.limit_reached and abs(recording.duration_s - 1.0) < 0.01


def test_a_second_recording_while_one_runs_is_refused(virtual_mic: None) -> None:
    recorder = Recorder()
    recorder.start()
    try:
        with pytest.raises(MicError, match="already running"):
            recorder.start()
    finally:
        recorder.cancel()
    assert not recorder.recording and recorder.elapsed_s == 0
