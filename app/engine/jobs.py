"""What every engine shares, in-process or remote: one worker thread fed by a queue of requests.

Clients call ``stop``/``close`` and the subclass's request methods (which ``_submit`` a job) from any thread; each
returns a request id at once. Events come back through the ``on_event`` callback, on the worker thread, tagged with
that id, and every request ends with exactly one ``Done``: a request stopped before it ran ends ``stopped``, a
refusal (``EngineError``) or a bug ends ``error`` after a ``Failed`` with one line, and what is still queued when
the worker ends ends ``stopped``, so no client waits for ever. A request may name its own callback: all of its
events, up to its ``Done``, go there instead (the local server gives each HTTP request its own).

A subclass runs a job in ``_do(job)`` and may react to Stop on the running request in ``_stop_running`` (the remote
engine closes its connection there), to the end of each job in ``_job_ended`` and to the worker's end in
``_worker_ended``.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.engine.errors import EngineError, RequestError
from app.engine.events import Done, EngineEvent, Failed

log = logging.getLogger(__name__)

EventCallback = Callable[[EngineEvent], None]


@dataclass(frozen=True, slots=True)
class Job:
    request_id: int
    kind: str  # "load", "generate", "measure", "unload", "quit"
    payload: Any = None


class JobWorker:
    """A worker thread and its queue of requests; thread-safe to call from anywhere."""

    thread_name = "gemma-engine"

    def __init__(self, on_event: EventCallback) -> None:
        self._on_event = on_event
        self._sinks: dict[int, EventCallback] = {}  # request id -> its own callback, until its Done
        self._jobs: queue.Queue[Job] = queue.Queue()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopped: set[int] = set()
        self._current: int | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, request_id: int | None = None) -> None:
        """Stop a request (the running one when ``None``); it ends ``stopped`` (a queued one never runs)."""
        with self._lock:
            target = request_id if request_id is not None else self._current
            if target is None:
                return
            self._stopped.add(target)
            if target == self._current:
                self._stop_running()

    def close(self, timeout: float = 10.0) -> None:
        """Stop whatever runs and end the thread."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            if self._current is not None:
                self._stopped.add(self._current)
                self._stop_running()
        self._jobs.put(Job(0, "quit"))
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - a hung native call or connection
            log.warning("%s thread did not finish within %.1f s", self.thread_name, timeout)

    # -- for subclasses -------------------------------------------------------------

    def _submit(self, kind: str, payload: Any, sink: EventCallback | None = None) -> int:
        if self._closed:
            raise RequestError("The engine has been shut down.")
        with self._lock:  # the sink is in place before the worker can see the job
            request_id = next(self._ids)
            if sink is not None:
                self._sinks[request_id] = sink
        self._jobs.put(Job(request_id, kind, payload))
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

    def _do(self, job: Job) -> None:
        raise NotImplementedError

    def _stop_running(self) -> None:
        """Stop was asked for the running request (called with the lock held)."""

    def _job_ended(self) -> None:
        """A job ended (called with the lock held)."""

    def _worker_ended(self) -> None:
        """The worker is ending (on its thread, before what is queued is ended)."""

    # -- the worker -----------------------------------------------------------------

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
                        self._job_ended()
        finally:
            self._worker_ended()
            while not self._jobs.empty():
                job = self._jobs.get_nowait()
                if job.kind != "quit":
                    self._emit(Done(job.request_id, "stopped"))

    def _handle(self, job: Job) -> None:
        rid = job.request_id
        if self._is_stopped(rid):
            self._emit(Done(rid, "stopped"))
            return
        try:
            self._do(job)
        except EngineError as exc:
            self._emit(Failed(rid, str(exc), type(exc).__name__))
            self._emit(Done(rid, "error"))
        except Exception as exc:
            log.exception("%s request %d failed", self.thread_name, rid)
            self._emit(Failed(rid, f"Internal error: {type(exc).__name__}: {exc}", "InternalError"))
            self._emit(Done(rid, "error"))
