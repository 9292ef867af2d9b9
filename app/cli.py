"""The command line: ``gemma-desk ask`` answers one prompt, streaming, without a window.

``--json`` prints one JSON object per line (``thinking``, ``answer``,
``tool_call``, ``stats``, ``error``, ``done``) and is a public interface:
change it only by adding fields. Exit codes: 0 done, 1 the request failed,
2 bad arguments, 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn, TextIO

from app import __version__
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
    SamplingParams,
    Stats,
    ThinkingDelta,
    ToolCall,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_DIM, _RESET = "\x1b[2m", "\x1b[0m"
THINKING_PREFIX = "│ "


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        sys.stderr.write(f"gemma-desk: {message} (see 'gemma-desk {self.prog.split()[-1]} --help')\n")
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="gemma-desk",
        description="Gemma Desk: chat with Google's Gemma 4 models on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"gemma-desk {__version__}")
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser(
        "ask",
        help="answer one prompt from the command line",
        description="Answer one prompt, streaming the model's thinking and answer.",
    )
    ask.add_argument("prompt", nargs="*", help="the prompt ('-' reads it from standard input)")
    ask.add_argument("--model", "-m", required=True, type=Path, help="a Gemma GGUF file")
    ask.add_argument("--mmproj", type=Path, help="the model's vision/audio projector GGUF")
    ask.add_argument("--system", help="a system prompt")
    ask.add_argument("--think", action="store_true", help="let the model think before answering")
    ask.add_argument("--max-tokens", type=_positive_int, help="stop after this many tokens")
    ask.add_argument("--ctx", type=_positive_int, help="context size in tokens (default: 8192 or less)")
    ask.add_argument("--json", action="store_true", help="print one JSON event per line")
    ask.add_argument("--threads", type=_positive_int, help="CPU threads (default: all cores)")
    ask.add_argument("--gpu-layers", type=int, default=-1, help="layers to offload to the GPU (-1: all)")
    ask.add_argument("--temperature", type=float, default=1.0)
    ask.add_argument("--top-p", type=float, default=0.95)
    ask.add_argument("--top-k", type=int, default=64)
    ask.add_argument("--seed", type=int, help="sampling seed, for repeatable answers")
    ask.add_argument("--verbose", action="store_true", help="also print the engine's log")
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be greater than zero")
    return value


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        print(
            "\nThe window is not built yet; until then, ask from the command line:\n"
            '  gemma-desk ask --model gemma-4-E2B-it-Q4_K_M.gguf --think "Why is the sky blue?"'
        )
        return EXIT_OK
    if args.command == "ask":
        return _ask(args)
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


def _read_prompt(args: argparse.Namespace) -> str:
    if args.prompt == ["-"]:
        return sys.stdin.read()
    return " ".join(args.prompt)


def _ask(args: argparse.Namespace) -> int:
    from app.applog import setup_logging

    setup_logging(verbose=args.verbose)
    prompt = _read_prompt(args)
    out = _JsonOutput(sys.stdout) if args.json else _PlainOutput(sys.stdout, sys.stderr)
    if not prompt.strip():
        return out.fail("The prompt is empty: give a question after the options.", EXIT_USAGE)

    events = EventQueue()
    engine = Engine(events)
    try:
        with _Interrupts(engine) as interrupts:
            return _ask_with(engine, events, interrupts, args, prompt, out)
    finally:
        engine.close()


def _ask_with(
    engine: Engine,
    events: EventQueue,
    interrupts: _Interrupts,
    args: argparse.Namespace,
    prompt: str,
    out: _JsonOutput | _PlainOutput,
) -> int:
    load_id = engine.load(
        LoadRequest(
            model_path=args.model,
            mmproj_path=args.mmproj,
            n_ctx=args.ctx,
            n_gpu_layers=args.gpu_layers,
            n_threads=args.threads,
        )
    )
    failed = False
    for event in interrupts.follow(events, load_id):
        if isinstance(event, LoadProgress):
            out.progress(event.fraction)
        elif isinstance(event, ModelLoaded):
            out.loaded(event)
        elif isinstance(event, Failed):
            failed = True
            out.error(event.message)
    if interrupts.interrupted:
        out.done("stopped")
        return EXIT_INTERRUPTED
    if failed:
        return EXIT_FAILED

    request = GenerateRequest(
        messages=(Message.text("user", prompt),),
        system=args.system,
        thinking=args.think,
        max_tokens=args.max_tokens,
        sampling=SamplingParams(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, seed=args.seed),
    )
    gen_id = engine.generate(request)
    stop_reason = ""
    for event in interrupts.follow(events, gen_id):
        if isinstance(event, Failed):
            failed = True
            out.error(event.message)
        elif isinstance(event, Done):
            stop_reason = event.stop_reason
        else:
            out.event(event)
    out.done(stop_reason)
    if interrupts.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


class _Interrupts:
    """Ctrl-C stops the running request (it ends within a token); a second one quits at once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.request_id: int | None = None
        self.interrupted = False
        self._previous: Any = None

    def _handler(self, _signum: int, _frame: Any) -> None:
        if self.interrupted:
            os._exit(EXIT_INTERRUPTED)
        self.interrupted = True
        if self.request_id is not None:
            self.engine.stop(self.request_id)

    def __enter__(self) -> _Interrupts:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread (embedded use): no handler
            self._previous = None
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def follow(self, events: EventQueue, request_id: int) -> Any:
        self.request_id = request_id
        if self.interrupted:
            self.engine.stop(request_id)
        yield from events.until_done(request_id)


class _JsonOutput:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _write(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.stream.flush()

    def progress(self, fraction: float) -> None:
        pass

    def loaded(self, event: ModelLoaded) -> None:
        if event.notice:
            sys.stderr.write(f"gemma-desk: notice: {event.notice}\n")

    def event(self, event: EngineEvent) -> None:
        if isinstance(event, ThinkingDelta):
            self._write({"type": "thinking", "text": event.text})
        elif isinstance(event, AnswerDelta):
            self._write({"type": "answer", "text": event.text})
        elif isinstance(event, ToolCall):
            self._write({"type": "tool_call", "name": event.name, "arguments": event.arguments})
        elif isinstance(event, Stats):
            self._write({"type": "stats", **event.stats.as_dict()})

    def error(self, message: str) -> None:
        self._write({"type": "error", "message": message})
        sys.stderr.write(f"gemma-desk: {message}\n")

    def fail(self, message: str, code: int) -> int:
        self.error(message)
        self.done("error")
        return code

    def done(self, stop_reason: str) -> None:
        self._write({"type": "done", "stop_reason": stop_reason})


class _PlainOutput:
    def __init__(self, stream: TextIO, err: TextIO) -> None:
        self.stream = stream
        self.err = err
        self.tty = stream.isatty()
        self._mode = ""  # "thinking" or "answer"
        self._line_start = True
        self._stats: Stats | None = None

    def progress(self, fraction: float) -> None:
        if self.err.isatty():
            self.err.write(f"\rLoading model… {fraction * 100:3.0f}%")
            if fraction >= 1.0:
                self.err.write("\r\x1b[K")
            self.err.flush()

    def loaded(self, event: ModelLoaded) -> None:
        if event.notice:
            self.err.write(f"Notice: {event.notice}\n")
            self.err.flush()

    def event(self, event: EngineEvent) -> None:
        if isinstance(event, ThinkingDelta):
            if self._mode != "thinking":
                self._mode = "thinking"
            self._thinking(event.text)
        elif isinstance(event, AnswerDelta):
            if self._mode == "thinking":
                self._write(("" if self._line_start else "\n") + "\n")
                self._line_start = True
            self._mode = "answer"
            self._write(event.text)
            self._line_start = event.text.endswith("\n")
        elif isinstance(event, ToolCall):
            self._write(f"\n[tool call] {event.name}{event.arguments}\n")
        elif isinstance(event, Stats):
            self._stats = event

    def _thinking(self, text: str) -> None:
        pieces = []
        for ch_line in text.splitlines(keepends=True):
            if self._line_start:
                pieces.append(THINKING_PREFIX)
            pieces.append(ch_line)
            self._line_start = ch_line.endswith("\n")
        body = "".join(pieces)
        self._write(f"{_DIM}{body}{_RESET}" if self.tty else body)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def error(self, message: str) -> None:
        if not self._line_start:
            self._write("\n")
            self._line_start = True
        self.err.write(f"gemma-desk: {message}\n")
        self.err.flush()

    def fail(self, message: str, code: int) -> int:
        self.error(message)
        return code

    def done(self, stop_reason: str) -> None:
        if not self._line_start:
            self._write("\n")
            self._line_start = True
        if self._stats is not None:
            s = self._stats.stats
            note = {
                "max_tokens": ", stopped at --max-tokens",
                "context_full": ", context full",
                "stopped": ", interrupted",
            }.get(stop_reason, "")
            self.err.write(
                f"[{s.completion_tokens} tokens, {s.decode_tps:.1f} tok/s, "
                f"first token {s.ttft_s:.2f} s, {s.backend}{note}]\n"
            )
            self.err.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv[1:]))
