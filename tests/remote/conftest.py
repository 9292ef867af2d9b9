"""Fixtures for the remote engine: servers on 127.0.0.1 and a connected ``RemoteEngine``.

The tests against a real server run once per kind in ``SERVER_KINDS``: llama-cpp-python's own OpenAI-compatible
server, and ``gemma-desk serve``, both with the tiny Gemma 4.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.engine import Done, EventQueue, ModelLoaded
from app.remote import RemoteConfig, RemoteEngine
from tests.remote.servers import CannedServer, OpenAIServer

Connected = tuple[RemoteEngine, EventQueue]
#: A server kind: (model, api key, log file) → a server not yet started.
MakeServer = Callable[[Path, str, Path], OpenAIServer]


def _llama_cpp(model: Path, api_key: str, log: Path) -> OpenAIServer:
    if importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python's server extra (llama_cpp.server, uvicorn) is not installed")
    return OpenAIServer.llama_cpp(model, api_key=api_key, log=log)


def _gemma_desk(model: Path, api_key: str, log: Path) -> OpenAIServer:
    return OpenAIServer.gemma_desk(model, api_key=api_key, log=log)


SERVER_KINDS: dict[str, MakeServer] = {"llama_cpp": _llama_cpp, "gemma_desk": _gemma_desk}


@pytest.fixture(scope="module", params=sorted(SERVER_KINDS))
def server_kind(request: pytest.FixtureRequest) -> MakeServer:
    return SERVER_KINDS[request.param]


@pytest.fixture(scope="module")
def openai_server(
    server_kind: MakeServer, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenAIServer]:
    """A real OpenAI-compatible server with the tiny Gemma 4, shared by a module's tests."""
    server = server_kind(tiny_model, "", tmp_path_factory.mktemp("openai-server") / "server.log").start()
    yield server
    server.stop()


@pytest.fixture
def start_server(server_kind: MakeServer, tiny_model: Path, tmp_path: Path) -> Iterator[Callable[[str], OpenAIServer]]:
    """Start a server of the test's own (to kill, or with an API key); stopped after the test."""
    started: list[OpenAIServer] = []

    def start(api_key: str = "") -> OpenAIServer:
        server = server_kind(tiny_model, api_key, tmp_path / f"server{len(started)}.log").start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    server = CannedServer().start()
    yield server
    server.stop()


def connect(config: RemoteConfig, timeout: float = 30) -> Connected:
    """A ``RemoteEngine`` connected to ``config``'s server (its ``ModelLoaded`` seen)."""
    events = EventQueue()
    engine = RemoteEngine(events, config)
    seen = list(events.until_done(engine.load(), timeout=timeout))
    assert any(isinstance(e, ModelLoaded) for e in seen), seen
    assert isinstance(seen[-1], Done)
    return engine, events


@pytest.fixture
def remote(openai_server: OpenAIServer) -> Iterator[Connected]:
    engine, events = connect(RemoteConfig(openai_server.url))
    yield engine, events
    engine.close()


@pytest.fixture
def canned_remote(canned: CannedServer) -> Iterator[Connected]:
    engine, events = connect(RemoteConfig(canned.url, "sk-test", "gemma-4-31b-it"))
    yield engine, events
    engine.close()
