"""The stream parser separates Gemma 4's thought channel, answer and tool calls."""

from __future__ import annotations

import pytest

from app.engine.stream_parser import Kind, Parsed, StreamParser


def run(pieces: list[str]) -> list[Parsed]:
    parser = StreamParser()
    out: list[Parsed] = []
    for piece in pieces:
        out.extend(parser.feed(piece))
    out.extend(parser.finish())
    return out


def joined(events: list[Parsed], kind: Kind) -> str:
    return "".join(e.text for e in events if e.kind is kind)


FULL = "<|channel>thought\nThe user greets me.\nI should greet back.<channel|>Hello! How can I help?"


def test_thinking_then_answer() -> None:
    events = run([FULL])
    assert joined(events, Kind.THINKING) == "The user greets me.\nI should greet back."
    assert joined(events, Kind.ANSWER) == "Hello! How can I help?"
    # thinking comes first, and answer text never appears inside thinking
    assert events[0].kind is Kind.THINKING


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_markers_split_across_pieces(size: int) -> None:
    pieces = [FULL[i : i + size] for i in range(0, len(FULL), size)]
    events = run(pieces)
    assert joined(events, Kind.THINKING) == "The user greets me.\nI should greet back."
    assert joined(events, Kind.ANSWER) == "Hello! How can I help?"
    assert all("channel" not in e.text for e in events)


def test_every_split_point_of_the_close_marker() -> None:
    text = "<|channel>thought\nabc<channel|>xyz"
    for cut in range(len(text) + 1):
        events = run([text[:cut], text[cut:]])
        assert joined(events, Kind.THINKING) == "abc", cut
        assert joined(events, Kind.ANSWER) == "xyz", cut


def test_partial_marker_is_held_back_until_resolved() -> None:
    parser = StreamParser()
    assert joined(parser.feed("Hi <|chan"), Kind.ANSWER) == "Hi "
    # "<|chan" could still become "<|channel>", so it is not shown yet
    events = parser.feed("ge>")
    assert joined(events, Kind.ANSWER) == "<|change>"


def test_thought_never_closed_is_still_thinking() -> None:
    events = run(["<|channel>thought\n", "I am still ", "thinking when the limit hit"])
    assert joined(events, Kind.THINKING) == "I am still thinking when the limit hit"
    assert joined(events, Kind.ANSWER) == ""


def test_thinking_off_prefilled_empty_channel() -> None:
    # With thinking off the template pre-fills "<|channel>thought\n<channel|>" in the
    # prompt, so the model's output is the answer alone.
    events = run(["The answer", " is 42."])
    assert joined(events, Kind.ANSWER) == "The answer is 42."
    assert joined(events, Kind.THINKING) == ""


def test_model_that_writes_an_empty_channel_itself() -> None:
    events = run(["<|channel>thought\n<channel|>", "Just the answer."])
    assert joined(events, Kind.ANSWER) == "Just the answer."
    assert joined(events, Kind.THINKING) == ""


def test_plain_answer_from_a_model_without_channels() -> None:
    text = "A plain answer with < and > and <b>tags</b> and a trailing <"
    events = run([text[i : i + 4] for i in range(0, len(text), 4)])
    assert joined(events, Kind.ANSWER) == text


def test_tool_call() -> None:
    events = run(["Let me check.", "<|tool_call>call:get_weather{city:", '<|"|>Paris<|"|>}<tool_call|>'])
    calls = [e for e in events if e.kind is Kind.TOOL_CALL]
    assert len(calls) == 1
    assert calls[0].call is not None and calls[0].call.name == "get_weather"
    assert calls[0].call.arguments == {"city": "Paris"}
    assert calls[0].text == 'call:get_weather{city:<|"|>Paris<|"|>}'
    assert joined(events, Kind.ANSWER) == "Let me check."


def test_unclosed_tool_call_is_kept_as_text() -> None:
    events = run(["<|tool_call>call:f{x:1"])
    assert joined(events, Kind.ANSWER) == "<|tool_call>call:f{x:1"


def test_answer_leading_whitespace_after_channel_is_trimmed() -> None:
    events = run(["<|channel>thought\nhm<channel|>\n\nAnswer"])
    assert joined(events, Kind.ANSWER) == "Answer"


def test_other_channels_are_not_shown_as_answer() -> None:
    events = run(["<|channel>analysis\nsecret<channel|>visible"])
    assert joined(events, Kind.ANSWER) == "visible"
    assert "secret" not in joined(events, Kind.THINKING) + joined(events, Kind.ANSWER)


def test_prime_with_a_prefilled_empty_channel_starts_in_the_answer() -> None:
    parser = StreamParser()
    parser.prime("<|channel>thought\n<channel|>")
    events = parser.feed("Answer.") + parser.finish()
    assert joined(events, Kind.ANSWER) == "Answer." and not joined(events, Kind.THINKING)


def test_prime_with_an_open_thought_channel_starts_thinking() -> None:
    parser = StreamParser()
    parser.prime("<|channel>thought\n")
    events = parser.feed("Let me see.<channel|>Forty-two.") + parser.finish()
    assert joined(events, Kind.THINKING) == "Let me see."
    assert joined(events, Kind.ANSWER) == "Forty-two."
