"""A streamed chat completion (server-sent events) read into the engine's events.

Each ``data:`` line holds one ``chat.completion.chunk``. A choice's ``delta`` may carry:

- ``reasoning_content`` (llama-server, vLLM's reasoning parsers) or ``reasoning`` (the name some servers use)
  → ``ThinkingDelta``;
- ``content`` → the answer. It goes through our own Gemma 4 stream parser, so a server that passes the raw
  thought channel through (``<|channel>thought\\n…<channel|>``) or a raw ``<|tool_call>…<tool_call|>`` splits
  into thinking, answer and tool calls exactly as in-process;
- ``tool_calls`` → pieces of OpenAI tool calls, put together by ``index`` (the name once, the JSON
  ``arguments`` in pieces) and given out as ``ToolCall`` events when the stream ends.

Timing is measured here, from the stream as it arrives: time to first token (from the request being sent to the
first piece of thinking, answer or call), decode time and speed. Token counts come from the server's ``usage``
(and llama-server's ``timings``) when it sends them, else each streamed piece counts as one token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from app.engine.events import AnswerDelta, EngineEvent, GenerationStats, ThinkingDelta, ToolCall
from app.engine.stream_parser import Kind, Parsed, StreamParser
from app.engine.tool_calls import guess_name
from app.remote.config import RemoteError, detail_of
from app.units import format_size

#: OpenAI's finish reasons as the engine's stop reasons.
_STOP_REASONS = {"stop": "end", "length": "max_tokens", "tool_calls": "end", "function_call": "end"}


#: The longest line of a stream taken (a chunk of a few tokens is well under a kilobyte), and the most a whole
#: answer may send: a server that sends more is cut off with a message rather than filling the memory.
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_STREAM_BYTES = 256 * 1024 * 1024


def stream_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of a server-sent-events stream (``\n``, ``\r\n`` or ``\r`` ends one), each within
    ``MAX_LINE_BYTES`` and all together within ``MAX_STREAM_BYTES``; ``RemoteError`` past either."""
    pending = b""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > MAX_STREAM_BYTES:
            raise RemoteError(f"The server sent more than {format_size(MAX_STREAM_BYTES)} for one answer.")
        pending += chunk
        *lines, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for line in [*lines, pending]:
            if len(line) > MAX_LINE_BYTES:
                raise RemoteError(f"The server sent a line longer than {format_size(MAX_LINE_BYTES)}.")
        for line in lines:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def sse_data(line: str) -> str | None:
    """The payload of one server-sent-events line (``data: …``); None for comments, other fields and blanks."""
    if not line.startswith("data:"):
        return None
    return line[5:].removeprefix(" ")


class StreamError(RemoteError):
    """The server reported an error inside the stream; ``detail`` is its own reason."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"The server failed: {detail}")
        self.detail = detail


@dataclass(slots=True)
class _CallPieces:
    id: str = ""
    name: str = ""
    arguments: str = ""


class StreamReader:
    """The state of one streamed answer: feed it the stream's lines, then ask ``end`` and ``stats``."""

    def __init__(self, request_id: int, started: float, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.request_id = request_id
        self.started = started
        self._clock = clock
        self._parser = StreamParser()
        self._calls: dict[int, _CallPieces] = {}
        self.finish_reason: str | None = None
        self.done = False  # "[DONE]" arrived
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, Any] = {}  # llama-server's own counts, when it sends them
        self.pieces = 0  # streamed pieces of thinking, answer or calls
        self.first_at = 0.0
        self.last_at = 0.0
        self._thinking_started = False

    @property
    def answered(self) -> bool:
        """Something of the answer (thinking, text or a call) has arrived."""
        return self.pieces > 0

    @property
    def complete(self) -> bool:
        """The server said the answer is over (a finish reason, or the end of the stream)."""
        return self.done or self.finish_reason is not None

    def feed_line(self, line: str) -> list[EngineEvent]:
        """Events from one line of the stream (``RemoteError`` for a line that is not a chunk or is an error)."""
        data = sse_data(line)
        if data is None or not data.strip():
            return []
        if data.strip() == "[DONE]":
            self.done = True
            return []
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError):
            raise RemoteError("The server sent something that is not a chat completion stream.") from None
        return self.feed(chunk)

    def feed(self, chunk: Any) -> list[EngineEvent]:
        """Events from one decoded chunk."""
        if not isinstance(chunk, dict):
            raise RemoteError("The server sent something that is not a chat completion stream.")
        if chunk.get("error"):
            raise StreamError(detail_of(json.dumps(chunk)) or "no reason given")
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("timings"), dict):
            self.timings = chunk["timings"]
        out: list[EngineEvent] = []
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice, out)
        return out

    def _choice(self, choice: dict[str, Any], out: list[EngineEvent]) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self._tick()
                if not self._thinking_started:
                    reasoning = reasoning.lstrip("\n")
                    self._thinking_started = bool(reasoning)
                if reasoning:
                    out.append(ThinkingDelta(self.request_id, reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                self._tick()
                out.extend(self._event(parsed) for parsed in self._parser.feed(content))
            calls = delta.get("tool_calls")
            if isinstance(calls, list) and calls:
                self._tick()
                for piece in calls:
                    if isinstance(piece, dict):
                        self._call_piece(piece)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = reason

    def _call_piece(self, piece: dict[str, Any]) -> None:
        index = piece.get("index", 0)
        call = self._calls.setdefault(index if isinstance(index, int) else 0, _CallPieces())
        if isinstance(piece.get("id"), str) and piece["id"]:
            call.id = piece["id"]
        function = piece.get("function")
        if isinstance(function, dict):
            if isinstance(function.get("name"), str):
                call.name += function["name"]
            if isinstance(function.get("arguments"), str):
                call.arguments += function["arguments"]

    def _tick(self) -> None:
        now = self._clock()
        if not self.first_at:
            self.first_at = now
        self.last_at = now
        self.pieces += 1

    def _event(self, parsed: Parsed) -> EngineEvent:
        if parsed.kind is Kind.ANSWER:
            return AnswerDelta(self.request_id, parsed.text)
        if parsed.kind is Kind.THINKING:
            return ThinkingDelta(self.request_id, parsed.text)
        if parsed.call is not None:
            return ToolCall(self.request_id, parsed.call.name, parsed.call.arguments, parsed.text)
        return ToolCall(self.request_id, guess_name(parsed.text), {}, parsed.text, parsed.error or "malformed call")

    def end(self) -> list[EngineEvent]:
        """What the stream leaves when it ends: text the parser held back, then the OpenAI tool calls."""
        out: list[EngineEvent] = [self._event(parsed) for parsed in self._parser.finish()]
        for index in sorted(self._calls):
            out.append(_tool_call(self.request_id, self._calls[index]))
        self._calls.clear()
        return out

    def stop_reason(self) -> str:
        """The engine's stop reason for the finish reason the server gave."""
        return _STOP_REASONS.get(self.finish_reason or "stop", "end")

    def stats(self, stop_reason: str, *, n_ctx: int = 0) -> GenerationStats:
        """The answer's numbers: the server's token counts where it gave them, our own timing."""
        now = self._clock()
        usage, timings = self.usage, self.timings
        cached = _number((usage.get("prompt_tokens_details") or {}).get("cached_tokens"))
        if cached is None:
            cached = _number(timings.get("cache_n"))
        prompt = _number(usage.get("prompt_tokens"))
        if prompt is None and _number(timings.get("prompt_n")) is not None:
            prompt = (_number(timings.get("prompt_n")) or 0) + (cached or 0)
        completion = _number(usage.get("completion_tokens"))
        if completion is None:
            completion = _number(timings.get("predicted_n"))
        n_gen = completion if completion is not None else self.pieces
        decode_s = self.last_at - self.first_at if self.pieces > 1 else 0.0
        prompt_tokens, reused = prompt or 0, min(cached or 0, prompt or 0)
        return GenerationStats(
            prompt_tokens=prompt_tokens,
            reused_tokens=reused,
            evaluated_tokens=prompt_tokens - reused,
            completion_tokens=n_gen,
            ttft_s=round((self.first_at or now) - self.started, 6),
            decode_s=round(decode_s, 6),
            decode_tps=round((n_gen - 1) / decode_s, 3) if decode_s > 0 and n_gen > 1 else 0.0,
            n_ctx=n_ctx,
            context_used=prompt_tokens + n_gen,
            backend="Remote",
            stop_reason=stop_reason,
        )


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else None


def _tool_call(request_id: int, call: _CallPieces) -> ToolCall:
    """A whole OpenAI tool call as the engine's event; arguments that are not a JSON object make it malformed."""
    raw = f"{call.name}({call.arguments})"
    if not call.name:
        return ToolCall(request_id, "", {}, raw, "the server sent a tool call without a name")
    try:
        arguments = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return ToolCall(request_id, call.name, {}, raw, f"its arguments are not valid JSON ({exc.msg})")
    except RecursionError:
        return ToolCall(request_id, call.name, {}, raw, "its arguments nest too deep")
    if not isinstance(arguments, dict):
        return ToolCall(request_id, call.name, {}, raw, "its arguments are not a JSON object")
    return ToolCall(request_id, call.name, arguments, raw)
