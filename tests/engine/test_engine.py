"""The engine's worker thread: requests in, typed events out, every request ends with Done."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine import (
    AnswerDelta,
    Done,
    Engine,
    EventQueue,
    Failed,
    GenerateRequest,
    LoadProgress,
    LoadRequest,
    Message,
    ModelLoaded,
    SamplingParams,
    Stats,
)


@pytest.fixture()
def engine() -> Iterator[tuple[Engine, EventQueue]]:
    events = EventQueue()
    eng = Engine(events)
    yield eng, events
    eng.close()


def ask(text: str, max_tokens: int | None = 16) -> GenerateRequest:
    return GenerateRequest(
        messages=(Message.text("user", text),), max_tokens=max_tokens, sampling=SamplingParams(seed=3)
    )


def test_load_then_generate_on_the_worker_thread(engine: tuple[Engine, EventQueue], tiny_model: Path) -> None:
    eng, events = engine
    threads: set[str] = set()

    rid = eng.load(LoadRequest(tiny_model, n_ctx=512))
    load_events = list(events.until_done(rid, timeout=30))
    assert isinstance(load_events[-1], Done) and load_events[-1].stop_reason == "loaded"
    assert any(isinstance(e, LoadProgress) for e in load_events)
    loaded = next(e for e in load_events if isinstance(e, ModelLoaded))
    assert loaded.info.n_ctx == 512
    assert eng.model_info is not None and eng.model_info.architecture == "gemma4"

    original = events.__call__

    def spy(event: object) -> None:
        threads.add(threading.current_thread().name)
        original(event)  # type: ignore[arg-type]

    eng._on_event = spy  # observe which thread emits
    gid = eng.generate(ask("Hi"))
    gen_events = list(events.until_done(gid, timeout=30))
    assert threads == {"gemma-engine"}
    assert any(isinstance(e, AnswerDelta) for e in gen_events)
    assert isinstance(gen_events[-2], Stats)
    assert gen_events[-1] == Done(gid, "max_tokens")


def test_generate_without_a_model_fails_clearly(engine: tuple[Engine, EventQueue]) -> None:
    eng, events = engine
    gid = eng.generate(ask("Hi"))
    evs = list(events.until_done(gid, timeout=10))
    assert isinstance(evs[0], Failed) and "No model is loaded" in evs[0].message
    assert evs[-1] == Done(gid, "error")


def test_stop_mid_answer_keeps_what_was_written(engine: tuple[Engine, EventQueue], tiny_model: Path) -> None:
    eng, events = engine
    list(events.until_done(eng.load(LoadRequest(tiny_model, n_ctx=4096)), timeout=30))
    gid = eng.generate(ask("Talk", max_tokens=4000))
    pieces = 0
    seen: list[object] = []
    for event in events.until_done(gid, timeout=30):
        seen.append(event)
        if isinstance(event, AnswerDelta):
            pieces += 1
            if pieces == 3:
                eng.stop(gid)
    stats = next(e for e in seen if isinstance(e, Stats)).stats
    assert stats.stop_reason == "stopped"
    assert 3 <= stats.completion_tokens <= 40  # stopped long before 4000
    assert seen[-1] == Done(gid, "stopped")


def test_a_stopped_queued_request_never_runs(engine: tuple[Engine, EventQueue], tiny_model: Path) -> None:
    eng, events = engine
    lid = eng.load(LoadRequest(tiny_model, n_ctx=512))
    gid = eng.generate(ask("Hi"))
    eng.stop(gid)
    list(events.until_done(lid, timeout=30))
    assert list(events.until_done(gid, timeout=10)) == [Done(gid, "stopped")]


def test_bad_model_file_is_an_event_not_an_exception(engine: tuple[Engine, EventQueue], tmp_path: Path) -> None:
    eng, events = engine
    bad = tmp_path / "bad.gguf"
    bad.write_text("not a model")
    rid = eng.load(LoadRequest(bad))
    evs = list(events.until_done(rid, timeout=10))
    assert isinstance(evs[0], Failed) and "not a GGUF" in evs[0].message
    assert evs[0].kind == "ModelFileError"
    assert evs[-1] == Done(rid, "error")


def test_a_broken_client_callback_does_not_kill_the_engine(tiny_model: Path) -> None:
    events = EventQueue()
    calls = {"n": 0}

    def flaky(event: object) -> None:
        calls["n"] += 1
        if isinstance(event, LoadProgress):
            raise RuntimeError("client bug")
        events(event)  # type: ignore[arg-type]

    eng = Engine(flaky)
    try:
        rid = eng.load(LoadRequest(tiny_model, n_ctx=256))
        assert list(events.until_done(rid, timeout=30))[-1] == Done(rid, "loaded")
    finally:
        eng.close()


def test_close_while_generating_returns_promptly(tiny_model: Path) -> None:
    events = EventQueue()
    eng = Engine(events)
    t0 = time.monotonic()
    list(events.until_done(eng.load(LoadRequest(tiny_model, n_ctx=4096)), timeout=30))
    load_s = time.monotonic() - t0
    t0 = time.monotonic()
    gid = eng.generate(ask("Talk", max_tokens=None))
    answer = events.until_done(gid, timeout=30)
    deltas = 0
    while deltas < 20:
        deltas += isinstance(next(answer), AnswerDelta)
    token_s = (time.monotonic() - t0) / 20  # one token (prompt included), timed on this machine right now
    t0 = time.monotonic()
    eng.close(timeout=30)
    close_s = time.monotonic() - t0
    assert not eng._thread.is_alive()
    # it stops within a token or so and then frees the model, which costs less than loading it did
    assert close_s < 2 * load_s + 50 * token_s + 0.5, (close_s, load_s, token_s)
    assert list(answer)[-1] == Done(gid, "stopped")  # the answer ends as stopped, not cut off silently


def test_measure_attachments_before_sending(
    engine: tuple[Engine, EventQueue], tiny_model: Path, tiny_mmproj: Path
) -> None:
    import numpy as np

    from app.engine import MediaCost
    from app.engine.attachments import audio_parts, image_part
    from app.media import audio_from_samples, image_from_array

    eng, events = engine
    list(events.until_done(eng.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=1024)), timeout=30))
    picture = image_part(image_from_array(np.full((150, 200, 3), 90, dtype=np.uint8), name="p.png"))
    clip = audio_parts(audio_from_samples(np.zeros(32000, dtype=np.float32), 16000))
    rid = eng.measure([picture, *clip])
    evs = list(events.until_done(rid, timeout=30))
    cost = next(e for e in evs if isinstance(e, MediaCost))
    assert cost.costs == ((picture.media_id, 80), (clip[0].media_id, 50))
    assert evs[-1] == Done(rid, "measured")
