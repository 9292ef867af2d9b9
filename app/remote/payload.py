"""A ``GenerateRequest`` as the body of ``POST /v1/chat/completions`` (streamed).

Pictures go inline as ``image_url`` parts with a ``data:image/png;base64,…`` URL, sound as ``input_audio``
parts (16-bit PCM WAV, 16 kHz mono, base64). Thinking is asked for with ``chat_template_kwargs:
{"enable_thinking": …}``, the template variable Gemma 4's chat template reads (llama-server with ``--jinja`` and
vLLM pass it to the template; servers that do not know the field ignore it). ``top_k`` and ``min_p`` are
extensions of OpenAI's API that llama-server and vLLM honour; the grammar (a llama.cpp GBNF) only llama.cpp's
servers understand. Earlier tool calls and their results go in OpenAI's shapes (``tool_calls`` with JSON
``arguments``, ``role: tool`` messages with ``tool_call_id``).
"""

from __future__ import annotations

import base64
import io
import json
import wave
from typing import Any

import numpy as np

from app.engine.errors import RequestError
from app.engine.events import GenerateRequest
from app.engine.prompt import Message, Part
from app.media import AUDIO_SAMPLE_RATE, AudioClip, ImageInput, image_to_png_bytes


def request_body(request: GenerateRequest, model: str) -> dict[str, Any]:
    """The JSON body that asks ``model`` for ``request``'s answer as a stream."""
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend(message_dict(m) for m in request.messages)
    sampling = request.sampling
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,
        "chat_template_kwargs": {"enable_thinking": request.thinking},
    }
    if sampling.min_p > 0:
        body["min_p"] = sampling.min_p
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if sampling.grammar:
        body["grammar"] = sampling.grammar
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.ignore_eos:
        body["ignore_eos"] = True
    if request.tools:
        body["tools"] = [dict(tool) for tool in request.tools]
    return body


def message_dict(message: Message) -> dict[str, Any]:
    """One message in OpenAI's shape: text-only content as a string, anything with media as a list of parts."""
    if all(p.type == "text" for p in message.parts):
        content: Any = message.plain_text
    else:
        content = [part_dict(p) for p in message.parts]
    data: dict[str, Any] = {"role": message.role, "content": content}
    if message.role == "assistant" and message.tool_calls:
        data["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
            }
            for call in message.tool_calls
        ]
        if message.thinking.strip():  # re-sent only with the turn that made the calls, as in-process
            data["reasoning_content"] = message.thinking
        if content == "":
            data["content"] = None
    if message.role == "tool":
        data["tool_call_id"] = message.tool_call_id
    return data


def part_dict(part: Part) -> dict[str, Any]:
    if part.type == "text":
        return {"type": "text", "text": part.text}
    if part.type == "image" and isinstance(part.payload, ImageInput):
        data = base64.b64encode(image_to_png_bytes(part.payload)).decode("ascii")
        return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}
    if part.type == "audio" and isinstance(part.payload, AudioClip):
        data = base64.b64encode(wav_bytes(part.payload.samples)).decode("ascii")
        return {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}
    raise RequestError(f"A {part.type} part cannot be sent to a remote server without its decoded media.")


def wav_bytes(samples: np.ndarray, rate: int = AUDIO_SAMPLE_RATE) -> bytes:
    """Mono float samples in [-1, 1] as a 16-bit PCM WAV file."""
    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).round().astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()
