"""One streaming answer: engine events in, its text, timing, ending and the store's updates out."""

from __future__ import annotations

import pytest

from app.chat import AnswerRecorder
from app.engine import AnswerDelta, ContextTrimmed, Done, Failed, GenerationStats, Stats, ThinkingDelta


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_events_of_another_request_change_nothing(clock: Clock) -> None:
    recorder = AnswerRecorder(5, request_id=2, clock=clock)
    assert not recorder.feed(AnswerDelta(3, "late token of a stopped answer"))
    assert not recorder.feed(Done(3, "stopped"))
    assert recorder.feed(AnswerDelta(2, "Hello"))
    assert (recorder.answer, recorder.done) == ("Hello", False)


def test_text_thinking_time_and_the_last_update(clock: Clock) -> None:
    recorder = AnswerRecorder(5, request_id=2, clock=clock)
    for event in (ThinkingDelta(2, "Let me "), ThinkingDelta(2, "think.")):
        recorder.feed(event)
    clock.now += 1.5
    assert recorder.thinking_seconds == 1.5  # still thinking: it counts on
    clock.now += 1.0
    recorder.feed(AnswerDelta(2, "It is "))
    clock.now += 3.0
    recorder.feed(AnswerDelta(2, "blue."))
    stats = GenerationStats(completion_tokens=9, stop_reason="end")
    recorder.feed(Stats(2, stats))
    recorder.feed(Done(2, "end"))
    update = recorder.final()
    assert (update.message_id, update.content, update.thinking) == (5, "It is blue.", "Let me think.")
    assert update.thinking_seconds == 2.5  # until the answer began
    assert (update.status, update.error, update.stats) == ("complete", None, stats.as_dict())


def test_an_answer_without_thinking_has_no_thinking_time(clock: Clock) -> None:
    recorder = AnswerRecorder(5, request_id=2, clock=clock)
    recorder.feed(AnswerDelta(2, "Hi"))
    assert recorder.update().thinking_seconds is None


def test_saves_come_at_least_every_half_second_while_the_answer_grows(clock: Clock) -> None:
    recorder = AnswerRecorder(5, request_id=2, clock=clock)
    recorder.feed(AnswerDelta(2, "a"))
    clock.now += 0.4
    assert not recorder.save_due()
    clock.now += 0.1
    assert recorder.save_due()
    assert recorder.update().content == "a" and recorder.update().status is None  # streaming still
    clock.now += 5
    assert not recorder.save_due()  # nothing new since
    recorder.feed(ThinkingDelta(2, "b"))
    assert recorder.save_due()


@pytest.mark.parametrize(
    ("events", "ending", "status", "error"),
    [
        ([Done(2, "max_tokens")], "complete", "complete", None),
        ([Done(2, "stopped")], "stopped", "stopped", None),
        ([Done(2, "context_full")], "context_full", "complete", None),
        (
            [Failed(2, "The model ran out of memory."), Done(2, "error")],
            "error",
            "error",
            "The model ran out of memory.",
        ),
        ([Done(2, "error")], "error", "error", None),
        (  # a remote server's stream broke off mid-answer: the text so far is kept as stopped, with why
            [Failed(2, "The server stopped in the middle of the answer."), Done(2, "stopped")],
            "stopped",
            "stopped",
            "The server stopped in the middle of the answer.",
        ),
    ],
)
def test_how_the_answer_ended(
    clock: Clock, events: list[Done | Failed], ending: str, status: str, error: str | None
) -> None:
    recorder = AnswerRecorder(5, request_id=2, clock=clock)
    recorder.feed(AnswerDelta(2, "part"))
    for event in events:
        recorder.feed(event)
    assert recorder.ending() == ending
    update = recorder.final()
    assert (update.status, update.error, update.content) == (status, error, "part")


def test_a_trimmed_context_is_kept_for_the_client_to_tell(clock: Clock) -> None:
    recorder = AnswerRecorder(5, request_id=2, clock=clock)
    event = ContextTrimmed(2, dropped_messages=4, prompt_tokens=900, n_ctx=1024)
    recorder.feed(event)
    assert recorder.trimmed == event
