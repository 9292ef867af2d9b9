"""Remote engines: Gemma through another machine's OpenAI-compatible server (llama-server, vLLM, Ollama, another
Gemma Desk), with the same requests and events as the in-process engine.

``RemoteEngine`` is a drop-in for ``app.engine.Engine`` as its clients use it (``load``, ``generate``, ``stop``,
``measure``, ``unload``, ``model_info``, ``close``, events through ``on_event``); ``list_models`` asks a server
which models it serves (for a model picker). No Qt here, and no llama.cpp: only HTTP (httpx).

For a client that holds an engine (the window's bridge): build ``RemoteEngine(on_event, RemoteConfig(url, key,
model))`` where it would build ``Engine(on_event)``; ``load()`` (or ``load(other_config)`` to switch servers or
models) takes the place of ``load(LoadRequest)`` and answers with the same ``ModelLoaded``/``Failed``/``Done``;
everything after that is the same. ``list_models`` blocks for up to its timeout: call it off the GUI thread.
"""

from __future__ import annotations

from app.remote.config import RemoteConfig, RemoteError, list_models
from app.remote.engine import RemoteEngine

__all__ = ["RemoteConfig", "RemoteEngine", "RemoteError", "list_models"]
