"""Benchmark: the round trip of a tool call, from the call parsed to the first token of the model's follow-up.

A real chat store and the conversation core's tool loop on the tiny Gemma 4 (the model forced by a grammar to
call the built-in calculator). For each answer it measures, on one clock:

- from the moment the stream parser hands over the typed call (the ``ToolCall`` event) to the first token of
  the next round, minus the tool's own run time: settling the call, saving it, building the next request
  (history, the round's call and result), rendering and tokenizing it, prefix reuse, evaluating the new tokens,
  sampling the first one;
- of that, the engine's own share: the next round's prompt evaluation and first token (its ``ttft_s``), i.e.
  what llama.cpp itself spends on the new tokens.

Target: the median round trip under 50 ms, printed with the engine's share and our overhead beside it.

    uv run python -m tests.bench.tool_roundtrip [--answers 15]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from app.chat import ChatOptions, ChatSession
from app.chat.tool_loop import ToolLoop
from app.engine.events import (
    AnswerDelta,
    Done,
    LoadRequest,
    SamplingParams,
    Stats,
    ThinkingDelta,
    ToolCall,
)
from app.engine.native_log import init_backend
from app.engine.session import ModelSession
from app.store import Store
from app.tools.tool_settings import ToolSettings
from app.tools.toolbox import ToolBox

TARGET_MS = 50.0


@dataclass
class Trip:
    total_s: float  # call parsed → first token of the follow-up, tool time excluded
    tool_s: float
    engine_s: float  # the follow-up's prompt evaluation and first token, as the engine measured it
    evaluated: int  # tokens the follow-up evaluated (the rest came from the KV cache)


def one_answer(session: ModelSession, chat: ChatSession, toolbox: ToolBox, call_grammar: str, n: int) -> Trip:
    turn = chat.send(f"Question {n}: what is {n} times seven?")
    loop = ToolLoop(chat, turn, ChatOptions(max_tokens=60, sampling=SamplingParams(seed=n)), toolbox, toolbox.offer())
    first = loop.request()
    first = replace(first, sampling=replace(first.sampling, grammar=call_grammar))
    loop.begin(2 * n)
    parsed = 0.0
    for event in session.generate(first, request_id=2 * n):
        loop.feed(event)
        if isinstance(event, ToolCall) and not parsed:
            parsed = time.perf_counter()
    (record,) = loop.take_calls()
    loop.decide(record, "once")
    tool_started = time.perf_counter()
    loop.run(record)
    tool_s = time.perf_counter() - tool_started
    assert record.status == "done", record
    chat.save(loop.recorder.update())
    follow_up = loop.next_request()
    assert follow_up is not None
    follow_up = replace(follow_up, max_tokens=1)
    loop.begin(2 * n + 1)
    first_token = 0.0
    stats = None
    for event in session.generate(follow_up, request_id=2 * n + 1):
        loop.feed(event)
        if not first_token and isinstance(event, AnswerDelta | ThinkingDelta | ToolCall | Done):
            first_token = time.perf_counter()
        if isinstance(event, Stats):
            stats = event.stats
    chat.finish(loop.final())
    assert stats is not None and parsed and first_token
    return Trip(first_token - parsed - tool_s, tool_s, stats.ttft_s, stats.evaluated_tokens)


def call_grammar(session: ModelSession, expression: str) -> str:
    def token(text: str) -> str:
        found = session.model.find_token(text)
        assert found is not None, text
        return f"<[{found}]>"

    quote = token('<|"|>')
    return (
        f'root ::= {token("<|tool_call>")} "call:calculator{{expression:" {quote} "{expression}" {quote} "}}" '
        f"{token('<tool_call|>')}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=15)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    init_backend()
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        session, _ = ModelSession.load(LoadRequest(write_tiny_gemma4(folder / "tiny.gguf"), n_ctx=8192))
        settings = ToolSettings(folder / "tools.json")
        settings.set_enabled(("builtin", "calculator"), True)
        toolbox = ToolBox(settings)
        with Store.open(folder / "chats.sqlite3") as store:
            chat = ChatSession(store)
            chat.new()
            trips = [
                one_answer(session, chat, toolbox, call_grammar(session, f"{n}*7"), n) for n in range(args.answers + 2)
            ][2:]  # the first two warm up
        session.close()

    total = statistics.median(t.total_s for t in trips) * 1000
    engine = statistics.median(t.engine_s for t in trips) * 1000
    tool = statistics.median(t.tool_s for t in trips) * 1000
    evaluated = statistics.median(t.evaluated for t in trips)
    verdict = "PASS" if total < TARGET_MS else "FAIL"
    print(f"\nTiny Gemma 4, a calculator call in each of {len(trips)} answers of one growing chat")
    print(f"  call parsed → first follow-up token : {total:8.1f} ms  (tool time {tool:.2f} ms excluded)")
    print(f"    of which the engine (eval + token) : {engine:8.1f} ms  ({evaluated:,.0f} new tokens evaluated)")
    print(f"    of which Gemma Desk (loop, store…) : {total - engine:8.1f} ms")
    print(
        f"  round trip / target                  : {total / TARGET_MS:8.3f}  target < 1 ({TARGET_MS:.0f} ms)  {verdict}"
    )


if __name__ == "__main__":
    main()
