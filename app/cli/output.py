"""Terminal output for the CLI: JSON lines for scripts, or dimmed thinking and the answer for people."""

from __future__ import annotations

import json
import shutil
import sys
import unicodedata
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from app.engine import (
    AnswerDelta,
    ContextTrimmed,
    EngineEvent,
    ModelLoaded,
    Stats,
    ThinkingDelta,
    ToolCall,
)

if TYPE_CHECKING:
    from app.chat.tool_steps import CallRecord

#: Exit statuses of ``ask`` and ``chat`` (see ``app.cli.main``).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_DIM, _RESET = "\x1b[2m", "\x1b[0m"
THINKING_PREFIX = "│ "


def printable(text: str) -> str:
    """``text`` safe to write as UTF-8: a file name's undecodable bytes (surrogate escapes) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "replace").decode("utf-8")
    return text


class AnswerListener(Protocol):
    """Also hears the answer (``ask --speak``: ``app.speech.Speaker``): its text as it streams, never its
    thinking, then its end."""

    def feed(self, piece: str) -> None: ...

    def end_reading(self) -> None: ...


class JsonOutput:
    listener: AnswerListener | None = None

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _write(self, obj: dict[str, Any]) -> None:
        self.stream.write(printable(json.dumps(obj, ensure_ascii=False)) + "\n")
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
            if self.listener is not None:
                self.listener.feed(event.text)
        elif isinstance(event, ToolCall):  # a call written without --tools: shown, never run (no tool_result)
            self._write(
                {
                    "type": "tool_call",
                    "id": None,
                    "name": event.name,
                    "arguments": event.arguments,
                    "raw": event.raw,
                    "source": "",
                    "error": event.error,
                }
            )
        elif isinstance(event, ContextTrimmed):
            self._write(
                {
                    "type": "context_trimmed",
                    "dropped_messages": event.dropped_messages,
                    "prompt_tokens": event.prompt_tokens,
                    "n_ctx": event.n_ctx,
                }
            )
        elif isinstance(event, Stats):
            self._write({"type": "stats", **event.stats.as_dict()})

    def tool_call(self, record: CallRecord) -> None:
        """The model called a tool (``source``: "builtin", an MCP server's name, or "" for no offered tool)."""
        self._write(
            {
                "type": "tool_call",
                "id": record.id,
                "name": record.name,
                "arguments": record.arguments,
                "raw": record.raw,
                "source": record.source,
                "error": record.error,
            }
        )

    def tool_running(self, record: CallRecord) -> None:
        pass

    def tool_result(self, record: CallRecord) -> None:
        """What became of the call, and exactly what the model was told."""
        self._write(
            {
                "type": "tool_result",
                "id": record.id,
                "name": record.name,
                "status": record.status,
                "result": record.result,
                "seconds": round(record.seconds, 3),
            }
        )

    def error(self, message: str) -> None:
        self._write({"type": "error", "message": message})
        sys.stderr.write(f"gemma-desk: {printable(message)}\n")
        sys.stderr.flush()

    def notice(self, message: str) -> None:
        sys.stderr.write(f"gemma-desk: notice: {printable(message)}\n")
        sys.stderr.flush()

    def fail(self, message: str, code: int) -> int:
        self.error(message)
        self.done("error")
        return code

    def interrupted(self, code: int) -> int:
        """Ctrl-C outside a request: the stream ends with ``done`` (stop reason ``stopped``), as after one."""
        self.done("stopped")
        return code

    def done(self, stop_reason: str) -> None:
        self._write({"type": "done", "stop_reason": stop_reason})
        if self.listener is not None:
            self.listener.end_reading()


class PlainOutput:
    listener: AnswerListener | None = None

    def __init__(self, stream: TextIO, err: TextIO) -> None:
        self.stream = stream
        self.err = err
        self.tty = stream.isatty()
        self._mode = ""  # "thinking" or "answer"
        self._line_start = True
        self._stats: Stats | None = None
        self._running = False  # a running call's line is on the terminal, waiting for its result

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
            if self.listener is not None:
                self.listener.feed(event.text)
        elif isinstance(event, ToolCall):
            self._write(f"\n[tool call] {event.raw.strip()}\n")
        elif isinstance(event, ContextTrimmed):
            self.err.write(
                f"Note: the conversation is longer than the context; the oldest {event.dropped_messages} "
                "messages were left out.\n"
            )
        elif isinstance(event, Stats):
            self._stats = event

    def tool_call(self, record: CallRecord) -> None:
        """A call starts: the answer's line is ended (the call's line and any question go to stderr)."""
        if not self._line_start:
            self._write("\n")
            self._line_start = True

    def tool_running(self, record: CallRecord) -> None:
        """On a terminal, the call's line while it runs (replaced by its result)."""
        if self.err.isatty():
            width = shutil.get_terminal_size().columns
            self.err.write(one_line(call_head(record), max(10, width - 3)) + " …")
            self.err.flush()
            self._running = True

    def tool_result(self, record: CallRecord) -> None:
        self.tool_call(record)
        if self._running:
            self.err.write("\r\x1b[K")
            self._running = False
        self.err.write(call_line(record) + "\n")
        self.err.flush()

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
        self.err.write(f"gemma-desk: {printable(message)}\n")
        self.err.flush()

    def notice(self, message: str) -> None:
        self.err.write(f"Notice: {printable(message)}\n")
        self.err.flush()

    def fail(self, message: str, code: int) -> int:
        self.error(message)
        return code

    def interrupted(self, code: int) -> int:
        """Ctrl-C outside a request: one line, the answer line (if any) ended first."""
        if not self._line_start:
            self._write("\n")
            self._line_start = True
        self.err.write("gemma-desk: interrupted.\n")
        self.err.flush()
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
            reuse = f", {s.reused_tokens} of {s.prompt_tokens} prompt tokens reused" if s.reused_tokens else ""
            if s.draft_tokens:
                reuse += f", drafts {s.draft_acceptance:.0%} kept"
            self.err.write(
                f"[{s.completion_tokens} tokens, {s.decode_tps:.1f} tok/s, "
                f"first token {s.ttft_s:.2f} s, {s.backend}{reuse}{note}]\n"
            )
            self.err.flush()
        self._stats = None
        self._mode = ""
        if self.listener is not None:
            self.listener.end_reading()


Output = JsonOutput | PlainOutput

#: How a settled call reads after its arguments (``done`` shows the result instead).
_ENDINGS = {
    "error": "failed: ",
    "denied": "✗ denied",
    "malformed": "✗ could not be read: ",
    "refused": "✗ no such tool was offered",
    "limit": "✗ not run: over the limit of tool calls (--max-tool-calls)",
    "stopped": "✗ stopped",
}


def call_line(record: CallRecord) -> str:
    """One line for a settled call: ``⚙ calculator {"expression":"6*7"} → 42 (0.01 s)``."""
    head = call_head(record)
    if record.status == "done":
        return f"{head} → {one_line(record.result, 160)} ({record.seconds:.2f} s)"
    ending = _ENDINGS.get(record.status, record.status)
    if record.status == "error":
        ending += one_line(record.result.removeprefix("Error: "), 160)
    elif record.status == "malformed":
        ending += one_line(record.error, 160)
    return f"{head} {ending}"


def call_head(record: CallRecord) -> str:
    """The call as the model wrote it: ``⚙ add (demo) {"a":2,"b":40}`` (its raw text when it was unreadable)."""
    if record.error:
        return f"⚙ {one_line(record.raw, 120)}"
    source = f" ({record.source})" if record.source and record.source != "builtin" else ""
    arguments = json.dumps(record.arguments, ensure_ascii=False, separators=(",", ":"))
    return f"⚙ {one_line(record.name, 64)}{source} {one_line(arguments, 120)}"


def one_line(text: str, limit: int) -> str:
    """``text`` on one line, without control characters (it may come from a tool), cut to ``limit``."""
    flat = " ".join(
        "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in printable(text)).split()
    )
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
