"""The local OpenAI-compatible server: other programs on this machine (or, with a key, the network) chat with
the model the engine has loaded. Qt-free: ``gemma-desk serve`` and the window both start a ``LocalServer``."""

from __future__ import annotations

from app.server.errors import ApiError, ServerError
from app.server.keys import KeyCheck, KeyHash, store_new_key, stored_key
from app.server.local import LocalServer
from app.server.options import DEFAULT_HOST, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PORT, ServerOptions, is_loopback

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_PORT",
    "ApiError",
    "KeyCheck",
    "KeyHash",
    "LocalServer",
    "ServerError",
    "ServerOptions",
    "is_loopback",
    "store_new_key",
    "stored_key",
]
