"""The model engine: llama.cpp on a worker thread, with typed requests and events.

No Qt here: the CLI and the window are two clients of the same API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.engine.errors import (
    ContextError,
    EngineError,
    ModelFileError,
    ModelLoadError,
    RequestError,
)
from app.engine.events import (
    AnswerDelta,
    ContextTrimmed,
    Done,
    EngineEvent,
    Failed,
    GenerateRequest,
    GenerationStats,
    LoadProgress,
    LoadRequest,
    MediaCost,
    ModelInfo,
    ModelLoaded,
    ModelUnloaded,
    SamplingParams,
    Stats,
    ThinkingDelta,
    ToolCall,
)
from app.engine.prompt import Message, Part, TemplateError

if TYPE_CHECKING:
    from app.engine.engine import Engine, EventQueue


def __getattr__(name: str) -> object:
    """``Engine`` and ``EventQueue`` load llama.cpp: imported on first use, so reading a GGUF header
    (``app.engine.gguf_file``) or a request type does not load the native library."""
    if name in ("Engine", "EventQueue"):
        from app.engine import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnswerDelta",
    "ContextError",
    "ContextTrimmed",
    "Done",
    "Engine",
    "EngineError",
    "EngineEvent",
    "EventQueue",
    "Failed",
    "GenerateRequest",
    "GenerationStats",
    "LoadProgress",
    "LoadRequest",
    "MediaCost",
    "Message",
    "ModelFileError",
    "ModelInfo",
    "ModelLoadError",
    "ModelLoaded",
    "ModelUnloaded",
    "Part",
    "RequestError",
    "SamplingParams",
    "Stats",
    "TemplateError",
    "ThinkingDelta",
    "ToolCall",
]
