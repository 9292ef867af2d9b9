"""Gemma 4 tool calls: the argument syntax read and written, and whole calls found in a streamed answer."""

from __future__ import annotations

import random
from typing import Any

import pytest

from app.engine.stream_parser import Kind, Parsed, StreamParser
from app.engine.tool_calls import (
    MAX_BODY_CHARS,
    MAX_DEPTH,
    QUOTE,
    ToolCallError,
    format_arguments,
    format_call,
    guess_name,
    parse_tool_call,
)

Q = QUOTE


def q(text: str) -> str:
    return f"{Q}{text}{Q}"


# -- reading every argument type -------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (q("Paris"), "Paris"),
        (q(""), ""),
        (q("a, b: {c} [d] \"e\" 'f'\nsecond line"), "a, b: {c} [d] \"e\" 'f'\nsecond line"),
        (q("<tool_call|> and <|turn> as text"), "<tool_call|> and <|turn> as text"),
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("3.25", 3.25),
        ("-0.5", -0.5),
        ("1e3", 1000.0),
        ("-2.5E-3", -0.0025),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[]", []),
        ("{}", {}),
        (f"[1,{q('two')},false,null,[3]]", [1, "two", False, None, [3]]),
        (f"{{unit:{q('C')},range:{{lo:-5,hi:30.5}}}}", {"unit": "C", "range": {"lo": -5, "hi": 30.5}}),
    ],
)
def test_each_argument_type_is_read(literal: str, value: Any) -> None:
    call = parse_tool_call(f"call:f{{x:{literal}}}")
    assert call.name == "f"
    assert call.arguments == {"x": value}
    assert type(call.arguments["x"]) is type(value)


def test_a_whole_call_with_whitespace_and_many_keys() -> None:
    body = f"\n call:get_weather {{ city : {q('Paris')} ,\n days:3, metric: true ,tags:[ {q('a')} , {q('b')} ] }} \n"
    call = parse_tool_call(body)
    assert call.name == "get_weather"
    assert call.arguments == {"city": "Paris", "days": 3, "metric": True, "tags": ["a", "b"]}
    assert call.raw == body


def test_a_call_without_arguments() -> None:
    assert parse_tool_call("call:now{}").arguments == {}
    assert parse_tool_call("call:now").arguments == {}


def test_names_with_dots_and_dashes() -> None:
    assert parse_tool_call("call:files.read-text_v2{path:1}").name == "files.read-text_v2"


def test_nesting_up_to_the_limit_is_read() -> None:
    deep = "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)
    value: Any = parse_tool_call(f"call:f{{x:{deep}}}").arguments["x"]
    for _ in range(MAX_DEPTH - 2):
        value = value[0]
    assert value == [1]


# -- refusing what is not the syntax ------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"call:f{{x:{Q}open", r"never closed with <\|\"\|>"),
        ("call:f{x:1", "ends too early"),
        ("call:f{x:{y:1}", "ends too early"),
        ("call:f{x:[1,2}", r"expected ',' or '\]'"),
        ("call:f{x:1}}", "unexpected text after the arguments"),
        ("call:f{x:1} and more", "unexpected text after the arguments"),
        ("call:{x:1}", "no tool name"),
        ("call:", "no tool name"),
        ("call:bad/name{x:1}", "not allowed: '/'"),
        ("call:f g{x:1}", "expected '{' after the tool name"),
        ("get_weather{x:1}", "does not start with 'call:'"),
        ("call:f{x:Paris}", "not a number, true, false, null"),
        ("call:f{x:1.2.3}", "not a number"),
        ("call:f{x:01}", "not a number"),
        ("call:f{x}", "expected ':' after the key 'x'"),
        ("call:f{:1}", "expected an argument name"),
        ("call:f{x:}", "expected a value"),
        ("call:f{x:1,x:2}", "given twice"),
        ("call:f{x:1,}", "expected an argument name"),
    ],
)
def test_malformed_calls_are_refused_with_a_one_line_reason(body: str, reason: str) -> None:
    with pytest.raises(ToolCallError, match=reason) as info:
        parse_tool_call(body)
    assert "\n" not in str(info.value)


def test_nesting_past_the_limit_is_refused() -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(ToolCallError, match=f"deeper than {MAX_DEPTH}"):
        parse_tool_call(f"call:f{{x:{deep}}}")
    very_deep = "{a:" * 100_000 + "1" + "}" * 100_000  # never reaches Python's recursion limit
    with pytest.raises(ToolCallError, match="deeper than"):
        parse_tool_call(f"call:f{very_deep}")


def test_a_huge_call_is_refused() -> None:
    with pytest.raises(ToolCallError, match="too long"):
        parse_tool_call(f"call:f{{x:{q('a' * MAX_BODY_CHARS)}}}")


def test_a_newline_in_the_reason_is_escaped() -> None:
    with pytest.raises(ToolCallError, match="unexpected text") as info:
        parse_tool_call("call:f{x:1}\nline two\nline three}")
    assert "\n" not in str(info.value)


def test_the_name_of_a_malformed_call_can_still_be_shown() -> None:
    assert guess_name("call:get_weather{city:Paris}") == "get_weather"
    assert guess_name("call:{") == ""


# -- writing ----------------------------------------------------------------------------

SAMPLES: list[dict[str, Any]] = [
    {},
    {"city": "Paris"},
    {"z": 1, "a": -2.5e-7, "m": True, "n": None, "f": False},
    {"text": 'commas, {braces}, [brackets], colons: "quotes"\nnewlines\ttabs <turn|>'},
    {"nested": {"list": [1, [2, [3, {"deep": "yes"}]], {}], "empty": []}, "big": 10**30},
    {"unicode": "café ☕ 日本", "float": 0.1, "neg": -0.0},
]


@pytest.mark.parametrize("arguments", SAMPLES)
def test_arguments_round_trip(arguments: dict[str, Any]) -> None:
    call = parse_tool_call(format_call("tool_1", arguments))
    assert call.name == "tool_1"
    assert call.arguments == arguments


def test_top_level_keys_are_written_sorted_like_the_template() -> None:
    assert format_arguments({"b": 1, "a": {"y": 2, "x": 3}}) == "{a:{y:2,x:3},b:1}"
    assert format_arguments({"s": "x", "l": [True, None]}) == f"{{l:[true,null],s:{q('x')}}}"


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"x": f"has {Q} inside"}, "cannot be written"),
        ({"x": float("nan")}, "cannot be written"),
        ({"x": object()}, "object cannot be written"),
        ({"bad key": 1}, "cannot be written bare"),
    ],
)
def test_what_the_syntax_cannot_hold_is_refused(arguments: dict[str, Any], reason: str) -> None:
    with pytest.raises(ToolCallError, match=reason):
        format_arguments(arguments)


def test_a_bad_tool_name_is_not_written() -> None:
    with pytest.raises(ToolCallError, match="not a valid tool name"):
        format_call("a b", {})


# -- calls in a streamed answer ------------------------------------------------------------

WEATHER = {"city": "Paris, France", "days": 3, "units": {"temp": "C"}, "alerts": [True, None]}
CLOCK: dict[str, Any] = {}
TURN = (
    "<|channel>thought\nI need two tools.<channel|>Checking."
    f"<|tool_call>{format_call('get_weather', WEATHER)}<tool_call|>"
    f"<|tool_call>{format_call('now', CLOCK)}<tool_call|>"
    "<|tool_call>call:broken{x:<tool_call|>"
)


def run(pieces: list[str]) -> list[Parsed]:
    parser = StreamParser()
    out: list[Parsed] = []
    for piece in pieces:
        out.extend(parser.feed(piece))
    return out + parser.finish()


def summary(events: list[Parsed]) -> list[tuple[str, Any]]:
    """Events as comparable values, with text of one kind joined across pieces."""
    result: list[tuple[str, Any]] = []
    for event in events:
        if event.kind is Kind.TOOL_CALL:
            parsed = (event.call.name, event.call.arguments) if event.call else None
            result.append(("call", (event.text, parsed, event.error)))
        elif result and result[-1][0] == event.kind.value:
            result[-1] = (event.kind.value, result[-1][1] + event.text)
        else:
            result.append((event.kind.value, event.text))
    return result


EXPECTED = [
    ("thinking", "I need two tools."),
    ("answer", "Checking."),
    ("call", (format_call("get_weather", WEATHER), ("get_weather", WEATHER), "")),
    ("call", ("call:now{}", ("now", {}), "")),
    ("call", ("call:broken{x:", None, "the tool call ends too early: expected a value")),
]


def test_several_calls_in_one_turn() -> None:
    assert summary(run([TURN])) == EXPECTED


def test_calls_fed_one_character_at_a_time() -> None:
    assert summary(run(list(TURN))) == EXPECTED


def test_calls_split_at_every_boundary() -> None:
    for cut in range(len(TURN) + 1):
        assert summary(run([TURN[:cut], TURN[cut:]])) == EXPECTED, cut


@pytest.mark.parametrize("seed", range(20))
def test_calls_in_random_chunks(seed: int) -> None:
    rng = random.Random(seed)
    pieces, pos = [], 0
    while pos < len(TURN):
        size = rng.randint(1, 12)
        pieces.append(TURN[pos : pos + size])
        pos += size
    assert summary(run(pieces)) == EXPECTED
