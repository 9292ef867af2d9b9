"""The remote engine against real OpenAI-compatible servers with the tiny Gemma 4, each a subprocess on
127.0.0.1: llama-cpp-python's own (``python -m llama_cpp.server``) and ``gemma-desk serve`` (see conftest)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.chat import AnswerRecorder, ChatOptions, ChatSession
from app.engine import AnswerDelta, Done, EngineEvent, EventQueue, Failed, GenerateRequest, Message, Stats
from app.remote import RemoteConfig, RemoteEngine, RemoteError, list_models
from app.store import Store
from tests.remote.conftest import Connected, connect
from tests.remote.servers import OpenAIServer, free_port

LONG = GenerateRequest((Message.text("user", "Write forever"),), max_tokens=1800)


def test_an_answer_streams_with_measured_stats(remote: Connected, openai_server: OpenAIServer) -> None:
    engine, events = remote
    info = engine.model_info
    assert info is not None and info.backend == f"Remote (127.0.0.1:{openai_server.port})"
    if "llama_cpp.server" in " ".join(openai_server.command):  # it does not say what the model takes: the config does
        assert (info.has_vision, info.has_audio) == (True, False)
    else:  # a Gemma Desk server says: the tiny model is served without a projector
        assert (info.has_vision, info.has_audio, info.n_ctx > 0) == (False, False, True)
    # long enough to come in many pieces even from a server that merges tokens into fewer chunks (ours: 125 a s)
    request = GenerateRequest((Message.text("user", "Hi"),), max_tokens=400, ignore_eos=True)
    seen = list(events.until_done(engine.generate(request)))
    answer = [e for e in seen if isinstance(e, AnswerDelta)]
    assert len(answer) > 5 and "".join(e.text for e in answer).strip()
    stats = next(e.stats for e in seen if isinstance(e, Stats))
    assert 5 < stats.completion_tokens <= 400 and stats.backend == "Remote"
    assert stats.ttft_s > 0 and stats.decode_s > 0 and stats.decode_tps > 0
    assert stats.stop_reason in ("end", "max_tokens")
    assert seen[-1] == Done(seen[-1].request_id, stats.stop_reason)


def test_stop_closes_the_stream_promptly_and_the_server_stays_usable(remote: Connected) -> None:
    engine, events = remote
    rid = engine.generate(LONG)
    pieces = 0
    stopped_at = 0.0
    seen: list[EngineEvent] = []
    for event in events.until_done(rid, timeout=60):
        seen.append(event)
        if isinstance(event, AnswerDelta):
            pieces += 1
            if pieces == 3:
                stopped_at = time.monotonic()
                engine.stop(rid)
    assert time.monotonic() - stopped_at < 2.0
    assert seen[-1] == Done(rid, "stopped") and not any(isinstance(e, Failed) for e in seen)
    assert pieces < 300  # far from the 1,800 asked for
    again = list(events.until_done(engine.generate(GenerateRequest((Message.text("user", "Hi"),), max_tokens=5))))
    assert isinstance(again[-1], Done) and again[-1].stop_reason in ("end", "max_tokens")


def test_a_wrong_key_is_refused_in_one_line(start_server: Callable[[str], OpenAIServer]) -> None:
    server = start_server("right-key")
    events = EventQueue()
    engine = RemoteEngine(events, RemoteConfig(server.url, "wrong-key"))
    failed = [e for e in events.until_done(engine.load(), timeout=30) if isinstance(e, Failed)]
    engine.close()
    assert [e.message for e in failed] == ["The server refused the API key."]
    with pytest.raises(RemoteError) as error:
        list_models(server.url, "")
    assert str(error.value) == "The server refused the API key (none was given)."
    assert len(list_models(server.url, "right-key")) == 1


def test_an_unreachable_server_is_one_line() -> None:
    port = free_port()  # nothing listens there
    events = EventQueue()
    engine = RemoteEngine(events, RemoteConfig(f"http://127.0.0.1:{port}"))
    failed = [e for e in events.until_done(engine.load(), timeout=30) if isinstance(e, Failed)]
    engine.close()
    assert [e.message for e in failed] == [f"Could not reach http://127.0.0.1:{port}/v1: connection refused"]


def test_a_server_killed_mid_answer_leaves_the_answer_kept_as_stopped(
    start_server: Callable[[str], OpenAIServer], tmp_path: Path
) -> None:
    server = start_server("")
    engine, events = connect(RemoteConfig(server.url))

    def kill_on_first_piece(event: EngineEvent) -> None:
        events(event)
        if isinstance(event, AnswerDelta):
            server.kill()

    engine._on_event = kill_on_first_piece  # the server dies as the first words arrive
    try:
        with Store.open(tmp_path / "chats.sqlite3") as store:
            chat = ChatSession(store)
            chat.new()
            turn = chat.send("Write forever", model=engine.config.model)
            request = chat.request_for(turn, ChatOptions(max_tokens=1800))
            recorder = AnswerRecorder(turn.answer.id, engine.generate(request))
            shown = list(chat.record(recorder, events.until_done(recorder.request_id, timeout=60)))
            kept = store.get_message(turn.answer.id)
    finally:
        engine.close()
    assert [e.message for e in shown if isinstance(e, Failed)] == ["The server stopped in the middle of the answer."]
    assert kept.status == "stopped" and kept.content.strip()
    assert kept.error == "The server stopped in the middle of the answer."


def test_ask_remote_prints_the_answer(openai_server: OpenAIServer, python: str, cli_env: dict[str, str]) -> None:
    args = ["ask", "--remote", openai_server.url, "--max-tokens", "12", "--json", "Hello"]
    proc = subprocess.run(
        [python, "-m", "app", *args], capture_output=True, text=True, env=cli_env, timeout=120, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[-2:] == ["stats", "done"] and set(kinds[:-2]) <= {"thinking", "answer"} and "answer" in kinds
    assert events[-2]["backend"] == "Remote" and events[-2]["completion_tokens"] > 0
    plain = subprocess.run(
        [python, "-m", "app", "ask", "--remote", openai_server.url, "--max-tokens", "12", "Hello"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert plain.returncode == 0, plain.stderr
    answer = "".join(e["text"] for e in events if e["type"] == "answer")
    assert plain.stdout.strip() and answer.strip()


def test_ask_remote_says_why_it_cannot_connect(python: str, cli_env: dict[str, str]) -> None:
    port = free_port()
    proc = subprocess.run(
        [python, "-m", "app", "ask", "--remote", f"http://127.0.0.1:{port}", "Hello"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"gemma-desk: Could not reach http://127.0.0.1:{port}/v1: connection refused"
