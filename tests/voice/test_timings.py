"""A voice turn's latency line."""

from __future__ import annotations

from app.voice import VoiceTurnTimes


def test_a_turn_is_measured_from_the_end_of_speech() -> None:
    times = VoiceTurnTimes(speech_end=10.0, sent=10.05, first_token=10.42, first_audio=10.61)
    assert times.to_first_token_s is not None and abs(times.to_first_token_s - 0.42) < 1e-9
    assert times.to_first_audio_s is not None and abs(times.to_first_audio_s - 0.61) < 1e-9
    assert times.describe() == "voice turn: end of speech → sent 0.05 s → first token 0.42 s → first audio 0.61 s"


def test_steps_not_reached_are_left_out() -> None:
    times = VoiceTurnTimes(speech_end=10.0, first_token=10.5)
    assert times.to_first_audio_s is None
    assert times.describe() == "voice turn: end of speech → first token 0.50 s"
