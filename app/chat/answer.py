"""One answer as it streams: the engine's events in, the text so far, how it ended, and the store's updates out.

An ``AnswerRecorder`` is fed the events of one generate request (``feed``), from whatever thread reads them.
It keeps the thinking and answer text, how long the model thought, the stats and any error; ``save_due``
says when the partial answer should be written (at least every ``SAVE_EVERY_S`` while it grows, so a killed
app loses well under a second of it), and ``update``/``final`` are those writes. It does no I/O itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from app.chat.tool_steps import ToolStep, steps_to_json
from app.engine import (
    AnswerDelta,
    ContextTrimmed,
    Done,
    EngineEvent,
    Failed,
    GenerationStats,
    Stats,
    ThinkingDelta,
    ToolCall,
)
from app.store import Status

SAVE_EVERY_S = 0.5

#: How an answer ended, as the user is told: ``context_full`` is stored as complete.
Ending = Literal["complete", "stopped", "error", "context_full"]


@dataclass(frozen=True, slots=True)
class AnswerUpdate:
    """One write of a streaming answer into the store (``status`` None: it is still streaming)."""

    message_id: int
    content: str
    thinking: str
    thinking_seconds: float | None
    status: Status | None
    error: str | None
    stats: dict[str, Any] | None
    tools: tuple[dict[str, Any], ...] | None = None  # the answer's tool rounds (None: it made no calls)


class _Text:
    """Pieces of text, joined only when read (and joined once: the pieces collapse into one)."""

    def __init__(self) -> None:
        self._pieces: list[str] = []

    def add(self, text: str) -> None:
        self._pieces.append(text)

    def __str__(self) -> str:
        if len(self._pieces) > 1:
            self._pieces[:] = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""


class AnswerRecorder:
    """The state of one answer being generated into the stored message ``message_id``."""

    def __init__(
        self,
        message_id: int,
        request_id: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        save_every_s: float = SAVE_EVERY_S,
    ) -> None:
        self.message_id = message_id
        self.request_id = request_id
        self.stats: GenerationStats | None = None
        self.error = ""
        self.trimmed: ContextTrimmed | None = None
        self.stop_reason: str | None = None  # set by the request's Done
        self._clock = clock
        self._save_every_s = save_every_s
        self._thinking = _Text()
        self._answer = _Text()
        self._think_started: float | None = None
        self._think_seconds: float | None = None
        self._last_save = clock()
        self._unsaved = False
        self.calls: list[ToolCall] = []  # the calls of the round being generated, as the model wrote them
        self.steps: list[ToolStep] = []  # the rounds before it (the tool loop adds them)
        self._thought_s = 0.0  # thinking time of the rounds before this one

    # -- events ---------------------------------------------------------------------------------------

    def feed(self, event: EngineEvent) -> bool:
        """Take one engine event; False (and nothing changes) when it belongs to another request."""
        if event.request_id != self.request_id:
            return False
        if isinstance(event, ThinkingDelta):
            self.add_thinking(event.text)
        elif isinstance(event, AnswerDelta):
            self.add_answer(event.text)
        elif isinstance(event, Stats):
            self.stats = event.stats
        elif isinstance(event, Failed):
            self.fail(event.message)
        elif isinstance(event, ContextTrimmed):
            self.trimmed = event
        elif isinstance(event, ToolCall):
            self.calls.append(event)
        elif isinstance(event, Done):
            self.stop_reason = event.stop_reason
        return True

    def next_round(self, step: ToolStep) -> None:
        """The round just generated ended in the calls ``step`` records: keep it; the next round's thinking and
        text start empty (its request's events are taken once ``request_id`` is set to it)."""
        step.thinking, step.text = self.thinking, self.answer
        self.steps.append(step)
        if self._think_started is not None:
            ended = self._think_seconds
            self._thought_s += ended if ended is not None else self._clock() - self._think_started
        self._thinking, self._answer = _Text(), _Text()
        self._think_started = self._think_seconds = None
        self.calls = []
        self.stop_reason = None
        self._unsaved = True

    def add_thinking(self, text: str) -> None:
        if self._think_started is None:
            self._think_started = self._clock()
        self._thinking.add(text)
        self._unsaved = True

    def add_answer(self, text: str) -> None:
        if self._think_started is not None and self._think_seconds is None:
            self._think_seconds = self._clock() - self._think_started
        self._answer.add(text)
        self._unsaved = True

    def fail(self, message: str) -> None:
        self.error = message

    # -- what it holds --------------------------------------------------------------------------------

    @property
    def thinking(self) -> str:
        return str(self._thinking)

    @property
    def answer(self) -> str:
        return str(self._answer)

    @property
    def thinking_seconds(self) -> float | None:
        """How long the model thought, in all rounds (still counting while it thinks); None when it did not."""
        if self._think_seconds is not None:
            return self._thought_s + self._think_seconds
        if self._think_started is None:
            return self._thought_s or None
        return self._thought_s + self._clock() - self._think_started

    @property
    def done(self) -> bool:
        return self.stop_reason is not None

    def ending(self, stop_reason: str | None = None) -> Ending:
        """How the answer ended, from the engine's stop reason (default: its ``Done``'s) and any error.

        A request that ends ``stopped`` is stopped even when a ``Failed`` said why (a remote server's stream
        that broke off mid-answer): the text so far is kept as a stopped answer, and the message with it."""
        reason = stop_reason if stop_reason is not None else self.stop_reason
        if reason == "stopped":
            return "stopped"
        if self.error or reason == "error":
            return "error"
        return "context_full" if reason == "context_full" else "complete"

    # -- writes ---------------------------------------------------------------------------------------

    def save_due(self) -> bool:
        """True when the answer changed and its last write is ``save_every_s`` old or more."""
        return self._unsaved and self._clock() - self._last_save >= self._save_every_s

    def update(self, status: Status | None = None) -> AnswerUpdate:
        """The write that stores the answer as it is now (and counts as its latest save)."""
        self._last_save = self._clock()
        self._unsaved = False
        return AnswerUpdate(
            message_id=self.message_id,
            content=self.answer,
            thinking=self.thinking,
            thinking_seconds=self.thinking_seconds,
            status=status,
            error=self.error or None,
            stats=self.stats.as_dict() if self.stats is not None else None,
            tools=steps_to_json(self.steps) if self.steps else None,
        )

    def final(self, stop_reason: str | None = None) -> AnswerUpdate:
        """The last write: the answer with the status its ending gives."""
        ending = self.ending(stop_reason)
        return self.update("complete" if ending == "context_full" else ending)
