"""The engine's worker thread → the server's event loop: one generation's events as an async stream, and the
count of requests in flight (queued + running), bounded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable

from app.engine import Done, Engine, EngineEvent, GenerateRequest

log = logging.getLogger(__name__)


class Generation:
    """One request on the shared engine; its events arrive through its own callback, so none is lost."""

    def __init__(self, engine: Engine, request: GenerateRequest, loop: asyncio.AbstractEventLoop) -> None:
        self._engine = engine
        self._loop = loop
        self._events: asyncio.Queue[EngineEvent] = asyncio.Queue()
        self.finished = False
        self.request_id = engine.generate(request, on_event=self._sink)

    def _sink(self, event: EngineEvent) -> None:  # the engine's thread
        with contextlib.suppress(RuntimeError):  # the server's loop has closed: nobody is listening any more
            self._loop.call_soon_threadsafe(self._events.put_nowait, event)

    async def events(self) -> AsyncIterator[EngineEvent]:
        """Every event of the request, ``Done`` last."""
        while not self.finished:
            event = await self._events.get()
            if isinstance(event, Done):
                self.finished = True
            yield event

    async def batches(self) -> AsyncIterator[list[EngineEvent]]:
        """The same events, each time all that have arrived: a stream that falls behind a fast model sends
        several tokens in one chunk instead of growing a backlog."""
        while not self.finished:
            batch = [await self._events.get()]
            while not isinstance(batch[-1], Done) and not self._events.empty():
                batch.append(self._events.get_nowait())
            if isinstance(batch[-1], Done):
                self.finished = True
            yield batch

    def abandon(self) -> None:
        """The client is gone: stop it and end its event stream now (a queued request does not wait its turn
        to end; the engine drops it when it comes up). On the loop's thread."""
        if not self.finished:
            self._engine.stop(self.request_id)
            self._events.put_nowait(Done(self.request_id, "stopped"))

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
