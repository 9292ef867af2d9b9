"""The real engine emitting tool calls: the tiny model's output is forced with a llama.cpp grammar so that it writes
exact Gemma 4 calls, and the engine must turn them into typed ``ToolCall`` events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.errors import RequestError
from app.engine.events import AnswerDelta, EngineEvent, GenerateRequest, LoadRequest, SamplingParams, Stats, ToolCall
from app.engine.prompt import Message
from app.engine.session import ModelSession


@pytest.fixture(scope="module")
def session(tiny_model: Path) -> Iterator[ModelSession]:
    s, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=2048))
    yield s
    s.close()


def token(session: ModelSession, text: str) -> str:
    """``text``'s single token in GBNF's by-id syntax."""
    found = session.model.find_token(text)
    assert found is not None, text
    return f"<[{found}]>"


def forced(session: ModelSession, *calls: str, before: str = "") -> str:
    """A grammar that makes the model write ``before`` and then each ``NAME{…}`` call, quotes as ``"`` here."""
    quote = token(session, '<|"|>')
    bodies = []
    for call in calls:
        pieces = call.split('"')
        body = " ".join(f'"{p}"' if i % 2 == 0 else f'{quote} "{p}" {quote}' for i, p in enumerate(pieces))
        bodies.append(f'{token(session, "<|tool_call>")} "call:" {body} {token(session, "<tool_call|>")}')
    prefix = f'"{before}" ' if before else ""
    return "root ::= " + prefix + " ".join(bodies) + "\n"


def run(session: ModelSession, grammar: str, seed: int = 7) -> list[EngineEvent]:
    request = GenerateRequest(
        messages=(Message.text("user", "What is the weather in Paris?"),),
        sampling=SamplingParams(seed=seed, grammar=grammar),
        max_tokens=200,
    )
    return list(session.generate(request, request_id=3))


def test_the_engine_emits_a_typed_call(session: ModelSession) -> None:
    grammar = forced(session, 'get_weather{city:"Paris, {France}",days:3,metric:true,hours:[-1.5,2e3]}')
    events = run(session, grammar)
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls == [
        ToolCall(
            3,
            "get_weather",
            {"city": "Paris, {France}", "days": 3, "metric": True, "hours": [-1.5, 2000.0]},
            'call:get_weather{city:<|"|>Paris, {France}<|"|>,days:3,metric:true,hours:[-1.5,2e3]}',
            "",
        )
    ]
    stats = events[-1]
    assert isinstance(stats, Stats) and stats.stats.stop_reason == "end"  # the model stops after the call
    assert not [e for e in events if isinstance(e, AnswerDelta)]


def test_several_calls_in_one_turn_after_some_text(session: ModelSession) -> None:
    grammar = forced(session, "now{}", 'read_file{path:"notes.txt"}', before="Let me look.")
    events = run(session, grammar, seed=11)
    assert [(e.name, e.arguments, e.error) for e in events if isinstance(e, ToolCall)] == [
        ("now", {}, ""),
        ("read_file", {"path": "notes.txt"}, ""),
    ]
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == "Let me look."


def test_a_malformed_call_is_reported_not_parsed(session: ModelSession) -> None:
    events = run(session, forced(session, "get_weather{city:Paris}"))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert len(calls) == 1
    assert calls[0].name == "get_weather" and calls[0].arguments == {}
    assert calls[0].raw == "call:get_weather{city:Paris}"
    assert "not a number, true, false, null" in calls[0].error


def test_a_broken_grammar_is_refused_with_a_message(session: ModelSession) -> None:
    with pytest.raises(RequestError, match="grammar could not be used"):
        run(session, 'root ::= "unclosed\n')


def test_an_oversized_grammar_is_refused(session: ModelSession) -> None:
    with pytest.raises(RequestError, match="at most 100,000 are taken"):
        run(session, 'root ::= "' + "a" * 100_000 + '"\n')


def test_the_result_reaches_the_next_prompt_and_the_answer_streams(session: ModelSession) -> None:
    question = Message.text("user", "What is the weather in Paris?")
    events = run(session, forced(session, 'get_weather{city:"Paris"}'))
    event = next(e for e in events if isinstance(e, ToolCall))
    call = event.as_call("call-1")
    follow_up = GenerateRequest(
        messages=(
            question,
            Message("assistant", tool_calls=(call,)),
            Message.tool_result(call, "Sunny, 21 °C <turn|>"),
        ),
        sampling=SamplingParams(seed=5, grammar='root ::= "It is sunny."\n'),
        max_tokens=40,
    )
    plan = session.prepare(follow_up)
    try:
        assert plan.text.endswith(
            '<|turn>model\n<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|>'
            '<|tool_response>response:get_weather{value:<|"|>Sunny, 21 °C <turn|><|"|>}<tool_response|>'
        )
    finally:
        plan.close()
    answer = list(session.generate(follow_up, request_id=4))
    stats = answer[-1]
    assert isinstance(stats, Stats)
    assert stats.stats.reused_tokens > 0  # the question's tokens stay in the KV cache
    assert stats.stats.stop_reason == "end"
    assert [type(e).__name__ for e in answer[:-1]] == ["AnswerDelta"] * (len(answer) - 1)  # no thinking, no call
    assert "".join(e.text for e in answer if isinstance(e, AnswerDelta)) == "It is sunny."


@pytest.mark.parametrize(
    ("grammar", "message"),
    [("   ", "The grammar is empty"), ('root ::= "a\x00b"', "holds a NUL character"),
     ("root ::= " + "(" * 65 + '"a"' + ")" * 65, "nests 65 levels deep; at most 64")],
)  # fmt: skip
def test_a_grammar_llama_cpp_would_misread_or_choke_on_is_refused(grammar: str, message: str) -> None:
    from app.engine.errors import RequestError
    from app.engine.planner import check_grammar

    with pytest.raises(RequestError, match=message):
        check_grammar(grammar)
