"""The model engine: llama.cpp on a worker thread, with typed requests and events.

No Qt here: the CLI and the window are two clients of the same API.
"""

from __future__ import annotations

from app.engine.engine import Engine, EventQueue
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
