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

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from app.engine.errors import EngineError, RequestError
from app.engine.events import (
    Done,
    EngineEvent,
    Failed,
    GenerateRequest,
    LoadProgress,
    LoadRequest,
    MediaCost,
    ModelInfo,
    ModelLoaded,
    ModelUnloaded,
    Stats,
)
from app.engine.prompt import Part
from app.engine.session import LoadCancelled, ModelSession

log = logging.getLogger(__name__)

EventCallback = Callable[[EngineEvent], None]


@dataclass(frozen=True, slots=True)
class _Job:
    request_id: int
    kind: str  # "load", "generate", "measure", "unload", "quit"
    payload: LoadRequest | GenerateRequest | tuple[Part, ...] | None = None


class Engine:
    """Owns the model on a dedicated thread; thread-safe to call from anywhere."""

    def __init__(self, on_event: EventCallback) -> None:
        self._on_event = on_event
        self._sinks: dict[int, EventCallback] = {}  # request id -> its own callback, until its Done
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopped: set[int] = set()
        self._current: int | None = None
        self._session: ModelSession | None = None
        self._info: ModelInfo | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="gemma-engine", daemon=True)
        self._thread.start()

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

    def stop(self, request_id: int | None = None) -> None:
        """Stop a request (the running one when ``None``); it ends within one token."""
        with self._lock:
            target = request_id if request_id is not None else self._current
            if target is not None:
                self._stopped.add(target)

    @property
    def model_info(self) -> ModelInfo | None:
        """The loaded model, as of the last ``ModelLoaded``/``ModelUnloaded`` event."""
        return self._info

    def close(self, timeout: float = 10.0) -> None:
        """Stop whatever runs, free the model and end the thread."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            if self._current is not None:
                self._stopped.add(self._current)
        self._jobs.put(_Job(0, "quit"))
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - a hung native call
            log.warning("engine thread did not finish within %.1f s", timeout)

    # -- worker -------------------------------------------------------------------

    def _submit(
        self,
        kind: str,
        payload: LoadRequest | GenerateRequest | tuple[Part, ...] | None,
        sink: EventCallback | None = None,
    ) -> int:
        if self._closed:
            raise RequestError("The engine has been shut down.")
        with self._lock:  # the sink is in place before the worker can see the job
            request_id = next(self._ids)
            if sink is not None:
                self._sinks[request_id] = sink
        self._jobs.put(_Job(request_id, kind, payload))
        return request_id

    def _emit(self, event: EngineEvent) -> None:
        rid = getattr(event, "request_id", None)
        with self._lock:
            sink = self._sinks.get(rid, self._on_event) if rid is not None else self._on_event
            if isinstance(event, Done):
                self._sinks.pop(event.request_id, None)
        try:
            sink(event)
        except Exception:  # a client's bug must not kill the engine
            log.exception("event callback failed for %r", type(event).__name__)

    def _is_stopped(self, request_id: int) -> bool:
        return request_id in self._stopped

    def _run(self) -> None:
        try:
            while True:
                job = self._jobs.get()
                if job.kind == "quit":
                    break
                with self._lock:
                    self._current = job.request_id
                try:
                    self._handle(job)
                finally:
                    with self._lock:
                        self._current = None
                        self._stopped.discard(job.request_id)
        finally:
            self._free_session()
            # Anything still queued ends too, so no client waits forever.
            while not self._jobs.empty():
                job = self._jobs.get_nowait()
                if job.kind != "quit":
                    self._emit(Done(job.request_id, "stopped"))

    def _handle(self, job: _Job) -> None:
        rid = job.request_id
        if self._is_stopped(rid):
            self._emit(Done(rid, "stopped"))
            return
        try:
            if job.kind == "load":
                assert isinstance(job.payload, LoadRequest)
                self._do_load(rid, job.payload)
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
        except LoadCancelled:
            self._emit(Done(rid, "stopped"))
        except EngineError as exc:
            self._emit(Failed(rid, str(exc), type(exc).__name__))
            self._emit(Done(rid, "error"))
        except Exception as exc:
            log.exception("engine request %d failed", rid)
            self._emit(Failed(rid, f"Internal error: {type(exc).__name__}: {exc}", "InternalError"))
            self._emit(Done(rid, "error"))

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
