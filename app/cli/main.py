"""The command line: ``gemma-desk ask`` answers one prompt, ``gemma-desk chat`` a conversation,
``gemma-desk serve`` answers OpenAI-compatible requests (``app.cli.serve``).

``--json`` prints one JSON object per line (``thinking``, ``answer``,
``tool_call``, ``tool_result``, ``context_trimmed``, ``stats``, ``error``, ``done``) and is a
public interface: change it only by adding fields.

Exit codes: 0 every turn was answered; 1 the model could not be loaded, or a
request failed, or (``chat``) a turn was skipped for a bad attachment (the
conversation goes on; each failure printed its one-line reason); 2 bad
arguments; 130 interrupted with Ctrl-C (one line, at any moment: loading,
reading an attachment, answering, or waiting for the next line).

``ask --speak`` also reads the answer aloud (``app.cli.speak``) and ends when the voice has finished. Speech
is an extra: on a machine without a speech engine a notice on stderr says what to install, the answer is
printed as usual and the exit status is the answer's (0), so scripts do not break; Ctrl-C while it reads
exits 130.

Input that is not valid UTF-8 (a prompt, a ``chat`` line) is not refused: the
bytes that do not decode become U+FFFD (shown as �) in the text, a notice on
stderr says so, and file paths on the line keep their exact bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from app import __version__
from app.chat.tool_loop import DEFAULT_CALL_LIMIT
from app.cli.chat import apply_preset, session
from app.cli.input import REPLACED, ChatInput, load_attachments, readable_text, stdin_bytes
from app.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, JsonOutput, Output, PlainOutput


class _ArgumentParser(argparse.ArgumentParser):
    commands: tuple[str, ...] = ()  # the top-level parser's commands (ask, chat, models)

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


def _add_sampling_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--temperature", type=float, help="how varied the wording is (default 1.0, or the preset's)")
    p.add_argument("--top-p", type=float, help="default 0.95, or the preset's")
    p.add_argument("--top-k", type=int, help="default 64, or the preset's")
    p.add_argument("--seed", type=int, help="sampling seed, for repeatable answers (-1: a new one each time)")
    p.add_argument(
        "--speculative",
        choices=("auto", "off"),
        default="auto",
        help="draft ahead (Gemma 4's MTP assistant, or the conversation's own text) while it measures faster",
    )


def _add_model_options(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", "-m", type=Path, help="a Gemma GGUF file")
    source.add_argument(
        "--remote",
        metavar="URL",
        help="chat through an OpenAI-compatible server instead (llama-server, vLLM, Ollama, gemma-desk serve), "
        "e.g. http://gpu-box:8080/v1",
    )
    p.add_argument(
        "--api-key",
        default=os.environ.get("GEMMA_DESK_API_KEY", ""),
        metavar="KEY",
        help="with --remote: the server's API key (default: $GEMMA_DESK_API_KEY)",
    )
    p.add_argument(
        "--remote-model",
        default="",
        metavar="NAME",
        help="with --remote: the served model to use (may be left out when the server serves only one)",
    )
    p.add_argument("--mmproj", type=Path, help="the model's vision/audio projector GGUF")
    p.add_argument(
        "--assistant",
        type=Path,
        metavar="GGUF",
        help="Gemma 4's MTP assistant to draft with (default: one that fits, found next to the model)",
    )
    p.add_argument("--system", help="a system prompt")
    p.add_argument(
        "--preset",
        metavar="NAME",
        help="start with a preset (its system prompt, Think and sampling; the window's Settings → Presets, or "
        "a built-in one: General, Concise, Code reviewer, Translator); options given as well win",
    )
    p.add_argument("--think", action="store_true", help="let the model think before answering")
    p.add_argument("--max-tokens", type=_positive_int, help="stop each answer after this many tokens")
    p.add_argument("--ctx", type=_positive_int, help="context size in tokens (default: 8192 or less)")
    p.add_argument("--vision-budget", type=_positive_int, default=280, help="tokens per image, 70 … 1120")
    p.add_argument("--json", action="store_true", help="print one JSON event per line")
    p.add_argument("--threads", type=_positive_int, help="CPU threads (default: all cores)")
    p.add_argument("--gpu-layers", type=int, default=-1, help="layers to offload to the GPU (-1: all)")
    p.add_argument(
        "--cpu-moe",
        type=int,
        default=0,
        metavar="N",
        help="mixture-of-experts models (26B-A4B): the experts of the first N layers stay in RAM",
    )
    _add_sampling_options(p)
    p.add_argument("--verbose", action="store_true", help="also print the engine's log")
    p.add_argument(
        "--grammar",
        type=Path,
        metavar="FILE",
        help="a llama.cpp GBNF grammar (rule 'root') every answer must follow; with tools, every round of it",
    )
    _add_tool_options(p)


def _add_tool_options(p: argparse.ArgumentParser) -> None:
    tools = p.add_argument_group(
        "tools",
        "The model may call tools. Each call is shown (tool, server, every argument) and, on a terminal, asked "
        "about: [y]es once, [a]lways in this run, [n]o. When standard input is not a terminal, a call that "
        "--allow does not name is refused (the model is told, a notice says how to allow it).",
    )
    tools.add_argument(
        "--tools",
        type=Path,
        metavar="FILE",
        help="offer every tool of the MCP servers in FILE, an mcpServers JSON file as Claude Desktop and Cursor "
        "write it; the servers start with the command and stop when it ends",
    )
    tools.add_argument(
        "--builtin-tools",
        action="store_true",
        help="also offer the built-in tools current_time and calculator",
    )
    tools.add_argument(
        "--allow",
        action="append",
        metavar="TOOL",
        help="run calls to TOOL without asking (repeatable): the name the model calls it (as the call lines "
        "show it), or SERVER/TOOL (builtin/calculator for a built-in); '*' allows every offered tool, so use it "
        "only with servers you trust",
    )
    tools.add_argument(
        "--max-tool-calls",
        type=_positive_int,
        default=DEFAULT_CALL_LIMIT,
        metavar="N",
        help=f"the most tool calls one answer may make (default {DEFAULT_CALL_LIMIT}); later ones are refused",
    )


def build_parser() -> _ArgumentParser:
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
    _add_ask_parser(sub)
    _add_chat_parser(sub)
    from app.cli import models

    models.add_parser(sub)
    from app.cli import serve

    serve.add_parser(sub, _positive_int)
    parser.commands = tuple(sub.choices)
    return parser


def _add_ask_parser(sub: argparse._SubParsersAction[_ArgumentParser]) -> None:
    """``gemma-desk ask``: one prompt, with attachments."""
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
    ask.add_argument(
        "--file",
        action="append",
        type=Path,
        default=[],
        help="attach any file Gemma reads: a document (text, code, PDF, Word, PowerPoint, Excel) or media (repeatable)",
    )
    ask.add_argument(
        "--speak",
        action="store_true",
        help="also read the answer aloud as it streams (not its thinking; code blocks are announced, not read) "
        "and exit when the voice has finished; without a speech engine a notice says what to install",
    )


def _add_chat_parser(sub: argparse._SubParsersAction[_ArgumentParser]) -> None:
    """``gemma-desk chat``: one user turn per line of standard input."""
    chat = sub.add_parser(
        "chat",
        help="a conversation: one user turn per line of standard input",
        description=(
            "Read one user turn per line from standard input and answer each in turn, keeping the "
            "conversation. A line may begin with attachments: '/file PATH' (a document, picture, recording or "
            "video), or '/image PATH', '/audio PATH', '/video PATH'; put a path with spaces in quotes. The rest of "
            "the line is sent exactly as typed. "
            "A turn whose attachment cannot be read is skipped (with its reason) and the conversation goes on."
        ),
        epilog=(
            "Exit status: 0 every turn answered; 1 the model failed to load, a turn failed or a turn was skipped; "
            "2 bad arguments; 130 Ctrl-C."
        ),
    )
    _add_model_options(chat)
    chat.add_argument("--store", type=Path, metavar="FILE", help="keep the conversation in this chat database")
    chat.add_argument(
        "--continue",
        dest="resume",
        nargs="?",
        const=0,
        type=_positive_int,
        metavar="ID",
        help="with --store: go on with its latest conversation (or the one numbered ID)",
    )


def run(argv: list[str]) -> int:
    parser = build_parser()
    if argv and not argv[0].startswith("-") and argv[0] not in parser.commands:  # files for the window, or a typo
        words = [a for a in argv if not a.startswith("-") and a not in parser.commands]
        missing = next((a for a in words if not Path(a).exists()), None)
        if missing is not None:
            parser.error(f"'{missing}' is neither a command ({', '.join(parser.commands)}) nor a file")
        parser.error("give files to open in the window, or a command with its options, not both")
    args = parser.parse_args(argv)
    if args.self_check:
        from app.cli.self_check import run as self_check

        return self_check(model=args.check_model)
    if args.command is None:  # options but no command: the window is ``gemma-desk`` alone (app.__main__)
        parser.error("say what to do: ask, chat, models, serve or --self-check (no arguments opens the window)")
    from app.applog import setup_logging

    setup_logging(verbose=getattr(args, "verbose", False))
    if args.command == "models":
        from app.cli import models

        return models.run(args)
    if args.command == "serve":
        from app.cli import serve

        return serve.run(args)
    out: Output = JsonOutput(sys.stdout) if args.json else PlainOutput(sys.stdout, sys.stderr)
    if args.remote is not None and args.mmproj is not None:
        return out.fail("--mmproj is for a local --model; a remote server loads its own projector.", EXIT_USAGE)
    if args.remote is not None and args.assistant is not None:
        return out.fail("--assistant is for a local --model; a remote server drafts as it is set up to.", EXIT_USAGE)
    if args.grammar is not None:
        args.grammar_text = _read_grammar(args.grammar)
        if args.grammar_text is None:
            return out.fail(f"--grammar: {args.grammar} cannot be read as UTF-8 text.", EXIT_USAGE)
    if args.preset is not None and (refused := apply_preset(args, out)) is not None:
        return refused
    try:
        if args.command == "ask":
            return _ask(args, out)
        chat_input = ChatInput(out, stdin_bytes())
        code = session(args, out, chat_input)
        return EXIT_FAILED if code == EXIT_OK and chat_input.skipped else code
    except KeyboardInterrupt:  # Ctrl-C while no request was running: reading input or an attachment
        return out.interrupted(EXIT_INTERRUPTED)


def _read_grammar(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _ask(args: argparse.Namespace, out: Output) -> int:
    if args.prompt == ["-"]:
        prompt, mangled = readable_text(stdin_bytes().read().decode("utf-8", "surrogateescape"))
    else:
        prompt, mangled = readable_text(" ".join(args.prompt))
    if mangled:
        out.notice(f"the prompt is not valid UTF-8 text; {REPLACED}")
    files = [("image", p) for p in args.image] + [("audio", p) for p in args.audio]
    files += [("video", p) for p in args.video] + [("file", p) for p in args.file]
    if not prompt.strip() and not files:
        return out.fail("The prompt is empty: give a question after the options.", EXIT_USAGE)
    try:
        attachments = load_attachments(files)
    except Exception as exc:  # MediaError: a clear message about the file
        return out.fail(str(exc), EXIT_FAILED)
    if args.speak:
        from app.cli.speak import aloud

        return aloud(out, lambda: session(args, out, [(attachments, prompt)]))
    return session(args, out, [(attachments, prompt)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv[1:]))
