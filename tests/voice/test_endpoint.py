"""The endpointer on real speech (espeak-ng), fed in 64 ms blocks on a synthetic clock."""

from __future__ import annotations

import numpy as np
import pytest

from app.media.audio import MAX_CLIP_SECONDS
from app.voice import Endpointer, SpeechStarted, Utterance
from app.voice.endpoint import PRE_ROLL_S, TAIL_S
from app.voice.events import Event
from tests.voice.speech import RATE, feed, join, silence, voiced_extent


def kinds(events: list[tuple[float, Event]]) -> list[str]:
    return [type(event).__name__ for _, event in events]


def utterances(events: list[tuple[float, Event]]) -> list[tuple[float, Utterance]]:
    return [(t, e) for t, e in events if isinstance(e, Utterance)]


def test_one_phrase_is_one_turn_with_its_pre_roll(phrases: dict[str, np.ndarray]) -> None:
    question = phrases["question"]
    first, last = voiced_extent(question)
    events = feed(Endpointer().feed, join(silence(1.0), question, silence(2.0)))
    assert kinds(events) == ["SpeechStarted", "Utterance"]
    (heard, started), (_, utterance) = events
    assert isinstance(started, SpeechStarted) and isinstance(utterance, Utterance)
    assert abs(started.at - (1.0 + first)) <= 0.06
    assert heard - started.at <= 0.4  # detected within 0.4 s of the first word
    assert abs(utterance.ended_at - (1.0 + last)) <= 0.09
    spoken = last - first
    assert abs(utterance.speech_s - spoken) <= 0.12
    assert abs(utterance.duration_s - (PRE_ROLL_S + spoken + TAIL_S)) <= 0.12
    assert utterance.samples.dtype == np.float32 and not utterance.samples.flags.writeable
    assert np.sqrt(np.mean(utterance.samples**2)) > 0.03  # the speech itself, not the silence around it


def test_two_phrases_two_seconds_apart_are_two_turns(phrases: dict[str, np.ndarray]) -> None:
    audio = join(silence(0.5), phrases["question"], silence(2.0), phrases["reply"], silence(1.5))
    events = feed(Endpointer().feed, audio)
    assert kinds(events) == ["SpeechStarted", "Utterance", "SpeechStarted", "Utterance"]
    (_, one), (_, two) = utterances(events)
    assert one.duration_s == pytest.approx(PRE_ROLL_S + voiced_extent(phrases["question"])[1] + TAIL_S, abs=0.15)
    assert two.ended_at > one.ended_at + 2.0


@pytest.mark.parametrize("noise_rms", [0.0, 0.002])
def test_silence_and_low_hiss_start_nothing(noise_rms: float) -> None:
    hiss = np.random.default_rng(7).normal(0.0, noise_rms, 5 * RATE).astype(np.float32)
    assert feed(Endpointer().feed, hiss) == []


def test_a_click_or_a_cough_is_not_a_turn(phrases: dict[str, np.ndarray]) -> None:
    question = phrases["question"]
    first, _ = voiced_extent(question)
    burst = question[round(first * RATE) : round((first + 0.15) * RATE)]  # 0.15 s of voice
    assert feed(Endpointer().feed, join(silence(1.0), burst, silence(2.0))) == []


def test_a_long_reading_is_cut_at_thirty_seconds_and_the_rest_is_a_second_turn(
    phrases: dict[str, np.ndarray],
) -> None:
    """A breathless 40 s reading (sentences 0.2 s apart, shorter than the pause that ends a turn)."""
    sentence = phrases["reading"]
    reading = join(*[join(sentence, silence(0.2)) for _ in range(int(40 / (len(sentence) / RATE + 0.2)) + 1)])
    events = feed(Endpointer().feed, join(silence(0.5), reading, silence(1.5)))
    assert kinds(events) == ["SpeechStarted", "Utterance", "SpeechStarted", "Utterance"]
    (cut_at, cut), (_, rest) = utterances(events)
    assert len(cut.samples) == MAX_CLIP_SECONDS * RATE
    started = events[0][1]
    assert isinstance(started, SpeechStarted)
    assert cut_at - (started.at - PRE_ROLL_S) == pytest.approx(MAX_CLIP_SECONDS, abs=0.07)  # sent at once
    reading_end = 0.5 + voiced_extent(reading)[1]
    assert rest.ended_at == pytest.approx(reading_end, abs=0.09)
    # the words after the cut, from a pre-roll before the first of them
    assert reading_end - cut_at - 0.4 <= rest.duration_s <= reading_end - cut_at + TAIL_S + 0.1


@pytest.mark.parametrize("silence_s", [0.3, 0.8, 2.0])
def test_the_pause_before_sending_is_the_setting(phrases: dict[str, np.ndarray], silence_s: float) -> None:
    events = feed(Endpointer(silence_s=silence_s).feed, join(silence(0.5), phrases["question"], silence(3.0)))
    [(sent, utterance)] = utterances(events)
    # one frame (30 ms) and one block (64 ms) of lateness at most: the event comes with the block that completes it
    assert silence_s <= sent - utterance.ended_at <= silence_s + 0.1


def test_the_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="pause before sending"):
        Endpointer(silence_s=0.1)


def test_the_setting_may_change_between_turns(phrases: dict[str, np.ndarray]) -> None:
    endpointer = Endpointer(silence_s=0.8)
    endpointer.silence_s = 2.0
    [(sent, utterance)] = utterances(feed(endpointer.feed, join(silence(0.5), phrases["question"], silence(3.0))))
    assert 2.0 <= sent - utterance.ended_at <= 2.1


def test_a_quick_follow_up_keeps_its_pre_roll(phrases: dict[str, np.ndarray]) -> None:
    """The next question starts 0.15 s after the first was sent: the pause before that is its pre-roll too."""
    question = phrases["question"]
    _, last = voiced_extent(question)
    gap = 0.8 + 0.15 - (len(question) / RATE - last)  # the wav's own silence after its last word counts
    events = feed(Endpointer().feed, join(silence(0.5), question, silence(gap), question, silence(1.5)))
    (_, one), (_, two) = utterances(events)
    assert two.duration_s == pytest.approx(one.duration_s, abs=0.04)
    assert voiced_extent(two.samples)[0] == pytest.approx(PRE_ROLL_S, abs=0.04)
