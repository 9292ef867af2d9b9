"""``ask`` and ``chat`` against the in-process engine: load the model, then answer each turn through the
conversation core (``app.chat``), which keeps the conversation in a store: the ``--store`` file, or a
temporary one that goes when the command ends. Ctrl-C stops the running answer, a second Ctrl-C quits."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from app.chat import AnswerRecorder, ChatOptions, ChatSession, Turn
from app.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Output
from app.engine import (
    Done,
    Engine,
    EngineEvent,
    EventQueue,
    Failed,
    LoadProgress,
    LoadRequest,
    ModelLoaded,
    SamplingParams,
)
from app.media.intake import PendingAttachment
from app.store import Store, StoreError

Turns = Iterable[tuple[list[PendingAttachment], str]]


def session(args: argparse.Namespace, out: Output, turns: Turns) -> int:
    path: Path | None = getattr(args, "store", None)
    resume: int | None = getattr(args, "resume", None)
    if resume is not None and path is None:
        return out.fail("--continue needs --store FILE: the conversation to continue is kept there.", EXIT_USAGE)
    try:
        with _store(path) as store:
            chat = ChatSession(store)
            _start(chat, args, resume)
            return _run(chat, args, out, turns)
    except StoreError as error:
        return out.fail(str(error), EXIT_FAILED)


@contextlib.contextmanager
def _store(path: Path | None) -> Iterator[Store]:
    """The ``--store`` file (its answers cut off by a killed run recovered first), or a temporary one."""
    if path is not None:
        if path.is_dir():
            raise StoreError(f"{path} is a folder: --store takes the chat database file (made if missing).")
        with Store.open(path) as store:
            store.recover_interrupted()
            yield store
        return
    with (
        tempfile.TemporaryDirectory(prefix="gemma-desk-chat-") as folder,
        Store.open(Path(folder) / "chat.sqlite3", search_index=False, check=False) as store,
    ):
        yield store


def _start(chat: ChatSession, args: argparse.Namespace, resume: int | None) -> None:
    """A new conversation, or (``--continue``) the store's latest one or the one numbered ``resume``."""
    if resume is None:
        chat.new(thinking=args.think, system_prompt=args.system)
        return
    if resume == 0:
        latest = chat.store.list_conversations()
        if not latest:
            raise StoreError(f"There is no conversation in {chat.store.db_path} to continue.")
        resume = latest[0].id
    chat.open(resume)
    chat.set_thinking(resume, args.think)
    if args.system is not None:
        chat.set_system_prompt(resume, args.system)


def _run(chat: ChatSession, args: argparse.Namespace, out: Output, turns: Turns) -> int:
    events = EventQueue()
    engine = Engine(events)
    try:
        with _Interrupts(engine) as interrupts:
            client = _Client(engine, events, interrupts, chat, out)
            model = client.load(args)
            if interrupts.interrupted:
                return out.interrupted(EXIT_INTERRUPTED)
            if model is None:
                return EXIT_FAILED
            return client.converse(turns, model, _options(args))
    finally:
        engine.close()


def _options(args: argparse.Namespace) -> ChatOptions:
    seed = None if args.seed == -1 else args.seed
    sampling = SamplingParams(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, seed=seed)
    return ChatOptions(max_tokens=args.max_tokens, sampling=sampling)


class _Client:
    """The engine, the conversation and the terminal, for one run."""

    def __init__(
        self, engine: Engine, events: EventQueue, interrupts: _Interrupts, chat: ChatSession, out: Output
    ) -> None:
        self.engine = engine
        self.events = events
        self.interrupts = interrupts
        self.chat = chat
        self.out = out

    def load(self, args: argparse.Namespace) -> str | None:
        """Load the model; its name, or None when it failed (each failure printed)."""
        load = LoadRequest(
            model_path=args.model,
            mmproj_path=args.mmproj,
            n_ctx=args.ctx,
            n_gpu_layers=args.gpu_layers,
            n_threads=args.threads,
            vision_budget=args.vision_budget,
        )
        name, failed = "", False
        for event in self.interrupts.follow(self.events, self.engine.load(load)):
            if isinstance(event, LoadProgress):
                self.out.progress(event.fraction)
            elif isinstance(event, ModelLoaded):
                name = event.info.name
                self.out.loaded(event)
            elif isinstance(event, Failed):
                failed = True
                self.out.error(event.message)
        return None if failed else name

    def converse(self, turns: Turns, model: str, options: ChatOptions) -> int:
        """Answer each turn in order; the exit status."""
        any_failed = False
        pending = iter(turns)
        while True:
            with self.interrupts.idle():  # reading the next line and its attachments: Ctrl-C quits at once
                turn = next(pending, None)
            if turn is None:
                break
            attachments, text = turn
            try:
                any_failed |= self.answer(self.chat.send(text, attachments, model=model or None), options)
            except StoreError as error:  # the store cannot be written (disk full): the turn fails, the chat goes on
                self.out.error(str(error))
                self.out.done("error")
                any_failed = True
            if self.interrupts.interrupted:
                return EXIT_INTERRUPTED
        return EXIT_FAILED if any_failed else EXIT_OK

    def answer(self, turn: Turn, options: ChatOptions) -> bool:
        """Answer one turn, printing it and saving it as it goes; whether it failed."""
        try:
            request = self.chat.request_for(turn, options)
        except Exception as exc:  # MediaError: an attachment kept in the conversation no longer decodes
            recorder = AnswerRecorder(turn.answer.id, -1)
            recorder.fail(str(exc))
            self.out.error(str(exc))
            self.out.done("error")
            self.chat.finish(recorder.final("error"))
            return True
        recorder = AnswerRecorder(turn.answer.id, self.engine.generate(request))
        failed = False
        try:
            for event in self.chat.record(recorder, self.interrupts.follow(self.events, recorder.request_id)):
                if isinstance(event, Failed):
                    failed = True
                    self.out.error(event.message)
                elif not isinstance(event, Done):
                    self.out.event(event)
        except StoreError:
            self.engine.stop(recorder.request_id)
            raise
        self.out.done(recorder.stop_reason or "")
        return failed


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
