"""OpenAI clients resend every picture and recording each turn: the server decodes each one once."""

from __future__ import annotations

import pytest

from app.server.content import ContentReader, DecodedMediaCache
from app.server.errors import ApiError
from tests.server.test_chat_api import png_data_url
from tests.server.test_media import wav_base64


def reader(cache: DecodedMediaCache | None) -> ContentReader:
    return ContentReader(allow_remote_images=False, can_see=True, can_hear=True, decoded=cache)


def turn(clip: str, fmt: str = "wav") -> list[dict[str, object]]:
    return [
        {"type": "text", "text": "Listen and look"},
        {"type": "input_audio", "input_audio": {"data": clip, "format": fmt}},
        {"type": "image_url", "image_url": {"url": png_data_url()}},
    ]


def test_a_resent_recording_and_picture_are_decoded_once() -> None:
    cache = DecodedMediaCache()
    clip = wav_base64(2.0)
    first = reader(cache).parts(turn(clip), "messages[0]")
    again = reader(cache).parts(turn(clip), "messages[0]")
    assert [p.type for p in first] == ["text", "audio", "image"]
    assert first[1].payload is again[1].payload and first[2].payload is again[2].payload  # kept, not decoded
    uncached = reader(None).parts(turn(clip), "messages[0]")
    assert uncached[1].payload is not first[1].payload and uncached[1].media_id == first[1].media_id


def test_a_kept_recording_is_keyed_by_its_format_and_bad_data_is_still_refused() -> None:
    cache = DecodedMediaCache()
    clip = wav_base64(1.0)
    wav = reader(cache).parts(turn(clip), "m")
    other = reader(cache).parts(turn(clip, "flac"), "m")  # decoded on its own (libsndfile reads what it is)
    assert other[1].payload is not wav[1].payload and other[1].media_id == wav[1].media_id
    with pytest.raises(ApiError, match="not valid base64"):
        reader(cache).parts(turn("not base64!"), "m")
    with pytest.raises(ApiError, match="not valid base64"):  # a refusal is not kept as anything
        reader(cache).parts(turn("not base64!"), "m")


def test_the_cache_stays_within_its_size() -> None:
    cache = DecodedMediaCache(limit_bytes=200_000)  # a 2 s clip is 128 kB of float32 samples
    first = reader(cache).parts(turn(wav_base64(2.0)), "m")
    reader(cache).parts(turn(wav_base64(2.5)), "m")  # pushes the first clip out
    again = reader(cache).parts(turn(wav_base64(2.0)), "m")
    assert again[1].payload is not first[1].payload and again[1].media_id == first[1].media_id
