"""Sound and pictures from elsewhere: ``input_audio`` clips, and http(s) image URLs when the server allows them."""

from __future__ import annotations

import base64
import io
import wave

import numpy as np
import openai
import pytest

from tests.models.http_fixture import FileServer
from tests.server.conftest import ServerFactory, client
from tests.server.test_chat_api import png_data_url


def wav_base64(seconds: float = 1.0) -> str:
    rate = 16000
    t = np.arange(int(rate * seconds)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_sound_clip_as_input_audio(serve: ServerFactory) -> None:
    api = client(serve().address)
    plain = api.chat.completions.create(model="m", messages=[{"role": "user", "content": "Listen"}], max_tokens=2)
    content = [
        {"type": "text", "text": "Listen"},
        {"type": "input_audio", "input_audio": {"data": wav_base64(), "format": "wav"}},
    ]
    heard = api.chat.completions.create(model="m", messages=[{"role": "user", "content": content}], max_tokens=2)  # type: ignore[misc,list-item]
    assert plain.usage is not None and heard.usage is not None
    assert heard.usage.prompt_tokens > plain.usage.prompt_tokens  # the clip's tokens are in the prompt
    bad = [{"type": "input_audio", "input_audio": {"data": wav_base64(), "format": "ogg"}}]
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": bad}])  # type: ignore[misc,list-item]
    assert "wav, mp3, flac" in caught.value.message


def test_remote_images_when_allowed(serve: ServerFactory, server: FileServer) -> None:
    server.files["red.png"] = base64.b64decode(png_data_url().split(",", 1)[1])
    api = client(serve(allow_remote_images=True).address)
    content = [{"type": "text", "text": "What?"}, {"type": "image_url", "image_url": {"url": server.url("red.png")}}]
    reply = api.chat.completions.create(model="m", messages=[{"role": "user", "content": content}], max_tokens=2)  # type: ignore[misc,list-item]
    assert reply.usage is not None and reply.usage.prompt_tokens > 30
    missing = [{"type": "image_url", "image_url": {"url": server.url("gone.png")}}]
    with pytest.raises(openai.BadRequestError) as caught:
        api.chat.completions.create(model="m", messages=[{"role": "user", "content": missing}])  # type: ignore[misc,list-item]
    assert "HTTP 404" in caught.value.message
