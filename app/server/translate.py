"""An OpenAI chat-completions body → the engine's ``GenerateRequest``, checked field by field.

Thinking is on with ``chat_template_kwargs: {"enable_thinking": true}`` (as vLLM and llama-server take it) or
``reasoning_effort`` "low" / "medium" / "high" ("none" or "minimal" turn it off); the template's own switch
has no levels, so every effort means on. Extensions: ``top_k``, ``min_p``, ``repeat_penalty``, ``grammar``
(a llama.cpp GBNF grammar, checked by the engine) and ``ignore_eos`` (write ``max_tokens`` tokens whatever the
model would say: benchmarks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.engine.events import GenerateRequest, SamplingParams
from app.engine.prompt import Message
from app.engine.tool_calls import ToolCall
from app.server.content import ContentReader
from app.server.errors import ApiError

_ROLES = ("system", "developer", "user", "assistant", "tool")
_EFFORT_ON = ("low", "medium", "high")
_EFFORT_OFF = ("none", "minimal")
MAX_MESSAGES = 10_000
#: The deepest JSON taken: the body, and a call's arguments sent as a JSON string inside it.
MAX_JSON_DEPTH = 64
MAX_TOOLS = 256


@dataclass(frozen=True, slots=True)
class Reply:
    """How to answer: streamed or not, with a usage chunk or not."""

    stream: bool = False
    include_usage: bool = False
    stop: tuple[str, ...] = ()


def parse_request(body: Any, reader: ContentReader) -> tuple[GenerateRequest, Reply]:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise ApiError(400, "messages must be a non-empty list.", param="messages")
    if len(raw_messages) > MAX_MESSAGES:
        raise ApiError(400, f"Too many messages ({len(raw_messages):,}; the limit is {MAX_MESSAGES:,}).")
    if body.get("n", 1) != 1:
        raise ApiError(400, "Only n = 1 is supported.", param="n")
    system, messages = _messages(raw_messages, reader)
    request = GenerateRequest(
        messages=messages,
        system=system,
        thinking=_thinking(body),
        max_tokens=_max_tokens(body),
        sampling=_sampling(body),
        tools=_tools(body),
        ignore_eos=_flag(body, "ignore_eos"),
    )
    return request, _reply(body)


def _messages(raw: list[Any], reader: ContentReader) -> tuple[str | None, tuple[Message, ...]]:
    systems: list[str] = []
    messages: list[Message] = []
    call_names: dict[str, str] = {}
    for i, item in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(item, dict) or item.get("role") not in _ROLES:
            raise ApiError(400, f"{where}.role must be one of {', '.join(_ROLES)}.", param=where)
        role = item["role"]
        if role in ("system", "developer"):
            parts = reader.parts(item.get("content"), where)
            if any(p.type != "text" for p in parts):
                raise ApiError(400, f"{where}: a system message takes text only.", param=where)
            systems.append("".join(p.text for p in parts))
        elif role == "user":
            messages.append(Message("user", reader.parts(item.get("content"), where)))
        elif role == "assistant":
            messages.append(_assistant(item, where, reader, call_names))
        else:
            call_id = item.get("tool_call_id")
            if not isinstance(call_id, str):
                raise ApiError(400, f"{where}.tool_call_id must name the call it answers.", param=where)
            parts = reader.parts(item.get("content"), where)
            given = item.get("name")
            name = given if isinstance(given, str) else call_names.get(call_id, "")
            messages.append(Message("tool", parts, tool_call_id=call_id, name=name))
    if not messages:
        raise ApiError(400, "messages must hold at least one user message.", param="messages")
    return ("\n\n".join(systems) if systems else None), tuple(messages)


def _assistant(item: dict[str, Any], where: str, reader: ContentReader, names: dict[str, str]) -> Message:
    parts = reader.parts(item.get("content"), where)
    calls: list[ToolCall] = []
    raw_calls = item.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise ApiError(400, f"{where}.tool_calls must be a list.", param=where)
    for j, call in enumerate(raw_calls):
        spot = f"{where}.tool_calls[{j}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ApiError(400, f"{spot}.function.name must be a string.", param=spot)
        arguments = function.get("arguments") or "{}"
        try:
            parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
        except (ValueError, RecursionError):
            raise ApiError(400, f"{spot}.function.arguments must be a JSON object.", param=spot) from None
        if isinstance(parsed, dict) and json_depth(parsed) > MAX_JSON_DEPTH:
            raise ApiError(400, f"{spot}.function.arguments nest deeper than {MAX_JSON_DEPTH} levels.", param=spot)
        if not isinstance(parsed, dict):
            raise ApiError(400, f"{spot}.function.arguments must be a JSON object.", param=spot)
        call_id = call.get("id") if isinstance(call.get("id"), str) else f"call_{len(names) + 1}"
        names[call_id] = function["name"]
        calls.append(ToolCall(function["name"], parsed, "", call_id))
    thinking = item.get("reasoning_content") if calls else None
    return Message("assistant", parts, thinking=thinking if isinstance(thinking, str) else "", tool_calls=tuple(calls))


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ApiError(400, f"{key} must be true or false.", param=key)
    return value


def _thinking(body: dict[str, Any]) -> bool:
    kwargs = body.get("chat_template_kwargs")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ApiError(400, "chat_template_kwargs must be an object.", param="chat_template_kwargs")
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in _EFFORT_ON + _EFFORT_OFF:
        raise ApiError(400, "reasoning_effort must be none, minimal, low, medium or high.", param="reasoning_effort")
    if kwargs and "enable_thinking" in kwargs:
        if not isinstance(kwargs["enable_thinking"], bool):
            raise ApiError(400, "chat_template_kwargs.enable_thinking must be true or false.")
        return bool(kwargs["enable_thinking"])
    return effort in _EFFORT_ON


def _number(body: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ApiError(400, f"{key} must be a number from {low:g} to {high:g}.", param=key)
    return float(value)


def _integer(body: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, f"{key} must be a whole number from {low:,} to {high:,}.", param=key)
    return value


def _max_tokens(body: dict[str, Any]) -> int | None:
    first = _integer(body, "max_completion_tokens", 1, 10_000_000)
    return first if first is not None else _integer(body, "max_tokens", 1, 10_000_000)


def _sampling(body: dict[str, Any]) -> SamplingParams:
    defaults = SamplingParams()
    temperature = _number(body, "temperature", 0.0, 100.0)
    top_p = _number(body, "top_p", 0.0, 1.0)
    top_k = _integer(body, "top_k", 0, 1_000_000)
    min_p = _number(body, "min_p", 0.0, 1.0)
    repeat = _number(body, "repeat_penalty", 0.0, 10.0)
    seed = _integer(body, "seed", -(2**63), 2**64 - 1)
    grammar = body.get("grammar")
    if grammar is not None and not isinstance(grammar, str):
        raise ApiError(400, "grammar must be a GBNF grammar as a string.", param="grammar")
    return SamplingParams(
        temperature=defaults.temperature if temperature is None else temperature,
        top_p=defaults.top_p if top_p is None else top_p,
        top_k=defaults.top_k if top_k is None else top_k,
        min_p=defaults.min_p if min_p is None else min_p,
        repeat_penalty=defaults.repeat_penalty if repeat is None else repeat,
        seed=None if seed is None or seed < 0 else seed % 2**32,
        grammar=grammar or None,
    )


def _tools(body: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if tools is None or choice == "none":
        return ()
    if choice not in (None, "auto"):
        raise ApiError(400, 'tool_choice may be "auto" or "none" here.', param="tool_choice")
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise ApiError(400, f"tools must be a list of at most {MAX_TOOLS} function declarations.", param="tools")
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ApiError(400, f'tools[{i}] must be {{"type": "function", "function": {{"name", …}}}}.', param="tools")
        if "parameters" in function and not isinstance(function["parameters"], dict):
            raise ApiError(400, f"tools[{i}].function.parameters must be a JSON schema object.", param="tools")
    return tuple(tools)


def _reply(body: dict[str, Any]) -> Reply:
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "stream must be true or false.", param="stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise ApiError(400, "stream_options must be an object.", param="stream_options")
    stop = body.get("stop")
    stops = (stop,) if isinstance(stop, str) else tuple(stop) if isinstance(stop, list) else ()
    if stop is not None and (not all(isinstance(s, str) and s for s in stops) or len(stops) > 4):
        raise ApiError(400, "stop must be a string or a list of up to 4 non-empty strings.", param="stop")
    return Reply(stream=stream, include_usage=stream and bool(options.get("include_usage")), stop=stops)


def json_depth(value: Any) -> int:
    """How deep ``value`` nests (a scalar: 1), counted without recursion and only as far as the limit."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest
