"""``ask`` and ``chat`` against the in-process engine: load the model, then answer each turn, keeping the
conversation; Ctrl-C stops the running answer, a second Ctrl-C quits."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
from collections.abc import Iterable, Iterator
from typing import Any

from app.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Output
from app.engine import (
    AnswerDelta,
    Done,
    Engine,
    EngineEvent,
    EventQueue,
    Failed,
    GenerateRequest,
    LoadProgress,
    LoadRequest,
    Message,
    ModelLoaded,
    Part,
    SamplingParams,
    ThinkingDelta,
)

Turns = Iterable[tuple[list[Part], str]]


def session(args: argparse.Namespace, out: Output, turns: Turns) -> int:
    events = EventQueue()
    engine = Engine(events)
    try:
        with _Interrupts(engine) as interrupts:
            return _converse(engine, events, interrupts, args, out, turns)
    finally:
        engine.close()


def _converse(
    engine: Engine,
    events: EventQueue,
    interrupts: _Interrupts,
    args: argparse.Namespace,
    out: Output,
    turns: Turns,
) -> int:
    load = LoadRequest(
        model_path=args.model,
        mmproj_path=args.mmproj,
        n_ctx=args.ctx,
        n_gpu_layers=args.gpu_layers,
        n_threads=args.threads,
        vision_budget=args.vision_budget,
    )
    failed = False
    for event in interrupts.follow(events, engine.load(load)):
        if isinstance(event, LoadProgress):
            out.progress(event.fraction)
        elif isinstance(event, ModelLoaded):
            out.loaded(event)
        elif isinstance(event, Failed):
            failed = True
            out.error(event.message)
    if interrupts.interrupted:
        return out.interrupted(EXIT_INTERRUPTED)
    if failed:
        return EXIT_FAILED

    history: list[Message] = []
    seed = None if args.seed == -1 else args.seed
    sampling = SamplingParams(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, seed=seed)
    any_failed = False
    pending = iter(turns)
    while True:
        with interrupts.idle():  # reading the next line and its attachments: Ctrl-C quits at once
            turn = next(pending, None)
        if turn is None:
            break
        parts, text = turn
        user = Message("user", (*parts, *([Part("text", text)] if text.strip() else [])))
        request = GenerateRequest(
            messages=(*history, user),
            system=args.system,
            thinking=args.think,
            max_tokens=args.max_tokens,
            sampling=sampling,
        )
        answer, thinking, _stop_reason, failed = _turn(engine, events, interrupts, out, request)
        any_failed |= failed
        if not failed:
            history += [user, Message("assistant", (Part("text", answer),), thinking=thinking)]
        if interrupts.interrupted:
            return EXIT_INTERRUPTED
    return EXIT_FAILED if any_failed else EXIT_OK


def _turn(
    engine: Engine, events: EventQueue, interrupts: _Interrupts, out: Output, request: GenerateRequest
) -> tuple[str, str, str, bool]:
    answer: list[str] = []
    thinking: list[str] = []
    stop_reason, failed = "", False
    for event in interrupts.follow(events, engine.generate(request)):
        if isinstance(event, Failed):
            failed = True
            out.error(event.message)
        elif isinstance(event, Done):
            stop_reason = event.stop_reason
        else:
            if isinstance(event, AnswerDelta):
                answer.append(event.text)
            elif isinstance(event, ThinkingDelta):
                thinking.append(event.text)
            out.event(event)
    out.done(stop_reason)
    return "".join(answer), "".join(thinking), stop_reason, failed


class _Interrupts:
    """Ctrl-C stops the running request (it ends within a token); a second one quits at once.

    Between requests (inside ``idle()``) there is nothing to stop: Ctrl-C raises KeyboardInterrupt there.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.request_id: int | None = None
        self.interrupted = False
        self._idle = False
        self._previous: Any = None

    def _handler(self, _signum: int, _frame: Any) -> None:
        if self.interrupted:
            os._exit(EXIT_INTERRUPTED)
        self.interrupted = True
        if self._idle:
            raise KeyboardInterrupt
        if self.request_id is not None:
            self.engine.stop(self.request_id)

    @contextlib.contextmanager
    def idle(self) -> Iterator[None]:
        if self.interrupted:
            raise KeyboardInterrupt
        self._idle = True
        try:
            yield
        finally:
            self._idle = False

    def __enter__(self) -> _Interrupts:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread (embedded use): no handler
            self._previous = None
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def follow(self, events: EventQueue, request_id: int) -> Iterator[EngineEvent]:
        self.request_id = request_id
        if self.interrupted:
            self.engine.stop(request_id)
        yield from events.until_done(request_id)
