"""The command line: ``gemma-desk ask`` answers one prompt, ``gemma-desk chat`` a conversation.

``--json`` prints one JSON object per line (``thinking``, ``answer``,
``tool_call``, ``context_trimmed``, ``stats``, ``error``, ``done``) and is a
public interface: change it only by adding fields.

Exit codes: 0 every turn was answered; 1 the model could not be loaded, or a
request failed, or (``chat``) a turn was skipped for a bad attachment (the
conversation goes on; each failure printed its one-line reason); 2 bad
arguments; 130 interrupted with Ctrl-C (one line, at any moment: loading,
reading an attachment, answering, or waiting for the next line).

Input that is not valid UTF-8 (a prompt, a ``chat`` line) is not refused: the
bytes that do not decode become U+FFFD (shown as �) in the text, a notice on
stderr says so, and file paths on the line keep their exact bytes.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import signal
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

from app import __version__
from app.cli_output import JsonOutput, PlainOutput
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

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

Output = JsonOutput | PlainOutput


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        words = self.prog.split()[1:]  # "gemma-desk models download" -> the command after the program name
        sys.stderr.write(f"gemma-desk: {message} (see 'gemma-desk {' '.join([*words, '--help'])}')\n")
        raise SystemExit(EXIT_USAGE)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be greater than zero")
    return value


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", required=True, type=Path, help="a Gemma GGUF file")
    p.add_argument("--mmproj", type=Path, help="the model's vision/audio projector GGUF")
    p.add_argument("--system", help="a system prompt")
    p.add_argument("--think", action="store_true", help="let the model think before answering")
    p.add_argument("--max-tokens", type=_positive_int, help="stop each answer after this many tokens")
    p.add_argument("--ctx", type=_positive_int, help="context size in tokens (default: 8192 or less)")
    p.add_argument("--vision-budget", type=_positive_int, default=280, help="tokens per image, 70 … 1120")
    p.add_argument("--json", action="store_true", help="print one JSON event per line")
    p.add_argument("--threads", type=_positive_int, help="CPU threads (default: all cores)")
    p.add_argument("--gpu-layers", type=int, default=-1, help="layers to offload to the GPU (-1: all)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--top-k", type=int, default=64)
    p.add_argument("--seed", type=int, help="sampling seed, for repeatable answers (-1: a new one each time)")
    p.add_argument("--verbose", action="store_true", help="also print the engine's log")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="gemma-desk",
        description="Gemma Desk: chat with Google's Gemma 4 models on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"gemma-desk {__version__}")
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="print what this machine and build offer (backend, Qt, sound, microphones, cameras, folders)",
    )
    parser.add_argument(
        "--check-model",
        type=Path,
        metavar="GGUF",
        help="with --self-check: also open the window, load this model, ask it one question and render a preview",
    )
    sub = parser.add_subparsers(dest="command")
    ask = sub.add_parser(
        "ask",
        help="answer one prompt from the command line",
        description="Answer one prompt, streaming the model's thinking and answer.",
    )
    ask.add_argument("prompt", nargs="*", help="the prompt ('-' reads it from standard input)")
    _add_model_options(ask)
    ask.add_argument("--image", action="append", type=Path, default=[], help="attach a picture (repeatable)")
    ask.add_argument("--audio", action="append", type=Path, default=[], help="attach a recording (repeatable)")
    ask.add_argument("--video", action="append", type=Path, default=[], help="attach a short video (repeatable)")
    chat = sub.add_parser(
        "chat",
        help="a conversation: one user turn per line of standard input",
        description=(
            "Read one user turn per line from standard input and answer each in turn, keeping the "
            "conversation. A line may attach files: '/image PATH', '/audio PATH', '/video PATH'. "
            "A turn whose attachment cannot be read is skipped (with its reason) and the conversation goes on."
        ),
        epilog=(
            "Exit status: 0 every turn answered; 1 the model failed to load, a turn failed or a turn was skipped; "
            "2 bad arguments; 130 Ctrl-C."
        ),
    )
    _add_model_options(chat)
    from app import cli_models

    cli_models.add_parser(sub)
    return parser


def run(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_check:
        from app.self_check import run as self_check

        return self_check(model=args.check_model)
    if args.command is None:
        from app.ui.app import run_app

        return run_app()
    from app.applog import setup_logging

    setup_logging(verbose=getattr(args, "verbose", False))
    if args.command == "models":
        from app import cli_models

        return cli_models.run(args)
    out: Output = JsonOutput(sys.stdout) if args.json else PlainOutput(sys.stdout, sys.stderr)
    try:
        if args.command == "ask":
            return _ask(args, out)
        chat_input = ChatInput(out, _stdin_bytes())
        code = _session(args, out, chat_input)
        return EXIT_FAILED if code == EXIT_OK and chat_input.skipped else code
    except KeyboardInterrupt:  # Ctrl-C while no request was running: reading input or an attachment
        return out.interrupted(EXIT_INTERRUPTED)


def _ask(args: argparse.Namespace, out: Output) -> int:
    if args.prompt == ["-"]:
        prompt, mangled = readable_text(_stdin_bytes().read().decode("utf-8", "surrogateescape"))
    else:
        prompt, mangled = readable_text(" ".join(args.prompt))
    if mangled:
        out.notice(f"the prompt is not valid UTF-8 text; {_REPLACED}")
    files = [("image", p) for p in args.image] + [("audio", p) for p in args.audio]
    files += [("video", p) for p in args.video]
    if not prompt.strip() and not files:
        return out.fail("The prompt is empty: give a question after the options.", EXIT_USAGE)
    try:
        parts = attachment_parts(files)
    except Exception as exc:  # MediaError: a clear message about the file
        return out.fail(str(exc), EXIT_FAILED)
    return _session(args, out, [(parts, prompt)])


_REPLACED = "its invalid bytes were replaced with \N{REPLACEMENT CHARACTER}."


def readable_text(text: str) -> tuple[str, bool]:
    """``text`` with undecodable bytes (surrogate escapes) turned into U+FFFD, and whether there were any."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
            raw = text.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace"), True
    return text, False


def _stdin_bytes() -> BinaryIO:
    """Standard input as bytes, so that invalid UTF-8 is ours to handle, not the text layer's."""
    if sys.stdin is None:  # started without one (a GUI launcher)
        return io.BytesIO()
    buffer = getattr(sys.stdin, "buffer", None)
    return buffer if buffer is not None else io.BytesIO(sys.stdin.read().encode("utf-8", "surrogateescape"))


def attachment_parts(files: list[tuple[str, Path]]) -> list[Part]:
    """Decode attachments into message parts (raises ``MediaError`` with a clear message)."""
    from app.engine.attachments import audio_parts, image_part, video_parts
    from app.media import load_audio, load_image, load_video

    parts: list[Part] = []
    for kind, path in files:
        if kind == "image":
            parts.append(image_part(load_image(path)))
        elif kind == "audio":
            parts.extend(audio_parts(load_audio(path)))
        else:
            parts.extend(video_parts(load_video(path)))
    return parts


def parse_chat_line(line: str) -> tuple[list[tuple[str, Path]], str]:
    """``/image PATH`` etc. anywhere in the line become attachments; the rest is the text."""
    try:
        words = shlex.split(line)
    except ValueError:  # an unbalanced quote: take the line as it is
        words = line.split()
    files: list[tuple[str, Path]] = []
    text: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("/image", "/audio", "/video") and i + 1 < len(words):
            files.append((word[1:], Path(words[i + 1]).expanduser()))
            i += 2
            continue
        text.append(word)
        i += 1
    return files, " ".join(text)


class ChatInput:
    """``chat``'s turns from a byte stream, one per line; a turn with a bad attachment is skipped and counted."""

    def __init__(self, out: Output, stream: BinaryIO) -> None:
        self.out = out
        self.stream = stream
        self.skipped = 0

    def __iter__(self) -> Iterator[tuple[list[Part], str]]:
        for number, raw in enumerate(self.stream, start=1):
            # Paths keep their exact bytes (surrogate escapes); only the text shown to the model is repaired.
            line = raw.decode("utf-8", "surrogateescape")
            if not line.strip():
                continue
            files, text = parse_chat_line(line)
            text, mangled = readable_text(text)
            if mangled:
                self.out.notice(f"line {number} is not valid UTF-8 text; {_REPLACED}")
            try:
                parts = attachment_parts(files)
            except Exception as exc:  # a bad attachment skips this turn, not the conversation
                self.skipped += 1
                self.out.error(str(exc))
                self.out.done("error")
                continue
            yield parts, text


Turns = Iterable[tuple[list[Part], str]]


def _session(args: argparse.Namespace, out: Output, turns: Turns) -> int:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv[1:]))
