"""A generation may carry its own event callback: its events, all of them up to its Done, go there."""

from __future__ import annotations

import threading
from pathlib import Path

from app.engine import (
    AnswerDelta,
    Done,
    Engine,
    EngineEvent,
    EventQueue,
    GenerateRequest,
    LoadRequest,
    Message,
    SamplingParams,
    Stats,
)


def _ask(text: str) -> GenerateRequest:
    return GenerateRequest(messages=(Message.text("user", text),), max_tokens=8, sampling=SamplingParams(seed=1))


def test_two_requests_with_their_own_sinks_get_only_their_own_events(tiny_model: Path) -> None:
    default = EventQueue()
    engine = Engine(default)
    try:
        assert list(default.until_done(engine.load(LoadRequest(tiny_model, n_ctx=512)), timeout=60))[-1]
        first, second = EventQueue(), EventQueue()
        a = engine.generate(_ask("hello"), on_event=first)
        b = engine.generate(_ask("again"), on_event=second)
        c = engine.generate(_ask("and the window"))  # no sink of its own: the engine's callback
        got_a = list(first.until_done(a, timeout=60))
        got_b = list(second.until_done(b, timeout=60))
        got_c = list(default.until_done(c, timeout=60))
        for got, rid in ((got_a, a), (got_b, b), (got_c, c)):
            assert {e.request_id for e in got} == {rid}
            assert isinstance(got[-1], Done) and got[-1].stop_reason in ("end", "max_tokens")
            assert any(isinstance(e, Stats) for e in got)
        # Nothing leaked into the other callbacks.
        leftovers: list[EngineEvent] = []
        for q in (first, second, default):
            while True:
                try:
                    leftovers.append(q.get(timeout=0.2))
                except Exception:
                    break
        assert [e for e in leftovers if getattr(e, "request_id", None) in (a, b, c)] == []
    finally:
        engine.close()


def test_a_sink_registered_under_a_racing_submit_sees_every_event(tiny_model: Path) -> None:
    """Many threads submit at once, each with its own sink: every sink gets its request's events, Done last."""
    default = EventQueue()
    engine = Engine(default)
    try:
        list(default.until_done(engine.load(LoadRequest(tiny_model, n_ctx=512)), timeout=60))
        results: dict[int, list[EngineEvent]] = {}
        done = threading.Barrier(7)

        def client(n: int) -> None:
            events: list[EngineEvent] = []
            finished = threading.Event()

            def sink(event: EngineEvent) -> None:
                events.append(event)
                if isinstance(event, Done):
                    finished.set()

            rid = engine.generate(_ask(f"question {n}"), on_event=sink)
            assert finished.wait(120)
            results[rid] = events
            done.wait(120)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        done.wait(180)
        for t in threads:
            t.join(10)
        assert len(results) == 6
        for rid, events in results.items():
            assert all(e.request_id == rid for e in events)
            assert isinstance(events[-1], Done) and sum(isinstance(e, Done) for e in events) == 1
            assert any(isinstance(e, AnswerDelta) for e in events) or events[-1].stop_reason == "end"
    finally:
        engine.close()
