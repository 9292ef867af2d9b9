"""Errors the engine raises: each carries a message a person can act on."""

from __future__ import annotations


class EngineError(Exception):
    """Base class: ``str(error)`` is a one-line message fit to show a user."""


class ModelFileError(EngineError):
    """The model file is missing, not a GGUF, truncated or of an unknown kind."""


class ModelLoadError(EngineError):
    """llama.cpp could not load the model (memory, unsupported architecture, …)."""


class ContextError(EngineError):
    """The request does not fit the context window, or asks for more than the model allows."""


class RequestError(EngineError):
    """The request itself is unusable (an empty prompt, no model loaded, …)."""
