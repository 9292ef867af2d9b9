"""The engine's worker thread → the server's event loop: one generation's events as an async stream, and the
count of requests in flight (queued + running), bounded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable

from app.engine import AnswerDelta, Done, Engine, EngineEvent, GenerateRequest, ThinkingDelta, ToolCall

log = logging.getLogger(__name__)


_WORDS = (AnswerDelta, ThinkingDelta, ToolCall)


class Generation:
    """One request on the shared engine; its events arrive through its own callback, so none is lost.

    The engine's thread appends each event to a list and only the first event of a batch wakes the server's
    loop (one ``call_soon_threadsafe``, i.e. one write to the loop's wake-up pipe, per batch rather than per
    token): the loop then takes every event that has arrived, so a fast model costs both threads little."""

    def __init__(self, engine: Engine, request: GenerateRequest, loop: asyncio.AbstractEventLoop) -> None:
        self._engine = engine
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: deque[EngineEvent] = deque()
        self._woken = False  # a wake-up is on its way to the loop (or the loop is taking the batch)
        self._wake = asyncio.Event()
        self.finished = False
        self.request_id = engine.generate(request, on_event=self._sink)

    def _sink(self, event: EngineEvent) -> None:  # the engine's thread
        with self._lock:
            self._pending.append(event)
            if self._woken:
                return
            self._woken = True
        with contextlib.suppress(RuntimeError):  # the server's loop has closed: nobody is listening any more
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _take(self) -> list[EngineEvent]:
        """All the events that have arrived, waiting for at least one."""
        while True:
            with self._lock:
                batch = list(self._pending)
                self._pending.clear()
                self._woken = False
            if batch:
                return batch
            self._wake.clear()
            await self._wake.wait()

    async def events(self) -> AsyncIterator[EngineEvent]:
        """Every event of the request, ``Done`` last."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self, every_s: float = 0.0) -> AsyncIterator[list[EngineEvent]]:
        """The same events, each time all that have arrived: a stream that falls behind a fast model sends
        several tokens in one chunk instead of growing a backlog. With ``every_s``, batches after the first
        come at most that often (the first, with the first token, at once): at thousands of tokens a second,
        a chunk per token would cost the engine's thread the interpreter lock it needs for each token."""
        last = 0.0
        while not self.finished:
            batch = await self._take()
            if every_s and last and not any(isinstance(event, Done) for event in batch):
                wait = last + every_s - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    with self._lock:
                        batch += self._pending
                        self._pending.clear()
            if last or any(isinstance(event, _WORDS) for event in batch):
                last = self._loop.time()  # the first batch with words went out at once; later ones wait
            done = next((i for i, event in enumerate(batch) if isinstance(event, Done)), None)
            if done is not None:
                self.finished = True
                batch = batch[: done + 1]
            yield batch

    def abandon(self) -> None:
        """The client is gone: stop it and end its event stream now (a queued request does not wait its turn
        to end; the engine drops it when it comes up). On the loop's thread."""
        if not self.finished:
            self._engine.stop(self.request_id)
            with self._lock:
                self._pending.append(Done(self.request_id, "stopped"))
            self._wake.set()

    def stop(self) -> None:
        """Stop it (running: within a token; queued: it never runs). Harmless once finished."""
        if not self.finished:
            self._engine.stop(self.request_id)


class InFlight:
    """How many requests are queued or running; past the limit a request is turned away (429)."""

    def __init__(self, limit: int, on_change: Callable[[int], None] | None = None) -> None:
        self.limit = limit
        self.count = 0
        self._on_change = on_change
        self._lock = threading.Lock()
        self._running: set[Generation] = set()

    def enter(self) -> bool:
        with self._lock:
            if self.count >= self.limit:
                return False
            self.count += 1
            count = self.count
        self._changed(count)
        return True

    def leave(self) -> None:
        with self._lock:
            self.count -= 1
            count = self.count
        self._changed(count)

    def track(self, generation: Generation) -> None:
        with self._lock:
            self._running.add(generation)

    def untrack(self, generation: Generation) -> None:
        with self._lock:
            self._running.discard(generation)

    def stop_all(self) -> None:
        with self._lock:
            running = list(self._running)
        for generation in running:
            generation.stop()

    def _changed(self, count: int) -> None:
        if self._on_change is not None:
            try:
                self._on_change(count)
            except Exception:  # the window's bug must not break a request
                log.exception("the server's activity callback failed")
