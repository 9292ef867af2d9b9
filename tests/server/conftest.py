"""A real engine with the tiny Gemma 4 and its projector, and real servers on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest

from app.engine import Engine, EventQueue, LoadRequest, ModelLoaded
from app.server import LocalServer, ServerOptions


@pytest.fixture(scope="module")
def engine(tiny_model: Path, tiny_mmproj: Path) -> Iterator[Engine]:
    events = EventQueue()
    eng = Engine(events)
    got = list(events.until_done(eng.load(LoadRequest(tiny_model, tiny_mmproj, n_ctx=8192)), timeout=120))
    assert any(isinstance(e, ModelLoaded) for e in got), got
    yield eng
    eng.close()


ServerFactory = Callable[..., LocalServer]
_clients: list[openai.OpenAI] = []


def client(address: str, key: str = "none") -> openai.OpenAI:
    """The official client for a server started by ``serve``; closed with the server after the test."""
    api = openai.OpenAI(base_url=address + "/v1", api_key=key, max_retries=0, timeout=60)
    _clients.append(api)
    return api


@pytest.fixture
def serve(engine: Engine) -> Iterator[ServerFactory]:
    """Start a ``LocalServer`` on a free port with the given options; stopped after the test."""
    started: list[LocalServer] = []

    def start(**options: object) -> LocalServer:
        options.setdefault("port", 0)
        activity = options.pop("on_activity", None)
        server = LocalServer(engine, ServerOptions(**options), on_activity=activity)  # type: ignore[arg-type]
        server.start()
        started.append(server)
        return server

    yield start
    while _clients:
        _clients.pop().close()
    for server in started:
        server.stop()
