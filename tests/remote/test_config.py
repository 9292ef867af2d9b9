"""Server addresses, the model list for a picker, and what a remote engine can tell without a tokenizer."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import Done, MediaCost, Part
from app.media import audio_from_samples, image_from_array
from app.remote import RemoteConfig, RemoteError, list_models
from app.remote.config import api_base
from tests.remote.conftest import Connected
from tests.remote.servers import CannedServer


@pytest.mark.parametrize(
    ("given", "base"),
    [
        ("http://gpu-box:8080", "http://gpu-box:8080/v1"),
        ("http://gpu-box:8080/", "http://gpu-box:8080/v1"),
        ("http://gpu-box:8080/v1/", "http://gpu-box:8080/v1"),
        ("gpu-box:8000", "http://gpu-box:8000/v1"),
        ("https://example.org/api/v1", "https://example.org/api/v1"),
    ],
)
def test_an_address_with_or_without_v1_is_the_same_server(given: str, base: str) -> None:
    assert api_base(given) == base


@pytest.mark.parametrize("given", ["", "ftp://gpu-box", "http://"])
def test_something_that_is_not_an_address_is_one_line(given: str) -> None:
    with pytest.raises(RemoteError, match="is not a server address: give one like http://gpu-box:8080/v1"):
        api_base(given)


def test_the_model_list_for_a_picker(canned: CannedServer) -> None:
    canned.models = ["gemma-4-31b-it", "gemma-4-e4b-it"]
    assert list_models(canned.url.removesuffix("/v1")) == ["gemma-4-31b-it", "gemma-4-e4b-it"]


def test_costs_are_estimated_without_a_tokenizer(canned_remote: Connected) -> None:
    engine, events = canned_remote
    picture = image_from_array(np.zeros((8, 8, 3), dtype=np.uint8))
    two_seconds = audio_from_samples(np.zeros(32000, dtype=np.float32), 16000).clips[0]
    parts = [
        Part("image", media_id="pic", payload=picture),
        Part("audio", media_id="clip", payload=two_seconds),
        Part("text", "x" * 400, media_id="doc"),
        Part("text", "not measured"),
    ]
    seen = list(events.until_done(engine.measure(parts), timeout=10))
    assert seen[0] == MediaCost(seen[0].request_id, (("pic", 280), ("clip", 50), ("doc", 100)))
    assert seen[-1] == Done(seen[-1].request_id, "measured")
    assert RemoteConfig("http://x", model="m").host == "x"
