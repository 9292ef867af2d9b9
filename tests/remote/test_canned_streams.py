"""The remote engine against a real HTTP server replaying canned streams: each way servers send thinking,
answers and tool calls, what is sent to them, and every failure as one line a person can act on."""

from __future__ import annotations

import base64
import io
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.chat import AnswerRecorder, ChatOptions, ChatSession
from app.engine import (
    AnswerDelta,
    Done,
    EngineEvent,
    EventQueue,
    Failed,
    GenerateRequest,
    Message,
    Part,
    SamplingParams,
    Stats,
    ThinkingDelta,
    ToolCall,
)
from app.engine.tool_calls import ToolCall as Call
from app.media import audio_from_samples, image_from_array
from app.remote import RemoteConfig, RemoteEngine
from app.store import Store
from tests.remote.conftest import Connected, connect
from tests.remote.servers import CannedServer, delta

HELLO = GenerateRequest((Message.text("user", "Hello"),))
USAGE = {"prompt_tokens": 120, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 100}}


def run(connected: Connected, request: GenerateRequest = HELLO) -> list[EngineEvent]:
    engine, events = connected
    return list(events.until_done(engine.generate(request), timeout=30))


def text(events: list[EngineEvent], kind: type[ThinkingDelta] | type[AnswerDelta]) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def test_reasoning_content_is_thinking_and_usage_gives_the_stats(
    canned: CannedServer, canned_remote: Connected
) -> None:
    canned.reply(
        delta(role="assistant"),
        delta(reasoning_content="Let me "),
        delta(reasoning_content="think."),
        delta(content="Hello"),
        delta(content=" there!", finish_reason="stop"),
        {"choices": [], "usage": USAGE},
        "[DONE]",
        delay_s=0.02,
    )
    events = run(canned_remote)
    assert (text(events, ThinkingDelta), text(events, AnswerDelta)) == ("Let me think.", "Hello there!")
    stats = next(e.stats for e in events if isinstance(e, Stats))
    assert (stats.prompt_tokens, stats.reused_tokens, stats.completion_tokens) == (120, 100, 3)
    assert stats.backend == "Remote" and stats.stop_reason == "end"
    assert stats.ttft_s > 0 and stats.decode_s >= 0.04 and stats.decode_tps > 0  # measured from the stream
    assert events[-1] == Done(events[-1].request_id, "end")


def test_the_reasoning_field_is_thinking_too(canned: CannedServer, canned_remote: Connected) -> None:
    canned.reply(delta(reasoning="Hmm."), delta(content="Yes.", finish_reason="length"), "[DONE]")
    events = run(canned_remote)
    assert (text(events, ThinkingDelta), text(events, AnswerDelta)) == ("Hmm.", "Yes.")
    assert isinstance(events[-1], Done) and events[-1].stop_reason == "max_tokens"


def test_a_raw_gemma_thought_channel_in_content_is_split_by_our_parser(
    canned: CannedServer, canned_remote: Connected
) -> None:
    pieces = [
        "<|chan",
        "nel>thought\nThe user ",
        "greets me.<chan",
        "nel|>",
        "Hi",
        " there",
        "<|tool_call>call:clock{}",
    ]
    canned.reply(*[delta(content=p) for p in pieces], delta(content="<tool_call|>", finish_reason="stop"), "[DONE]")
    events = run(canned_remote)
    assert text(events, ThinkingDelta) == "The user greets me."
    assert text(events, AnswerDelta) == "Hi there"
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments, c.error) for c in calls] == [("clock", {}, "")]


def test_openai_tool_calls_split_over_chunks_are_put_together(canned: CannedServer, canned_remote: Connected) -> None:
    def call(index: int, **function: str) -> dict[str, object]:
        return {"index": index, "id": f"call_{index}", "type": "function", "function": function}

    canned.reply(
        delta(tool_calls=[call(0, name="calculator", arguments="")]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"expression": '}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '"2 + 2"}'}}]),
        delta(tool_calls=[call(1, name="files", arguments='{"path": ')]),
        delta(tool_calls=[{"index": 1, "function": {"arguments": "oops"}}], finish_reason="tool_calls"),
        "[DONE]",
    )
    events = run(canned_remote)
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [("calculator", {"expression": "2 + 2"}), ("files", {})]
    assert calls[0].error == "" and "not valid JSON" in calls[1].error
    assert isinstance(events[-1], Done) and events[-1].stop_reason == "end"


def test_a_stream_cut_mid_answer_is_kept_as_stopped_with_the_message(canned: CannedServer, tmp_path: Path) -> None:
    engine, events = connect(RemoteConfig(canned.url))
    canned.reply(delta(content="The answer is"), delta(content=" forty"), cut=True)
    try:
        with Store.open(tmp_path / "chats.sqlite3") as store:
            chat = ChatSession(store)
            chat.new()
            turn = chat.send("What is six times seven?", model=engine.config.model)
            recorder = AnswerRecorder(turn.answer.id, engine.generate(chat.request_for(turn, ChatOptions())))
            shown = list(chat.record(recorder, events.until_done(recorder.request_id, timeout=30)))
            kept = store.get_message(turn.answer.id)
    finally:
        engine.close()
    assert [e.message for e in shown if isinstance(e, Failed)] == ["The server stopped in the middle of the answer."]
    assert (kept.status, kept.content, kept.error) == (
        "stopped",
        "The answer is forty",
        "The server stopped in the middle of the answer.",
    )
    assert kept.model == "gemma-4-31b-it"


def test_what_is_sent_pictures_sound_thinking_sampling_tools_and_the_key(
    canned: CannedServer, canned_remote: Connected
) -> None:
    picture = image_from_array(np.full((20, 30, 3), 200, dtype=np.uint8))
    sound = audio_from_samples(np.sin(np.linspace(0, 400, 16000)).astype(np.float32) * 0.5, 16000)
    earlier = Call("calculator", {"expression": "1+1"}, "", "call_1")
    request = GenerateRequest(
        messages=(
            Message(
                "user", (Part("text", "Look:"), Part("image", payload=picture), Part("audio", payload=sound.clips[0]))
            ),
            Message("assistant", (), thinking="I should add.", tool_calls=(earlier,)),
            Message.tool_result(earlier, "2"),
        ),
        system="Be brief.",
        thinking=True,
        max_tokens=50,
        sampling=SamplingParams(seed=7),
        tools=({"type": "function", "function": {"name": "calculator", "parameters": {"type": "object"}}},),
    )
    canned.reply(delta(content="ok", finish_reason="stop"), "[DONE]")
    run(canned_remote, request)
    body, headers = canned.requests[-1], canned.headers[-1]
    assert headers["Authorization"] == "Bearer sk-test"
    assert (body["model"], body["stream"], body["stream_options"]) == ("gemma-4-31b-it", True, {"include_usage": True})
    assert body["chat_template_kwargs"] == {"enable_thinking": True}
    assert (body["max_tokens"], body["seed"], body["top_k"], body["temperature"], body["top_p"]) == (
        50,
        7,
        64,
        1.0,
        0.95,
    )
    assert body["tools"] == list(request.tools)
    system, user, assistant, tool = body["messages"]
    assert system == {"role": "system", "content": "Be brief."}
    assert user["content"][0] == {"type": "text", "text": "Look:"}
    url = user["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (30, 20)
    audio = user["content"][2]["input_audio"]
    assert audio["format"] == "wav"
    with wave.open(io.BytesIO(base64.b64decode(audio["data"]))) as clip:
        assert (clip.getframerate(), clip.getnchannels(), clip.getsampwidth(), clip.getnframes()) == (
            16000,
            1,
            2,
            16000,
        )
    assert assistant["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "1+1"}'}}
    ]
    assert assistant["reasoning_content"] == "I should add."
    assert tool == {"role": "tool", "content": "2", "tool_call_id": "call_1"}


def failure(canned: CannedServer, connected: Connected, *chunks: dict[str, object], **reply: object) -> tuple[str, str]:
    canned.reply(*chunks, **reply)
    events = run(connected)
    done = events[-1]
    assert isinstance(done, Done)
    return " | ".join(e.message for e in events if isinstance(e, Failed)), done.stop_reason


def test_http_errors_are_one_line_each(canned: CannedServer, canned_remote: Connected) -> None:
    busy = failure(canned, canned_remote, status=429, headers={"Retry-After": "7"})
    assert busy == ("The server is busy: try again in 7 s.", "error")
    key = failure(canned, canned_remote, status=401, body='{"error": {"message": "bad key"}}')
    assert key == ("The server refused the API key.", "error")
    gone = failure(canned, canned_remote, status=404)
    assert gone == ("The server does not have the model 'gemma-4-31b-it' (any more): choose another one.", "error")
    broken = failure(canned, canned_remote, status=500, body='{"error": {"message": "CUDA out of memory"}}')
    assert broken == ("The server failed (HTTP 500): CUDA out of memory", "error")
    refused = failure(canned, canned_remote, status=400, body='{"error": {"message": "image input is not supported"}}')
    assert refused == ("The server refused the request (HTTP 400): image input is not supported", "error")
    in_stream = failure(canned, canned_remote, delta(content="Hi"), {"error": {"message": "slot lost"}})
    assert in_stream == ("The server stopped in the middle of the answer: slot lost", "stopped")


def test_stop_closes_the_connection_even_before_the_server_answers(
    canned: CannedServer, canned_remote: Connected
) -> None:
    engine, events = canned_remote
    canned.reply(delta(content="never"), hold_s=60)
    rid = engine.generate(HELLO)
    time.sleep(0.5)  # the request is out; the server holds it
    t0 = time.monotonic()
    engine.stop(rid)
    seen = list(events.until_done(rid, timeout=10))
    assert time.monotonic() - t0 < 2.0
    assert seen[-1] == Done(rid, "stopped") and not any(isinstance(e, Failed) for e in seen)
    canned.reply(delta(content="Still here.", finish_reason="stop"), "[DONE]")
    assert text(run(canned_remote), AnswerDelta) == "Still here."  # the engine goes on


def test_load_needs_the_model_to_be_served(canned: CannedServer) -> None:
    canned.models = ["gemma-4-31b-it", "gemma-4-e4b-it"]
    events_seen = []
    for config in (RemoteConfig(canned.url, model="gemma-3-27b-it"), RemoteConfig(canned.url)):
        events = EventQueue()
        engine = RemoteEngine(events, config)
        events_seen.append([e for e in events.until_done(engine.load(), timeout=30) if isinstance(e, Failed)])
        engine.close()
    assert [e.message for e in events_seen[0]] == [
        f"The server at {canned.url[7:-3]} does not serve 'gemma-3-27b-it' (it serves gemma-4-31b-it, gemma-4-e4b-it)."
    ]
    assert [e.message for e in events_seen[1]] == [
        f"The server at {canned.url[7:-3]} serves 2 models (gemma-4-31b-it, gemma-4-e4b-it): choose one."
    ]


def test_a_silent_server_times_out_in_one_line(canned: CannedServer) -> None:
    engine, events = connect(RemoteConfig(canned.url, read_timeout_s=1.0))
    try:
        before = failure(canned, (engine, events), delta(content="never"), hold_s=30)
        midway = failure(canned, (engine, events), delta(content="Half an"), delta(content=" answer"), delay_s=30)
    finally:
        engine.close()
    host = canned.url.removeprefix("http://").removesuffix("/v1")
    assert before == (f"The server at {host} sent nothing for 1 s: it may be overloaded.", "error")
    assert midway == ("The server stopped in the middle of the answer: nothing came for 1 s.", "stopped")


def test_a_line_past_the_limit_and_deeply_nested_arguments_are_messages(
    canned: CannedServer, canned_remote: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.remote.stream as stream

    monkeypatch.setattr(stream, "MAX_LINE_BYTES", 4000)  # the real limit is 8 MiB: the same code, a smaller line
    canned.reply(delta(content="Hello"), delta(content="x" * 10_000), "[DONE]")
    events = run(canned_remote)
    assert text(events, AnswerDelta) == "Hello"  # what came before is kept
    failures = [e.message for e in events if isinstance(e, Failed)]
    assert failures == ["The server stopped in the middle of the answer: The server sent a line longer than 4.0 KB."]
    assert isinstance(events[-1], Done) and events[-1].stop_reason == "stopped"
    monkeypatch.undo()
    deep = "[" * 50_000 + "]" * 50_000
    canned.reply(
        delta(tool_calls=[{"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": deep}}]),
        "[DONE]",
    )
    calls = [e for e in run(canned_remote) if isinstance(e, ToolCall)]
    assert [(c.name, c.error) for c in calls] == [("f", "its arguments nest too deep")]


def test_the_stream_is_split_into_lines_whatever_the_chunks() -> None:
    from app.remote.stream import stream_lines

    pieces = [b"data: a\r", b"\ndata: b\n\nda", b"ta: c\rdata: d"]
    assert [line for line in stream_lines(pieces) if line] == ["data: a", "data: b", "data: c", "data: d"]
