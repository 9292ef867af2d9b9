"""``ask`` and ``chat`` against the in-process engine (``--model``) or a remote OpenAI-compatible server
(``--remote``, ``app.remote``: the same events): load the model (or connect), then answer each turn through the
conversation core (``app.chat``), which keeps the conversation in a store: the ``--store`` file, or a
temporary one that goes when the command ends. With tools (``--tools``, ``--builtin-tools``) each answer runs
through the core's tool loop (``app.chat.tool_loop.drive``). Ctrl-C stops the running answer (also while a
tool runs or the user is asked about a call), a second Ctrl-C quits."""

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
from app.chat.tool_loop import CallEvent, ToolLoop, drive
from app.chat.tool_steps import CallRecord
from app.cli.input import stdin_bytes
from app.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Output
from app.cli.tools import CliTools, ToolsUsageError, stdin_is_terminal
from app.engine import (
    Done,
    Engine,
    EngineEvent,
    EventQueue,
    Failed,
    GenerateRequest,
    LoadProgress,
    LoadRequest,
    ModelLoaded,
    SamplingParams,
    ToolCall,
)
from app.media.intake import PendingAttachment
from app.remote import RemoteConfig, RemoteEngine
from app.settings.preset_book import PresetBook
from app.store import Store, StoreError
from app.tools.consent import ConsentRequest, Decision
from app.tools.toolbox import Picker

Turns = Iterable[tuple[list[PendingAttachment], str]]
#: The in-process engine (``--model``) or a remote server behind the same API (``--remote``).
AnyEngine = Engine | RemoteEngine


def session(args: argparse.Namespace, out: Output, turns: Turns) -> int:
    path: Path | None = getattr(args, "store", None)
    resume: int | None = getattr(args, "resume", None)
    if resume is not None and path is None:
        return out.fail("--continue needs --store FILE: the conversation to continue is kept there.", EXIT_USAGE)
    try:
        tools = CliTools.from_args(args)
    except ToolsUsageError as error:
        return out.fail(str(error), EXIT_USAGE)
    try:
        with _store(path) as store, tools or contextlib.nullcontext():  # the servers stop however the run ends
            chat = ChatSession(store)
            _start(chat, args, resume)
            return _run(chat, args, out, turns, tools)
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
        chat.new(thinking=args.think, system_prompt=args.system, settings=getattr(args, "chat_settings", None))
        return
    if resume == 0:
        latest = chat.store.list_conversations()
        if not latest:
            raise StoreError(f"There is no conversation in {chat.store.db_path} to continue.")
        resume = max(latest, key=lambda c: (c.updated_at, c.id)).id  # the latest, pinned or not (pins list first)
    chat.open(resume)
    chat.set_thinking(resume, args.think)
    if args.system is not None:
        chat.set_system_prompt(resume, args.system)


def _run(chat: ChatSession, args: argparse.Namespace, out: Output, turns: Turns, tools: CliTools | None) -> int:
    events = EventQueue()
    engine: AnyEngine
    if args.remote is not None:
        engine = RemoteEngine(events, RemoteConfig(args.remote, args.api_key, args.remote_model))
    else:
        engine = Engine(events)
    try:
        with _Interrupts(engine) as interrupts:
            if tools is not None:
                with interrupts.idle():  # starting the servers: Ctrl-C quits at once
                    tools.start(out)
            client = _Client(engine, events, interrupts, chat, out, tools)
            model = client.load(args)
            if interrupts.interrupted:
                return out.interrupted(EXIT_INTERRUPTED)
            if model is None:
                return EXIT_FAILED
            return client.converse(turns, model, _options(args))
    finally:
        engine.close()


def apply_preset(args: argparse.Namespace, out: Output) -> int | None:
    """``--preset NAME``: what the options leave unset comes from that preset (the window's presets file, or a
    built-in one). None, or the exit code after saying why not."""
    book = PresetBook.load()
    if book.load_notice:
        out.notice(book.load_notice)
    preset = book.find(args.preset)
    if preset is None:
        return out.fail(
            f"There is no preset called {args.preset!r} (there are: {', '.join(book.names())}).", EXIT_USAGE
        )
    if args.system is None:
        args.system = preset.system_prompt or None
    args.think = args.think or bool(preset.thinking)
    for key, value in preset.sampling.items():
        if getattr(args, key, None) is None:
            setattr(args, key, None if key == "max_tokens" and not value else value)
    args.chat_settings = preset.chat_settings()
    return None


def _options(args: argparse.Namespace) -> ChatOptions:
    seed = None if args.seed in (None, -1) else args.seed
    grammar: str | None = getattr(args, "grammar_text", None)
    given = {k: getattr(args, k, None) for k in ("temperature", "top_p", "top_k", "repeat_penalty")}
    sampling = SamplingParams(**{k: v for k, v in given.items() if v is not None}, seed=seed, grammar=grammar)
    off = getattr(args, "speculative", "auto") == "off"
    return ChatOptions(max_tokens=args.max_tokens, sampling=sampling, speculative="off" if off else "auto")


def _assistant(args: argparse.Namespace) -> Path | None:
    """``--assistant``, else an MTP assistant that fits, found next to the model (none with ``--speculative off``)."""
    given: Path | None = getattr(args, "assistant", None)
    if given is not None or getattr(args, "speculative", "auto") == "off" or args.model is None:
        return given
    from app.models.local import find_assistant

    return find_assistant(Path(args.model))


def load_request(args: argparse.Namespace) -> LoadRequest:
    """The model options every command that loads one shares (``--model``, ``--mmproj``, ``--ctx``, …)."""
    return LoadRequest(
        model_path=args.model,
        mmproj_path=args.mmproj,
        assistant_path=_assistant(args),
        n_ctx=args.ctx,
        n_gpu_layers=args.gpu_layers,
        n_threads=args.threads,
        vision_budget=args.vision_budget,
        cpu_moe_layers=getattr(args, "cpu_moe", 0),
    )


class _Client:
    """The engine, the conversation and the terminal, for one run."""

    def __init__(
        self,
        engine: AnyEngine,
        events: EventQueue,
        interrupts: _Interrupts,
        chat: ChatSession,
        out: Output,
        tools: CliTools | None = None,
    ) -> None:
        self.engine = engine
        self.events = events
        self.interrupts = interrupts
        self.chat = chat
        self.out = out
        self.tools = tools
        self.can_see = False  # the loaded model takes pictures (a tool's pictures are given to it)

    def load(self, args: argparse.Namespace) -> str | None:
        """Load the model (or connect to the remote server); its name, or None when it failed (each failure
        printed)."""
        if isinstance(self.engine, RemoteEngine):
            request_id = self.engine.load()
        else:
            request_id = self.engine.load(load_request(args))
        name, failed = "", False
        for event in self.interrupts.follow(self.events, request_id):
            if isinstance(event, LoadProgress):
                self.out.progress(event.fraction)
            elif isinstance(event, ModelLoaded):
                name = event.info.name
                self.can_see = event.info.has_vision
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
        if self.tools is not None and self.tools.offer:
            return self.answer_with_tools(turn, options, self.tools)
        try:
            request = self.chat.request_for(turn, options)
        except Exception as exc:  # MediaError: an attachment kept in the conversation no longer decodes
            return self._unsendable(turn, exc)
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

    def _unsendable(self, turn: Turn, error: Exception) -> bool:
        """The turn's request could not be made (an attachment no longer decodes): the answer fails with why."""
        recorder = AnswerRecorder(turn.answer.id, -1)
        recorder.fail(str(error))
        self.out.error(str(error))
        self.out.done("error")
        self.chat.finish(recorder.final("error"))
        return True

    def answer_with_tools(self, turn: Turn, options: ChatOptions, tools: CliTools) -> bool:
        """Answer one turn through the tool loop: each call is shown, allowed or asked about, run, and its
        result given back to the model, until the model answers; whether it failed."""
        loop = _Loop(self.chat, turn, options, tools.toolbox, tools.offer, limit=tools.limit, can_see=self.can_see)
        loop.interrupts = self.interrupts
        consent = tools.consent(self.out, stdin_is_terminal(), stdin_bytes())
        calls = _CallsShown(self.out)
        started, failed, reason = False, False, ""

        def generate(request: GenerateRequest) -> tuple[int, Iterator[EngineEvent]]:
            nonlocal started
            started = True
            request_id = self.engine.generate(request)
            return request_id, self.interrupts.follow(self.events, request_id)

        def ask(request: ConsentRequest) -> Decision:
            with self.interrupts.idle():  # waiting for the user: Ctrl-C stops the answer
                return consent(request)

        try:
            for event in drive(loop, generate, ask):
                if isinstance(event, CallEvent):
                    calls.show(event.record)
                elif isinstance(event, Failed):
                    failed = True
                    self.out.error(event.message)
                elif isinstance(event, Done):
                    reason = event.stop_reason
                elif not isinstance(event, ToolCall):  # a call is shown once it is a record (tool_call)
                    self.out.event(event)
        except KeyboardInterrupt:  # Ctrl-C while a tool ran or the user was asked: the loop stopped and saved
            reason = "stopped"
        except StoreError:
            if self.interrupts.request_id is not None:
                self.engine.stop(self.interrupts.request_id)
            raise
        except Exception as exc:  # MediaError: a request could not be made (the answer is saved by now if started)
            if not started:
                return self._unsendable(turn, exc)
            failed, reason = True, "error"
            self.out.error(str(exc))
        calls.settle(loop)
        self.out.done("stopped" if loop.stopped else reason or "end")
        return failed


class _Loop(ToolLoop):
    """The tool loop with the tool run where Ctrl-C reaches it (the answer stops, the tool's result is dropped),
    and every call put to the consent callable, which applies --allow and this run's answers. A conversation's
    permissions given in the window (``--store`` with ``--continue``) do not carry over: ``--tools`` may name
    other servers under the same names."""

    interrupts: _Interrupts

    def consent_needed(self, record: CallRecord) -> ConsentRequest | None:
        tool = self.tool_for(record)
        if tool is None or record.finished:
            return None
        return ConsentRequest(record.id, tool, record.arguments)

    def run(self, record: CallRecord, pick: Picker | None = None) -> CallRecord:
        with self.interrupts.idle():
            return super().run(record, pick)


class _CallsShown:
    """Each call printed once as it appears (``tool_call``) and once settled (``tool_result``)."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.open: dict[str, CallRecord] = {}
        self.seen: set[str] = set()

    def show(self, record: CallRecord) -> None:
        if record.id not in self.seen:
            self.seen.add(record.id)
            self.open[record.id] = record
            self.out.tool_call(record)
        if record.status == "running":
            self.out.tool_running(record)
        elif record.finished and self.open.pop(record.id, None) is not None:
            self.out.tool_result(record)

    def settle(self, loop: ToolLoop) -> None:
        """Calls the answer's end settled (stopped, when Ctrl-C came) without an event of their own: as kept."""
        for step in loop.recorder.steps:
            for record in step.calls:
                if record.id in self.open and record.finished:
                    self.show(record)


class _Interrupts:
    """Ctrl-C stops the running request (it ends within a token); a second one quits at once.

    Between requests (inside ``idle()``: reading input, starting tool servers, asking about a tool call, running
    a tool) there is no request to stop: Ctrl-C raises KeyboardInterrupt there.
    """

    def __init__(self, engine: AnyEngine) -> None:
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
