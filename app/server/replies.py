"""Engine events → OpenAI chat-completion replies: whole messages, streamed chunks and usage.

The thought channel is ``reasoning_content``; tool calls carry their arguments as a JSON string under ids
``call_…``; the engine's stop reasons become ``stop`` / ``length`` / ``tool_calls``.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from app.engine.events import (
    AnswerDelta,
    EngineEvent,
    Failed,
    GenerationStats,
    Stats,
    ThinkingDelta,
    ToolCall,
)


class StopStrings:
    """Cuts the answer at the first stop string; holds back a tail that could be the start of one."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = stops
        self.held = ""
        self.hit = False
        self._keep = max((len(s) for s in stops), default=1) - 1

    def feed(self, text: str) -> str:
        if not self.stops or self.hit:
            return "" if self.hit else text
        self.held += text
        cut = min((i for i in (self.held.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.hit = True
            out, self.held = self.held[:cut], ""
            return out
        if len(self.held) <= self._keep:
            return ""
        out, self.held = self.held[: len(self.held) - self._keep], self.held[len(self.held) - self._keep :]
        return out

    def flush(self) -> str:
        out, self.held = self.held, ""
        return "" if self.hit else out


class Answer:
    """One reply being built from its events, for either shape of response."""

    def __init__(self, model: str, stops: tuple[str, ...] = ()) -> None:
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())
        self.model = model
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.tool_calls: list[dict[str, Any]] = []
        self.stats: GenerationStats | None = None
        self.failure: Failed | None = None
        self.stop = StopStrings(stops)

    @property
    def stopped_by_string(self) -> bool:
        return self.stop.hit

    def feed(self, event: EngineEvent) -> dict[str, Any] | None:
        """Take one event; the delta it adds to the message, if any."""
        if isinstance(event, ThinkingDelta) and event.text:
            self.reasoning.append(event.text)
            return {"reasoning_content": event.text}
        if isinstance(event, AnswerDelta):
            return self._text(self.stop.feed(event.text))
        if isinstance(event, ToolCall):
            return self._call(event)
        if isinstance(event, Stats):
            self.stats = event.stats
        elif isinstance(event, Failed):
            self.failure = event
        return None

    def flush(self) -> dict[str, Any] | None:
        return self._text(self.stop.flush())

    def _text(self, text: str) -> dict[str, Any] | None:
        if not text:
            return None
        self.content.append(text)
        return {"content": text}

    def _call(self, event: ToolCall) -> dict[str, Any] | None:
        if event.error:  # a call the model wrote wrong: kept as text, so the client sees what it wrote
            return self._text(event.raw)
        call = {
            "id": "call_" + secrets.token_hex(12),
            "type": "function",
            "function": {"name": event.name, "arguments": json.dumps(event.arguments, ensure_ascii=False)},
        }
        self.tool_calls.append(call)
        return {"tool_calls": [{"index": len(self.tool_calls) - 1, **call}]}

    def finish_reason(self, stop_reason: str) -> str:
        if self.tool_calls:
            return "tool_calls"
        if stop_reason in ("max_tokens", "context_full") and not self.stop.hit:
            return "length"
        return "stop"

    def usage(self) -> dict[str, Any]:
        stats = self.stats or GenerationStats()
        return {
            "prompt_tokens": stats.prompt_tokens,
            "completion_tokens": stats.completion_tokens,
            "total_tokens": stats.prompt_tokens + stats.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": stats.reused_tokens},
        }

    def completion(self, stop_reason: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content) or None}
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.tool_calls:
            message["tool_calls"] = self.tool_calls
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason(stop_reason)}],
            "usage": self.usage(),
        }

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }

    def usage_chunk(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": self.usage(),
        }


def merged(deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neighbouring text deltas of the same kind joined into one (tool calls stay apart)."""
    out: list[dict[str, Any]] = []
    for delta in deltas:
        key = next(iter(delta)) if len(delta) == 1 else ""
        last = out[-1] if out else None
        if key in ("content", "reasoning_content") and last is not None and list(last) == [key]:
            out[-1] = {key: last[key] + delta[key]}
        else:
            out.append(delta)
    return out


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event: ``data: …`` and a blank line."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"data: {text}\n\n".encode()
