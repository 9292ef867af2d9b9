"""Fixtures for the remote engine: servers on 127.0.0.1 and a connected ``RemoteEngine``.

The same tests can run against any OpenAI-compatible server that starts as a subprocess: add a fixture that
returns a started ``OpenAIServer`` (``gemma-desk serve`` with the tiny model fits as llama-cpp-python's does).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine import Done, EventQueue, ModelLoaded
from app.remote import RemoteConfig, RemoteEngine
from tests.remote.servers import CannedServer, OpenAIServer

Connected = tuple[RemoteEngine, EventQueue]


def _llama_cpp_server(model: Path, log: Path, api_key: str = "") -> OpenAIServer:
    if importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python's server extra (llama_cpp.server, uvicorn) is not installed")
    return OpenAIServer.llama_cpp(model, api_key=api_key, log=log).start()


@pytest.fixture(scope="module")
def llama_server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAIServer]:
    """llama-cpp-python's own OpenAI-compatible server with the tiny Gemma 4, shared by a module's tests."""
    server = _llama_cpp_server(tiny_model, tmp_path_factory.mktemp("llama-server") / "server.log")
    yield server
    server.stop()


@pytest.fixture
def own_llama_server(tiny_model: Path, tmp_path: Path) -> Iterator[OpenAIServer]:
    """A server of the test's own (to kill)."""
    server = _llama_cpp_server(tiny_model, tmp_path / "server.log")
    yield server
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
def remote(llama_server: OpenAIServer) -> Iterator[Connected]:
    engine, events = connect(RemoteConfig(llama_server.url))
    yield engine, events
    engine.close()


@pytest.fixture
def canned_remote(canned: CannedServer) -> Iterator[Connected]:
    engine, events = connect(RemoteConfig(canned.url, "sk-test", "gemma-4-31b-it"))
    yield engine, events
    engine.close()
