"""An answer's tool calls as they are kept: each step the model took (its thinking, any text, the calls it made)
and, for every call, what became of it and what the model was told.

An answer that used tools is several rounds of generation: the model thinks, calls one or more tools, reads the
results, and so on until it answers. The stored answer (``app.store.Message``) holds the last round's thinking
and text as usual, and the earlier rounds as ``tools``: one JSON object per ``ToolStep``. Those objects come back
from disk, so ``from_json`` takes whatever is there and never fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.store import tool_markdown

#: What became of a call: still waiting (for the user or the tool), ran (``done``; ``error`` when the tool failed),
#: refused by the user (``denied``), not readable (``malformed``), not a tool that was offered (``refused``),
#: over the answer's limit of calls (``limit``), or cut off by Stop (``stopped``).
CallStatus = Literal["pending", "running", "done", "error", "denied", "malformed", "refused", "limit", "stopped"]
CALL_STATUSES: tuple[CallStatus, ...] = (
    "pending", "running", "done", "error", "denied", "malformed", "refused", "limit", "stopped",
)  # fmt: skip
FINISHED: frozenset[CallStatus] = frozenset(CALL_STATUSES) - {"pending", "running"}

#: How each ending reads to the user (the tool block's status line; the store's Markdown export uses the same).
STATUS_WORDS: Mapping[str, str] = tool_markdown.STATUS_WORDS


@dataclass
class CallRecord:
    """One call the model made and what became of it.

    ``name`` is what the model called; ``tool`` and ``source`` the tool that answers to it (empty when none
    does). ``result`` is exactly what the model was told; ``images`` are positions in the answer's attachments
    (pictures the tool returned, which the model also sees).
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    source: str = ""
    tool: str = ""
    status: CallStatus = "pending"
    result: str = ""
    images: tuple[int, ...] = ()
    seconds: float = 0.0
    error: str = ""  # why the call could not be read, for a malformed one

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "raw": self.raw,
            "source": self.source,
            "tool": self.tool,
            "status": self.status,
            "result": self.result,
            "images": list(self.images),
            "seconds": round(self.seconds, 4),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], index: int = 0) -> CallRecord:
        status = data.get("status")
        arguments = data.get("arguments")
        seconds = data.get("seconds")
        images = data.get("images")
        return cls(
            id=_text(data.get("id")) or f"call_{index + 1}",
            name=_text(data.get("name")),
            arguments=dict(arguments) if isinstance(arguments, Mapping) else {},
            raw=_text(data.get("raw")),
            source=_text(data.get("source")),
            tool=_text(data.get("tool")),
            status=status if status in CALL_STATUSES else "error",
            result=_text(data.get("result")),
            images=tuple(i for i in images if isinstance(i, int) and not isinstance(i, bool) and i >= 0)
            if isinstance(images, list)
            else (),
            seconds=float(seconds)
            if isinstance(seconds, int | float) and not isinstance(seconds, bool) and math.isfinite(seconds)
            else 0.0,
            error=_text(data.get("error")),
        )


@dataclass
class ToolStep:
    """One round of the answer that ended in tool calls: the thinking and text before them, and the calls."""

    thinking: str = ""
    text: str = ""
    calls: list[CallRecord] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"thinking": self.thinking, "text": self.text, "calls": [call.to_json() for call in self.calls]}

    @classmethod
    def from_json(cls, data: object) -> ToolStep | None:
        if not isinstance(data, Mapping):
            return None
        calls = data.get("calls")
        found = [c for c in calls if isinstance(c, Mapping)] if isinstance(calls, list) else []
        return cls(
            thinking=_text(data.get("thinking")),
            text=_text(data.get("text")),
            calls=[CallRecord.from_json(call, i) for i, call in enumerate(found)],
        )


def steps_from_json(stored: Sequence[object]) -> list[ToolStep]:
    """A stored answer's steps (anything unreadable left out)."""
    return [step for step in (ToolStep.from_json(item) for item in stored) if step is not None]


def steps_to_json(steps: Sequence[ToolStep]) -> tuple[dict[str, Any], ...]:
    return tuple(step.to_json() for step in steps)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
