"""Background work as a one-liner, so no widget grows thread code of its own.

``run_in_background(fn, on_success, on_error)`` runs ``fn`` on a worker pool
and calls back on the GUI thread. ``run_on_db(fn, …)`` does the same on one
serial thread that owns every store call (SQLite work never runs
concurrently, and never on the GUI thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")

_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gemma-task")
_db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gemma-db")


class _Dispatcher(QObject):
    """Lives on the GUI thread; a queued signal carries callbacks back to it."""

    # Signals
    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._on_call, Qt.ConnectionType.QueuedConnection)  # never re-entrant

    @Slot(object)
    def _on_call(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("a callback on the GUI thread failed")


_dispatcher: _Dispatcher | None = None
_dispatcher_lock = threading.Lock()


def _gui_dispatcher() -> _Dispatcher:
    global _dispatcher
    with _dispatcher_lock:
        if _dispatcher is None:
            app = QCoreApplication.instance()
            if app is None:
                raise RuntimeError("run_in_background needs a QApplication")
            _dispatcher = _Dispatcher()
            _dispatcher.moveToThread(app.thread())
        return _dispatcher


def run_on_gui(fn: Callable[[], None]) -> None:
    """Call ``fn`` on the GUI thread (from any thread), soon."""
    _gui_dispatcher().call.emit(fn)


def _submit(
    executor: ThreadPoolExecutor,
    fn: Callable[[], T],
    on_success: Callable[[T], None] | None,
    on_error: Callable[[BaseException], None] | None,
) -> Future[T]:
    dispatcher = _gui_dispatcher()

    def done(future: Future[T]) -> None:
        error = future.exception()
        if error is not None:
            if on_error is not None:
                dispatcher.call.emit(lambda: on_error(error))
            else:
                log.error("background task failed", exc_info=error)
        elif on_success is not None:
            result = future.result()
            dispatcher.call.emit(lambda: on_success(result))

    future = executor.submit(fn)
    future.add_done_callback(done)
    return future


def run_in_background(
    fn: Callable[[], T],
    on_success: Callable[[T], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> Future[T]:
    """Run ``fn`` on the task pool; callbacks run on the GUI thread."""
    return _submit(_pool, fn, on_success, on_error)


def run_on_db(
    fn: Callable[[], T],
    on_success: Callable[[T], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> Future[T]:
    """Run ``fn`` on the single store thread; callbacks run on the GUI thread."""
    return _submit(_db, fn, on_success, on_error)


def wait_for_db(timeout: float = 10.0) -> None:
    """Block until every store call queued so far has run (shutdown, tests)."""
    _db.submit(lambda: None).result(timeout)
