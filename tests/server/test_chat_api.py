"""The official ``openai`` client against the local server on the tiny Gemma 4: what an app built on the OpenAI
API sees (answers, streams, pictures, thinking, tool calls, usage, errors)."""

from __future__ import annotations

import base64
import io
import json

import httpx
import openai
import pytest
from PIL import Image

from app.engine import Engine
from tests.chat.tool_grammar import answer_grammar, calls_grammar
from tests.fixtures.tiny_gemma4 import special_token_id
from tests.server.conftest import ServerFactory, client


def png_data_url(color: tuple[int, int, int] = (200, 30, 30)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_an_answer_with_usage(serve: ServerFactory) -> None:
    server = serve()
    reply = client(server.address).chat.completions.create(
        model="anything",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        max_tokens=12,
        seed=7,
        extra_body={"grammar": answer_grammar("Hi there, friend.")},
    )
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hi there, friend."
    assert choice.finish_reason == "stop"
    assert reply.usage is not None and reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.model.startswith("tiny-gemma4")


def test_a_cut_answer_says_length(serve: ServerFactory) -> None:
    reply = client(serve().address).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Talk"}], max_completion_tokens=3, seed=1
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 3


def test_a_streamed_answer_arrives_in_chunks_then_usage(serve: ServerFactory) -> None:
    api = client(serve().address)
    messages = [{"role": "user", "content": "Stream please"}]
    words = " ".join(["one two three four"] * 12)  # long enough that no timing folds it into one chunk
    chunks = list(
        api.chat.completions.create(
            model="m",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"grammar": answer_grammar(words)},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == words
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 2  # really streamed
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == ["stop"]
    usage = chunks[-1].usage
    assert usage is not None and not chunks[-1].choices and usage.completion_tokens > 0
    # The same conversation again: the prompt comes from the prefix cache.
    again = api.chat.completions.create(model="m", messages=messages, max_tokens=2)  # type: ignore[arg-type]
    assert again.usage is not None and again.usage.prompt_tokens_details is not None
    assert again.usage.prompt_tokens_details.cached_tokens > 0


def test_the_raw_stream_ends_with_done(serve: ServerFactory) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "stream": True}
    with httpx.stream("POST", serve().address + "/v1/chat/completions", json=body, timeout=60) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in reply.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2][6:])["choices"][0]["finish_reason"] == "length"


def test_a_picture_as_a_data_url(serve: ServerFactory) -> None:
    api = client(serve().address)
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": png_data_url()}}]
    reply = api.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": content}],  # type: ignore[misc,list-item]
        max_tokens=4,
        seed=2,
    )
    assert reply.usage is not None and reply.usage.prompt_tokens > 30  # the picture's tokens are in the prompt
    assert reply.choices[0].finish_reason in ("stop", "length")


def test_a_broken_picture_is_a_400_naming_it(serve: ServerFactory) -> None:
    api = client(serve().address)
    bad = "data:image/png;base64," + base64.b64encode(b"not a picture at all").decode()
    content = [{"type": "image_url", "image_url": {"url": bad}}]
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": content}])  # type: ignore[misc,list-item]
    assert "image 1" in str(caught.value)


def test_an_http_image_url_is_refused(serve: ServerFactory) -> None:
    api = client(serve().address)
    content = [{"type": "image_url", "image_url": {"url": "http://127.0.0.1:9/cat.png"}}]
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": content}])  # type: ignore[misc,list-item]
    assert "data: URL" in caught.value.message and "--allow-remote-images" in caught.value.message


def thought_grammar(thought: str, answer: str) -> str:
    start, end = special_token_id("<|channel>"), special_token_id("<channel|>")
    return f'root ::= <[{start}]> "thought\\n{thought}" <[{end}]> "{answer}"\n'


@pytest.mark.parametrize(
    "switch", [{"chat_template_kwargs": {"enable_thinking": True}}, {"reasoning_effort": "high"}], ids=str
)
def test_thinking_comes_back_as_reasoning_content(serve: ServerFactory, switch: dict[str, object]) -> None:
    api = client(serve().address)
    extra = {**switch, "grammar": thought_grammar("Let me see.", "Forty-two.")}
    reply = api.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Answer?"}], max_tokens=40, extra_body=extra
    )
    message = reply.choices[0].message
    assert getattr(message, "reasoning_content", None) == "Let me see."
    assert message.content == "Forty-two."
    chunks = list(
        api.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Again?"}], max_tokens=40, stream=True, extra_body=extra
        )
    )
    thought = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks)
    assert thought == "Let me see."
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Forty-two."


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_a_tool_call_comes_back_as_tool_calls_and_its_result_is_taken(serve: ServerFactory) -> None:
    api = client(serve().address)
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    reply = api.chat.completions.create(
        model="m",
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        max_tokens=40,
        extra_body={"grammar": calls_grammar('get_weather{city:"Paris"}')},
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    # The call and its result in the history: the model answers from it.
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 °C"})
    follow = api.chat.completions.create(
        model="m",
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        max_tokens=20,
        extra_body={"grammar": answer_grammar("It is sunny.")},
    )
    assert follow.choices[0].message.content == "It is sunny."
    assert follow.usage is not None and follow.usage.prompt_tokens_details is not None
    assert follow.usage.prompt_tokens_details.cached_tokens > 0


def test_a_streamed_tool_call(serve: ServerFactory) -> None:
    chunks = list(
        client(serve().address).chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "Weather?"}],
            tools=[WEATHER],  # type: ignore[list-item]
            stream=True,
            max_tokens=40,
            extra_body={"grammar": calls_grammar('get_weather{city:"Oslo"}')},
        )
    )
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert len(deltas) == 1 and deltas[0].function is not None
    assert deltas[0].function.name == "get_weather" and json.loads(deltas[0].function.arguments or "") == {
        "city": "Oslo"
    }
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def test_stop_strings_cut_the_answer(serve: ServerFactory) -> None:
    reply = client(serve().address).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Count"}],
        max_tokens=30,
        stop=["three"],
        extra_body={"grammar": answer_grammar("one two three four five")},
    )
    assert reply.choices[0].message.content == "one two "
    assert reply.choices[0].finish_reason == "stop"


def test_models_and_health(serve: ServerFactory, engine: Engine) -> None:
    server = serve()
    models = client(server.address).models.list()
    assert [m.id for m in models.data] == [models.data[0].id] and models.data[0].id.startswith("tiny-gemma4")
    meta = httpx.get(server.address + "/v1/models", timeout=10).json()["data"][0]["meta"]
    info = engine.model_info
    assert info is not None and (meta["vision"], meta["audio"], meta["n_ctx"]) == (True, True, info.n_ctx)
    health = httpx.get(server.address + "/health", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok", "model": models.data[0].id}


DEEP = '{"a":' * 5000 + "1" + "}" * 5000  # past Python's own recursion limit
NESTED = '{"a":' * 100 + "1" + "}" * 100  # parses, but deeper than the server takes


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": [{"type": "video_url"}]}]}, "type"),
        (  # arguments are a JSON string inside the body: its depth is checked too, not left to the template
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": DEEP}}]},
                    {"role": "tool", "tool_call_id": "a", "content": "ok"},
                ]
            },
            "arguments",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": NESTED}}]},
                ]
            },
            "nest deeper than 64",
        ),
    ],
)
def test_bad_requests_are_400_in_openai_shape(serve: ServerFactory, body: dict[str, object], needle: str) -> None:
    reply = httpx.post(serve().address + "/v1/chat/completions", json=body, timeout=30)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and needle in error["message"] and "\n" not in error["message"]


def test_unknown_paths_and_bad_json(serve: ServerFactory) -> None:
    address = serve().address
    missing = httpx.get(address + "/v1/embeddings", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["message"]
    broken = httpx.post(address + "/v1/chat/completions", content=b"{not json", timeout=10)
    assert broken.status_code == 400 and "JSON" in broken.json()["error"]["message"]
    deep = b'{"messages": ' + b"[" * 200 + b"]" * 200 + b"}"
    assert httpx.post(address + "/v1/chat/completions", content=deep, timeout=10).status_code == 400


def test_a_follow_up_about_a_picture_reuses_the_prefix(serve: ServerFactory) -> None:
    """OpenAI clients send the whole history every turn: the picture is neither re-read nor re-evaluated."""
    api = client(serve().address)
    picture = {"type": "image_url", "image_url": {"url": png_data_url((10, 120, 200))}}
    messages: list[dict[str, object]] = [{"role": "user", "content": [picture, {"type": "text", "text": "What?"}]}]
    first = api.chat.completions.create(
        model="m",
        messages=messages,  # type: ignore[arg-type]
        max_tokens=8,
        extra_body={"grammar": answer_grammar("A blue card.")},
    )
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And its shape?"},
    ]
    second = api.chat.completions.create(model="m", messages=messages, max_tokens=2)  # type: ignore[arg-type]
    assert first.usage is not None and second.usage is not None and second.usage.prompt_tokens_details is not None
    assert second.usage.prompt_tokens_details.cached_tokens > first.usage.prompt_tokens // 2


def test_a_streamed_answer_stops_at_a_stop_string_split_over_chunks(serve: ServerFactory) -> None:
    chunks = list(
        client(serve().address).chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "Count"}],
            max_tokens=30,
            stop=["thr", "xyz"],
            stream=True,
            extra_body={"grammar": answer_grammar("one two three four five")},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "one two "
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


def test_an_engine_refusal_is_a_400_or_an_error_in_the_stream(serve: ServerFactory) -> None:
    api = client(serve().address)
    broken = {"grammar": "root ::= ( unclosed"}
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], extra_body=broken)
    assert "grammar" in caught.value.message
    with pytest.raises(openai.APIError) as streamed:
        for _chunk in api.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True, extra_body=broken
        ):
            pass
    assert "grammar" in streamed.value.message
