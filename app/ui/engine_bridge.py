"""The Qt face of the engine: worker-thread callbacks become signals on the GUI thread.

The engine calls back on its own thread, hundreds of times a second while it
streams. Events go into a queue, and only the first event of a batch sends a
(queued) wake-up signal; the GUI thread drains the whole batch at once,
merging consecutive text pieces, and fans it out into typed signals. So the
cost on both threads follows the GUI's frame rate, not the token rate.

The engine may be swapped: the in-process one, or a remote OpenAI-compatible server (``use_remote``), and back
(``use_local``). Each engine the bridge has used gets its own range of request ids, so a late event from the
engine just left (its answer ending as stopped while it closes, off the GUI thread) never matches a request of
the new one; its model events (loaded, unloaded, progress) are dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.engine import (
    AnswerDelta,
    ContextTrimmed,
    Done,
    Engine,
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
    ThinkingDelta,
    ToolCall,
)
from app.engine.prompt import Part

if TYPE_CHECKING:
    from app.remote import RemoteConfig

log = logging.getLogger(__name__)

#: Request ids of successive engines lie this far apart (an engine numbers its own requests from 1); the ids
#: travel in Qt signals as 32-bit ints, so the ranges go round after ``ID_RANGES`` engines.
ID_SPAN = 1 << 20
ID_RANGES = 2000
#: Events about the model itself: from an engine the window has left they would describe the wrong model.
_MODEL_EVENTS = (LoadProgress, ModelLoaded, ModelUnloaded)


class AnyEngine(Protocol):
    """What the window needs of an engine: the in-process :class:`Engine` or a remote server's."""

    def generate(self, request: GenerateRequest) -> int: ...
    def measure(self, parts: list[Part]) -> int: ...
    def stop(self, request_id: int | None = None) -> None: ...
    def unload(self) -> int: ...
    def close(self, timeout: float = 10.0) -> None: ...


E = TypeVar("E", bound=AnyEngine)


class EngineBridge(QObject):
    """Owns an :class:`Engine`; re-emits its events as signals on the GUI thread."""

    # Signals
    loadProgress = Signal(int, float)  # request id, 0…1
    modelLoaded = Signal(int, object, str)  # request id, ModelInfo, notice
    modelUnloaded = Signal(int)
    engineChanged = Signal()  # the window now talks to another engine (local ↔ remote): no model yet
    thinkingDelta = Signal(int, str)
    answerDelta = Signal(int, str)
    toolCall = Signal(int, object)  # request id, ToolCall (name, arguments, raw text, error)
    contextTrimmed = Signal(int, object)  # request id, ContextTrimmed
    mediaCost = Signal(int, object)  # request id, tuple of (media id, tokens)
    stats = Signal(int, object)  # request id, GenerationStats
    failed = Signal(int, str, str)  # request id, message, kind
    done = Signal(int, str)  # request id, stop reason
    _event = Signal(object)  # one event, queued (tests and tools may inject events here)
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._pending: deque[tuple[int, EngineEvent]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._generation = 0  # which engine: events carry it, ids are offset by it
        self._closing: list[threading.Thread] = []
        self._engine: AnyEngine = Engine(self._callback(0))
        self.remote: RemoteConfig | None = None  # the remote server in use; None: the in-process engine
        self.model_info: ModelInfo | None = None
        self.loading_id: int | None = None
        self.server_requests = 0  # requests the window's own server is answering on this engine (its switch sets it)

    # -- requests -----------------------------------------------------------------

    @property
    def _base(self) -> int:
        return _base_of(self._generation)

    def load(self, request: LoadRequest) -> int:
        """Load a local model; when a remote server is in use, the in-process engine comes back first."""
        engine = self.use_local()
        self.model_info = None  # the engine frees the current model before loading the next
        self.loading_id = self._base + engine.load(request)
        return self.loading_id

    def generate(self, request: GenerateRequest) -> int:
        return self._base + self._engine.generate(request)

    def measure(self, parts: list[Part]) -> int:
        return self._base + self._engine.measure(parts)

    def stop(self, request_id: int | None = None) -> None:
        if request_id is None:
            self._engine.stop(None)
        elif self._base < request_id < self._base + ID_SPAN:  # (one of an engine left behind ends as it closes)
            self._engine.stop(request_id - self._base)

    def unload(self) -> int:
        return self._base + self._engine.unload()

    # -- which engine ---------------------------------------------------------------------

    @property
    def local_engine(self) -> Engine | None:
        """The in-process engine (what the window's own server shares); None while a remote one is in use."""
        return self._engine if isinstance(self._engine, Engine) else None

    def use_remote(self, config: RemoteConfig) -> int:
        """Chat through a remote OpenAI-compatible server: the local model is freed (off the GUI thread) and
        the server asked for the model, which arrives as ``modelLoaded`` or ``failed``."""
        from app.remote import RemoteEngine

        engine = self._swap(lambda callback: RemoteEngine(callback, config))
        self.remote = config
        self.loading_id = self._base + engine.load()
        return self.loading_id

    def use_local(self) -> Engine:
        """Back to the in-process engine (no model loaded until ``load``); it, as it is when already in use."""
        if isinstance(self._engine, Engine):
            return self._engine
        engine = self._swap(Engine)
        self.remote = None
        return engine

    def _swap(self, make: Callable[[Callable[[EngineEvent], None]], E]) -> E:
        old = self._engine
        self._generation += 1
        new = make(self._callback(self._generation))
        self._engine = new
        self.model_info, self.loading_id = None, None
        thread = threading.Thread(target=old.close, name="gemma-engine-close", daemon=True)
        thread.start()  # stops what it runs (its answer ends as stopped) and frees its model
        self._closing = [t for t in self._closing if t.is_alive()] + [thread]
        self.engineChanged.emit()
        return new

    @property
    def is_loading(self) -> bool:
        return self.loading_id is not None

    closed = False

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop what runs and free the model (the window calls this when it closes)."""
        self.closed = True
        self._engine.close(timeout)
        for thread in self._closing:
            thread.join(timeout)

    # -- events -------------------------------------------------------------------------

    def _callback(self, generation: int) -> Callable[[EngineEvent], None]:
        return lambda event: self._on_engine_event(generation, event)

    def _on_engine_event(self, generation: int, event: EngineEvent) -> None:
        """Engine thread: queue the event; wake the GUI thread once per batch."""
        with self._lock:
            self._pending.append((generation, event))
            if self._scheduled:
                return
            self._scheduled = True
        self._wake.emit()

    @Slot()
    def _drain(self) -> None:
        """GUI thread: take everything queued so far, merging runs of text pieces."""
        with self._lock:
            events = list(self._pending)
            self._pending.clear()
            self._scheduled = False
        merged: list[EngineEvent] = []
        for generation, event in events:
            if generation != self._generation and isinstance(event, _MODEL_EVENTS):
                continue  # about the model of an engine the window has left
            event = _shifted(event, _base_of(generation))
            last = merged[-1] if merged else None
            if isinstance(event, AnswerDelta) and isinstance(last, AnswerDelta) and last.request_id == event.request_id:
                merged[-1] = AnswerDelta(event.request_id, last.text + event.text)
            elif (
                isinstance(event, ThinkingDelta)
                and isinstance(last, ThinkingDelta)
                and last.request_id == event.request_id
            ):
                merged[-1] = ThinkingDelta(event.request_id, last.text + event.text)
            else:
                merged.append(event)
        for event in merged:
            self._on_event(event)

    @Slot(object)
    def _on_event(self, event: EngineEvent) -> None:
        rid = event.request_id
        if isinstance(event, AnswerDelta):
            self.answerDelta.emit(rid, event.text)
        elif isinstance(event, ThinkingDelta):
            self.thinkingDelta.emit(rid, event.text)
        elif isinstance(event, LoadProgress):
            self.loadProgress.emit(rid, event.fraction)
        elif isinstance(event, ModelLoaded):
            self.model_info = event.info
            self.modelLoaded.emit(rid, event.info, event.notice)
        elif isinstance(event, ModelUnloaded):
            self.model_info = None
            self.modelUnloaded.emit(rid)
        elif isinstance(event, ToolCall):
            self.toolCall.emit(rid, event)
        elif isinstance(event, ContextTrimmed):
            self.contextTrimmed.emit(rid, event)
        elif isinstance(event, MediaCost):
            self.mediaCost.emit(rid, event.costs)
        elif isinstance(event, Stats):
            self.stats.emit(rid, event.stats)
        elif isinstance(event, Failed):
            self.failed.emit(rid, event.message, event.kind)
        elif isinstance(event, Done):
            if rid == self.loading_id:
                self.loading_id = None
            self.done.emit(rid, event.stop_reason)


def _base_of(generation: int) -> int:
    return (generation % ID_RANGES) * ID_SPAN


def _shifted(event: EngineEvent, base: int) -> EngineEvent:
    """The event with its request id in the bridge's range for its engine."""
    return dataclasses.replace(event, request_id=event.request_id + base) if base else event
