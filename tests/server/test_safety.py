"""Safe by default: loopback only without a key, keys checked and stored hashed, no CORS unless asked, limits."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import openai
import pytest

from app.engine import Engine
from app.server import KeyCheck, LocalServer, ServerError, ServerOptions, store_new_key, stored_key
from tests.server.conftest import ServerFactory, client


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_a_network_address_without_a_key_is_refused(engine: Engine, host: str) -> None:
    with pytest.raises(ServerError) as caught:
        LocalServer(engine, ServerOptions(host=host, port=0))
    assert "API key" in str(caught.value) and "\n" not in str(caught.value)


def test_a_network_address_with_a_key_listens(serve: ServerFactory) -> None:
    server = serve(host="0.0.0.0", key=KeyCheck.for_key("s3cret"))
    port = server.address.rsplit(":", 1)[1]
    reply = httpx.get(f"http://127.0.0.1:{port}/health", headers={"Authorization": "Bearer s3cret"}, timeout=10)
    assert reply.status_code == 200


def test_a_missing_or_wrong_key_is_401(serve: ServerFactory) -> None:
    server = serve(key=KeyCheck.for_key("right-key"))
    for key in ("wrong-key", "x"):
        with client(server.address, key) as api, pytest.raises(openai.AuthenticationError) as caught:
            api.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=1)
        assert caught.value.status_code == 401
    bare = httpx.get(server.address + "/v1/models", timeout=10)
    assert bare.status_code == 401 and bare.json()["error"]["type"] == "authentication_error"
    with client(server.address, "right-key") as api:
        good = api.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=1)
    assert good.choices[0].finish_reason in ("stop", "length")


def test_a_new_key_is_shown_once_and_stored_only_as_a_salted_hash(tmp_path: Path) -> None:
    path = tmp_path / "server.json"
    key = store_new_key(path)
    assert len(key) > 40
    text = path.read_text(encoding="utf-8")
    assert key not in text
    assert json.loads(text)["api_key"]["kdf"] == "scrypt"
    stored = stored_key(path)
    assert stored is not None and stored.matches(key) and not stored.matches(key + "x")
    second = store_new_key(path)
    assert second != key and not stored_key(path).matches(key)  # type: ignore[union-attr]


def test_no_cors_headers_unless_an_origin_is_given(serve: ServerFactory) -> None:
    plain = serve()
    asked = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    reply = httpx.options(plain.address + "/v1/chat/completions", headers=asked, timeout=10)
    assert "access-control-allow-origin" not in reply.headers
    allowed = serve(cors_origins=("https://app.example",))
    ok = httpx.options(
        allowed.address + "/v1/chat/completions",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert ok.headers.get("access-control-allow-origin") == "https://app.example"
    other = httpx.get(allowed.address + "/health", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "access-control-allow-origin" not in other.headers


def test_a_body_too_large_is_413(serve: ServerFactory) -> None:
    server = serve(max_body_bytes=1024 * 1024)
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}]}
    reply = httpx.post(server.address + "/v1/chat/completions", json=big, timeout=30)
    assert reply.status_code == 413 and "MiB" in reply.json()["error"]["message"]

    def chunked() -> object:  # no Content-Length: the cap holds while reading
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}]}'

    streamed = httpx.post(server.address + "/v1/chat/completions", content=chunked(), timeout=30)  # type: ignore[arg-type]
    assert streamed.status_code == 413


def test_a_taken_port_is_one_clear_line(engine: Engine) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    try:
        port = holder.getsockname()[1]
        with pytest.raises(ServerError) as caught:
            LocalServer(engine, ServerOptions(port=port)).start()
        assert "already in use" in str(caught.value)
    finally:
        holder.close()


def test_no_model_loaded_is_503(tiny_model: Path) -> None:
    from app.engine import EventQueue

    bare = Engine(EventQueue())
    server = LocalServer(bare, ServerOptions(port=0))
    server.start()
    try:
        assert httpx.get(server.address + "/health", timeout=10).status_code == 503
        reply = httpx.post(
            server.address + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=10
        )
        assert reply.status_code == 503 and "No model" in reply.json()["error"]["message"]
        assert httpx.get(server.address + "/v1/models", timeout=10).json()["data"] == []
    finally:
        server.stop()
        bare.close()
