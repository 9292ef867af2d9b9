"""Message content from a request: text, pictures (``image_url``) and sound (``input_audio``) → engine parts.

Pictures come as ``data:`` URLs, or as http(s) URLs when the server was started with remote images allowed
(fetched with a size cap and a timeout). Every picture and clip goes through ``app.media``'s loaders, whose
checks and limits apply. Runs in a worker thread: decoding is CPU work the event loop must not wait on.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

import httpx

from app.engine.attachments import audio_parts, image_part
from app.engine.prompt import Part
from app.media import MediaError, load_audio, load_image
from app.server.errors import ApiError
from app.server.options import MAX_REMOTE_IMAGE_BYTES, REMOTE_IMAGE_TIMEOUT_S

AUDIO_FORMATS = ("wav", "mp3", "flac")


class ContentReader:
    """Turns OpenAI content parts into engine parts; counts pictures and clips for their names in messages."""

    def __init__(self, *, allow_remote_images: bool, can_see: bool, can_hear: bool) -> None:
        self.allow_remote_images = allow_remote_images
        self.can_see = can_see
        self.can_hear = can_hear
        self.images = 0
        self.clips = 0

    def parts(self, content: Any, where: str) -> tuple[Part, ...]:
        if content is None:
            return ()
        if isinstance(content, str):
            return (Part("text", content),)
        if not isinstance(content, list):
            raise ApiError(400, f"{where}.content must be a string or a list of parts.", param=f"{where}.content")
        parts: list[Part] = []
        for i, item in enumerate(content):
            parts.extend(self._part(item, f"{where}.content[{i}]"))
        return tuple(parts)

    def _part(self, item: Any, where: str) -> list[Part]:
        if not isinstance(item, dict):
            raise ApiError(400, f"{where} must be an object with a type.", param=where)
        kind = item.get("type")
        if kind == "text":
            text = item.get("text")
            if not isinstance(text, str):
                raise ApiError(400, f"{where}.text must be a string.", param=where)
            return [Part("text", text)]
        if kind == "image_url":
            return [self._image(item.get("image_url"), where)]
        if kind == "input_audio":
            return self._audio(item.get("input_audio"), where)
        raise ApiError(400, f"{where} has type {kind!r}; supported: text, image_url, input_audio.", param=where)

    def _image(self, spec: Any, where: str) -> Part:
        url = spec.get("url") if isinstance(spec, dict) else spec
        if not isinstance(url, str) or not url:
            raise ApiError(400, f"{where}.image_url.url must be a string.", param=where)
        if not self.can_see:
            raise ApiError(400, "The loaded model does not take pictures (it has no vision projector).", param=where)
        self.images += 1
        name = f"image {self.images}"
        if url.startswith("data:"):
            data = _data_url(url, where)
        elif url.lower().startswith(("http://", "https://")):
            if not self.allow_remote_images:
                raise ApiError(
                    400,
                    "Image URLs are not fetched by this server: send the picture inline as a data: URL "
                    "(or start the server with --allow-remote-images).",
                    param=where,
                    code="remote_images_disabled",
                )
            data = _fetch(url, where)
        else:
            raise ApiError(400, f"{where}: an image URL must be a data: URL.", param=where)
        try:
            return image_part(load_image(data, name=name))
        except MediaError as error:
            raise ApiError(400, str(error), param=where) from None

    def _audio(self, spec: Any, where: str) -> list[Part]:
        if not isinstance(spec, dict) or not isinstance(spec.get("data"), str):
            raise ApiError(400, f"{where}.input_audio must be {{data: base64, format}}.", param=where)
        fmt = spec.get("format")
        if fmt not in AUDIO_FORMATS:
            raise ApiError(400, f"{where}.input_audio.format must be one of {', '.join(AUDIO_FORMATS)}.", param=where)
        if not self.can_hear:
            raise ApiError(400, "The loaded model does not take audio.", param=where)
        self.clips += 1
        data = _base64(spec["data"], where)
        try:
            return audio_parts(load_audio(data, name=f"audio {self.clips}.{fmt}"))
        except MediaError as error:
            raise ApiError(400, str(error), param=where) from None


def _base64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, f"{where}: the data is not valid base64.", param=where) from None


def _data_url(url: str, where: str) -> bytes:
    head, comma, payload = url.partition(",")
    if not comma:
        raise ApiError(400, f"{where}: the data: URL has no comma before its data.", param=where)
    if not head.endswith(";base64"):
        raise ApiError(400, f"{where}: the data: URL must be base64 (data:image/png;base64,…).", param=where)
    return _base64(payload, where)


def _fetch(url: str, where: str) -> bytes:
    """An http(s) picture, at most MAX_REMOTE_IMAGE_BYTES, within the timeout."""
    limit = MAX_REMOTE_IMAGE_BYTES
    deadline = time.monotonic() + REMOTE_IMAGE_TIMEOUT_S
    try:
        with (
            httpx.Client(timeout=REMOTE_IMAGE_TIMEOUT_S, follow_redirects=True, max_redirects=3) as client,
            client.stream("GET", url) as reply,
        ):
            if reply.status_code != 200:
                raise ApiError(400, f"{where}: fetching the image failed (HTTP {reply.status_code}).", param=where)
            length = reply.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise ApiError(413, f"{where}: the image is larger than {limit // (1024 * 1024)} MiB.", param=where)
            data = bytearray()
            for chunk in reply.iter_bytes():
                data.extend(chunk)
                if time.monotonic() > deadline:
                    raise ApiError(400, f"{where}: fetching the image took too long.", param=where)
                if len(data) > limit:
                    raise ApiError(413, f"{where}: the image is larger than {limit // (1024 * 1024)} MiB.", param=where)
            return bytes(data)
    except httpx.HTTPError as error:
        raise ApiError(400, f"{where}: the image could not be fetched ({type(error).__name__}).", param=where) from None
