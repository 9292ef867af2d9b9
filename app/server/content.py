"""Message content from a request: text, pictures (``image_url``) and sound (``input_audio``) → engine parts.

Pictures come as ``data:`` URLs, or as http(s) URLs when the server was started with remote images allowed
(fetched with a size cap and a timeout). Every picture and clip goes through ``app.media``'s loaders, whose
checks and limits apply. Runs in a worker thread: decoding is CPU work the event loop must not wait on.
"""

from __future__ import annotations

import binascii
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx

from app.engine.attachments import audio_parts, image_part
from app.engine.prompt import Part
from app.media import ImageInput, MediaError, load_audio, load_image
from app.server.errors import ApiError
from app.server.options import MAX_REMOTE_IMAGE_BYTES, REMOTE_IMAGE_TIMEOUT_S

AUDIO_FORMATS = ("wav", "mp3", "flac")
#: Decoded pictures kept by the hash of their bytes: OpenAI clients send the whole history, pictures included,
#: every turn, and decoding a photo again each turn would cost more than the turn's new tokens.
PICTURE_CACHE_BYTES = 256 * 1024 * 1024


class PictureCache:
    """Decoded pictures by the SHA-256 of their file bytes, least recently used dropped past a size."""

    def __init__(self, limit_bytes: int = PICTURE_CACHE_BYTES) -> None:
        self.limit = limit_bytes
        self._items: OrderedDict[bytes, ImageInput] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: bytes, name: str, read: Callable[[], bytes]) -> ImageInput:
        """The picture whose source hashes to ``key`` (a data: URL's text, a fetched file's bytes): kept, or
        ``read()`` and decoded now (``MediaError`` when it is no picture)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        image = load_image(read(), name=name)
        with self._lock:
            if key not in self._items and image.pixels.nbytes <= self.limit:
                self._items[key] = image
                self._size += image.pixels.nbytes
                while self._size > self.limit:
                    _old, dropped = self._items.popitem(last=False)
                    self._size -= dropped.pixels.nbytes
        return image


class ContentReader:
    """Turns OpenAI content parts into engine parts; counts pictures and clips for their names in messages."""

    def __init__(
        self, *, allow_remote_images: bool, can_see: bool, can_hear: bool, pictures: PictureCache | None = None
    ) -> None:
        self.allow_remote_images = allow_remote_images
        self.pictures = pictures
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
            key = hashlib.sha256(url.encode("utf-8", "surrogatepass")).digest()  # no need to decode a kept one
            return self._decoded(key, name, where, lambda: _data_url(url, where))
        if not url.lower().startswith(("http://", "https://")):
            raise ApiError(400, f"{where}: an image URL must be a data: URL.", param=where)
        if not self.allow_remote_images:
            raise ApiError(
                400,
                "Image URLs are not fetched by this server: send the picture inline as a data: URL "
                "(or start the server with --allow-remote-images).",
                param=where,
                code="remote_images_disabled",
            )
        data = _fetch(url, where)
        return self._decoded(hashlib.sha256(data).digest(), name, where, lambda: data)

    def _decoded(self, key: bytes, name: str, where: str, read: Callable[[], bytes]) -> Part:
        try:
            if self.pictures is not None:
                return image_part(self.pictures.get(key, name, read))
            return image_part(load_image(read(), name=name))
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
        return binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
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
