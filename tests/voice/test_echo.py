"""Barge-in on real speech: the app's answer leaking back as echo, a user talking over it (synthetic clock)."""

from __future__ import annotations

import numpy as np
import pytest

from app.voice import BargeIn, EchoGate, SpeechStarted, Utterance
from app.voice.echo import BARGE_IN_WINDOW_S, ECHO_TAIL_S
from app.voice.events import Event
from app.voice.frames import Framer
from app.voice.turns import VoiceTurns
from tests.voice.speech import RATE, feed, join, silence, voiced_extent

ECHO = 0.3  # the app's voice as the microphone hears it, against a user at full level (10.5 dB louder)


def gate_events(gate: EchoGate, audio: np.ndarray) -> list[BargeIn]:
    framer = Framer()

    def push(samples: np.ndarray, now: float) -> list[BargeIn]:
        return [barge for frame in framer.push(samples, now) if (barge := gate.push(frame)) is not None]

    return [barge for _, barge in feed(push, audio)]


def over(echo: np.ndarray, voice: np.ndarray, at: float) -> np.ndarray:
    mixed = echo.copy()
    start = round(at * RATE)
    mixed[start : start + len(voice)] += voice[: len(mixed) - start]
    return mixed


def test_the_apps_own_echo_is_not_a_barge_in(phrases: dict[str, np.ndarray]) -> None:
    gate = EchoGate()
    gate.set_app_speaking(True, 0.0)
    assert gate_events(gate, phrases["answer"] * ECHO) == []
    assert 0.01 < gate.echo_level < 0.05  # the echo's mean voiced level, learnt


@pytest.mark.parametrize("at", [1.0, 2.5, 4.0, 6.3])
def test_a_user_talking_over_the_echo_barges_in_within_a_fifth_of_a_second(
    phrases: dict[str, np.ndarray], at: float
) -> None:
    gate = EchoGate()
    gate.set_app_speaking(True, 0.0)
    voice = phrases["interrupt"]
    [barge] = gate_events(gate, over(phrases["answer"] * ECHO, voice, at))  # once, not again while still talking
    assert barge.at - barge.voice_started_at <= BARGE_IN_WINDOW_S + 1e-9
    assert at + voiced_extent(voice)[0] - 0.03 <= barge.voice_started_at <= at + 0.15
    assert barge.at - at <= 0.35


def test_half_duplex_never_barges_in(phrases: dict[str, np.ndarray]) -> None:
    gate = EchoGate(barge_in=False)
    gate.set_app_speaking(True, 0.0)
    assert gate_events(gate, over(phrases["answer"] * ECHO, phrases["interrupt"], 2.5)) == []


def spoken_over(turns: VoiceTurns, echo: np.ndarray, after: np.ndarray) -> list[tuple[float, Event]]:
    """The app speaks ``echo`` from t=0 and stops when it ends; ``after`` is heard from then on."""
    turns.set_app_speaking(True, 0.0)
    events = feed(turns.feed, echo)
    turns.set_app_speaking(False, len(echo) / RATE)
    return events + feed(turns.feed, after, start=len(echo) / RATE)


def test_the_echo_and_its_tail_start_no_turn(phrases: dict[str, np.ndarray]) -> None:
    """The room still rings for a moment after the app stops: the last words of its echo are no turn."""
    answer = phrases["answer"] * ECHO
    cut = len(answer) // 2  # stopped mid-word; the echo of what was already played goes on for 0.3 s
    ringing = answer[cut : cut + round((ECHO_TAIL_S - 0.05) * RATE)]
    assert feed(VoiceTurns().feed, ringing) != []  # heard on its own, it would start a turn
    assert spoken_over(VoiceTurns(), answer[:cut], join(ringing, silence(2.0))) == []


def test_a_barge_in_starts_the_turn_with_the_words_said_over_the_app(phrases: dict[str, np.ndarray]) -> None:
    turns = VoiceTurns()
    turns.pause()  # the answer is being spoken: the window paused listening
    voice = phrases["interrupt"]
    events = spoken_over(turns, over(phrases["answer"] * ECHO, voice, 2.0)[: round(2.6 * RATE)], silence(0.0))
    [barge, started] = [e for _, e in events]
    assert isinstance(barge, BargeIn) and isinstance(started, SpeechStarted)
    assert started.at == barge.voice_started_at and not turns.paused
    rest = voice[round(0.6 * RATE) :]  # the app has stopped; the user goes on
    [(_, utterance)] = feed(turns.feed, join(rest, silence(1.5)), start=2.6)
    assert isinstance(utterance, Utterance)
    assert utterance.speech_s == pytest.approx(voiced_extent(voice)[1] - (barge.voice_started_at - 2.0), abs=0.1)


def test_half_duplex_does_not_listen_while_the_app_speaks(phrases: dict[str, np.ndarray]) -> None:
    turns = VoiceTurns(barge_in=False)
    events = spoken_over(turns, over(phrases["answer"] * ECHO, phrases["interrupt"], 2.0), silence(1.0))
    assert events == []
    after = feed(turns.feed, join(phrases["question"], silence(1.0)), start=20.0)
    assert [type(e) for _, e in after] == [SpeechStarted, Utterance]
