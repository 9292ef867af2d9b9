"""The Qt face of the engine: worker-thread callbacks become signals on the GUI thread.

The engine calls back on its own thread, hundreds of times a second while it
streams. Events go into a queue, and only the first event of a batch sends a
(queued) wake-up signal; the GUI thread drains the whole batch at once,
merging consecutive text pieces, and fans it out into typed signals. So the
cost on both threads follows the GUI's frame rate, not the token rate.
"""

from __future__ import annotations

import threading
from collections import deque

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


class EngineBridge(QObject):
    """Owns an :class:`Engine`; re-emits its events as signals on the GUI thread."""

    # Signals
    loadProgress = Signal(int, float)  # request id, 0…1
    modelLoaded = Signal(int, object, str)  # request id, ModelInfo, notice
    modelUnloaded = Signal(int)
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
        self._pending: deque[EngineEvent] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._engine = Engine(self._on_engine_event)
        self.model_info: ModelInfo | None = None
        self.loading_id: int | None = None

    # -- requests -----------------------------------------------------------------

    def load(self, request: LoadRequest) -> int:
        self.model_info = None  # the engine frees the current model before loading the next
        self.loading_id = self._engine.load(request)
        return self.loading_id

    def generate(self, request: GenerateRequest) -> int:
        return self._engine.generate(request)

    def measure(self, parts: list[Part]) -> int:
        return self._engine.measure(parts)

    def stop(self, request_id: int | None = None) -> None:
        self._engine.stop(request_id)

    def unload(self) -> int:
        return self._engine.unload()

    @property
    def is_loading(self) -> bool:
        return self.loading_id is not None

    closed = False

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop what runs and free the model (the window calls this when it closes)."""
        self.closed = True
        self._engine.close(timeout)

    # -- events -------------------------------------------------------------------------

    def _on_engine_event(self, event: EngineEvent) -> None:
        """Engine thread: queue the event; wake the GUI thread once per batch."""
        with self._lock:
            self._pending.append(event)
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
        for event in events:
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
