"""The engine: one worker thread that owns llama.cpp, fed by a request queue.

Clients (the CLI, the Qt window) call ``load``/``generate``/``stop``/``unload``
from any thread; each returns a request id at once. Events come back through
the ``on_event`` callback, called on the worker thread, tagged with that id;
every request ends with exactly one ``Done``. The Qt adapter turns the
callback into queued signals; the CLI turns it into a queue it reads. A
generation may name its own callback (``generate(request, on_event=…)``): all
of that request's events, up to its ``Done``, go there instead (the local
server gives each HTTP request its own).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterator, Sequence

from app.engine.errors import RequestError
from app.engine.events import (
    Done,
    EngineEvent,
    GenerateRequest,
    LoadProgress,
    LoadRequest,
    MediaCost,
    ModelInfo,
    ModelLoaded,
    ModelUnloaded,
    Stats,
)
from app.engine.jobs import EventCallback, Job, JobWorker
from app.engine.prompt import Part
from app.engine.session import LoadCancelled, ModelSession

log = logging.getLogger(__name__)


class Engine(JobWorker):
    """Owns the model on a dedicated thread; thread-safe to call from anywhere."""

    thread_name = "gemma-engine"

    def __init__(self, on_event: EventCallback) -> None:
        self._session: ModelSession | None = None
        self._info: ModelInfo | None = None
        super().__init__(on_event)  # starts the worker

    # -- requests (any thread) ----------------------------------------------------

    def load(self, request: LoadRequest) -> int:
        """Load a model (replacing the current one); progress and the result arrive as events."""
        return self._submit("load", request)

    def generate(self, request: GenerateRequest, on_event: EventCallback | None = None) -> int:
        """Generate an answer; its events go to ``on_event`` when given (all of them, up to its ``Done``),
        else to the engine's callback."""
        return self._submit("generate", request, on_event)

    def unload(self) -> int:
        return self._submit("unload", None)

    def measure(self, parts: Sequence[Part]) -> int:
        """Ask what attachments would cost in context tokens; answered by a ``MediaCost`` event."""
        return self._submit("measure", tuple(parts))

    @property
    def model_info(self) -> ModelInfo | None:
        """The loaded model, as of the last ``ModelLoaded``/``ModelUnloaded`` event."""
        return self._info

    # -- worker -------------------------------------------------------------------

    def _worker_ended(self) -> None:
        self._free_session()

    def _do(self, job: Job) -> None:
        rid = job.request_id
        if job.kind == "load":
            assert isinstance(job.payload, LoadRequest)
            try:
                self._do_load(rid, job.payload)
            except LoadCancelled:
                self._emit(Done(rid, "stopped"))
        elif job.kind == "generate":
            assert isinstance(job.payload, GenerateRequest)
            self._do_generate(rid, job.payload)
        elif job.kind == "measure":
            assert isinstance(job.payload, tuple)
            if self._session is None:
                raise RequestError("No model is loaded: load a Gemma model first.")
            self._emit(MediaCost(rid, tuple(self._session.measure(job.payload))))
            self._emit(Done(rid, "measured"))
        elif job.kind == "unload":
            self._free_session()
            self._emit(ModelUnloaded(rid))
            self._emit(Done(rid, "unloaded"))

    def _do_load(self, rid: int, request: LoadRequest) -> None:
        self._free_session()
        t0 = time.perf_counter()
        last = [-1.0]

        def progress(fraction: float) -> None:
            if fraction - last[0] >= 0.01 or fraction >= 1.0:
                last[0] = fraction
                self._emit(LoadProgress(rid, fraction))

        session, notice = ModelSession.load(request, progress=progress, cancelled=lambda: self._is_stopped(rid))
        self._session = session
        self._info = session.info
        self._emit(ModelLoaded(rid, session.info, notice, round(time.perf_counter() - t0, 3)))
        self._emit(Done(rid, "loaded"))

    def _do_generate(self, rid: int, request: GenerateRequest) -> None:
        session = self._session
        if session is None:
            raise RequestError("No model is loaded: load a Gemma model first.")
        stop_reason = ""
        for event in session.generate(request, rid, should_stop=lambda: rid in self._stopped):
            if isinstance(event, Stats):
                stop_reason = event.stats.stop_reason
            self._emit(event)
        self._emit(Done(rid, stop_reason))

    def _free_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
            self._info = None


class EventQueue:
    """A callback that queues events, for clients that read them in a loop (CLI, tests)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[EngineEvent] = queue.Queue()

    def __call__(self, event: EngineEvent) -> None:
        self._queue.put(event)

    def get(self, timeout: float | None = None) -> EngineEvent:
        return self._queue.get(timeout=timeout)

    def until_done(self, request_id: int, timeout: float | None = None) -> Iterator[EngineEvent]:
        """Yield this request's events up to and including its ``Done``.

        Waits in short slices so Ctrl-C reaches the caller promptly.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"request {request_id} did not finish in {timeout} s")
            try:
                event = self._queue.get(timeout=0.1 if remaining is None else min(0.1, remaining))
            except queue.Empty:
                continue
            if getattr(event, "request_id", None) != request_id:
                continue
            yield event
            if isinstance(event, Done):
                return
