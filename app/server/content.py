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
from typing import Any, TypeVar

import httpx

from app.engine.attachments import audio_parts, image_part
from app.engine.prompt import Part
from app.media import AudioInput, ImageInput, MediaError, load_audio, load_image
from app.server.errors import ApiError
from app.server.options import MAX_REMOTE_IMAGE_BYTES, REMOTE_IMAGE_TIMEOUT_S

AUDIO_FORMATS = ("wav", "mp3", "flac")
#: Decoded pictures and recordings kept by the hash of their source: OpenAI clients send the whole history,
#: media included, every turn, and decoding a photo or a recording again each turn would cost more than the
#: turn's new tokens.
DECODED_CACHE_BYTES = 256 * 1024 * 1024

Decoded = TypeVar("Decoded", ImageInput, AudioInput)


def _decoded_bytes(media: ImageInput | AudioInput) -> int:
    if isinstance(media, ImageInput):
        return int(media.pixels.nbytes)
    return sum(int(clip.samples.nbytes) for clip in media.clips)


class DecodedMediaCache:
    """Decoded pictures and recordings by the SHA-256 of their source, least recently used dropped past a size."""

    def __init__(self, limit_bytes: int = DECODED_CACHE_BYTES) -> None:
        self.limit = limit_bytes
        self._items: OrderedDict[tuple[str, bytes], ImageInput | AudioInput] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def picture(self, key: bytes, name: str, read: Callable[[], bytes]) -> ImageInput:
        """The picture whose source hashes to ``key`` (a data: URL's text, a fetched file's bytes): kept, or
        ``read()`` and decoded now (``MediaError`` when it is no picture)."""
        return self._get(("image", key), ImageInput, lambda: load_image(read(), name=name))

    def audio(self, key: bytes, name: str, read: Callable[[], bytes]) -> AudioInput:
        """The recording whose source (base64 text and format) hashes to ``key``: kept, or decoded now."""
        return self._get(("audio", key), AudioInput, lambda: load_audio(read(), name=name))

    def _get(self, key: tuple[str, bytes], kind: type[Decoded], decode: Callable[[], Decoded]) -> Decoded:
        with self._lock:
            found = self._items.get(key)
            if isinstance(found, kind):
                self._items.move_to_end(key)
                return found
        media = decode()
        size = _decoded_bytes(media)
        with self._lock:
            if key not in self._items and size <= self.limit:
                self._items[key] = media
                self._size += size
                while self._size > self.limit:
                    _old, dropped = self._items.popitem(last=False)
                    self._size -= _decoded_bytes(dropped)
        return media


class ContentReader:
    """Turns OpenAI content parts into engine parts; counts pictures and clips for their names in messages."""

    def __init__(
        self, *, allow_remote_images: bool, can_see: bool, can_hear: bool, decoded: DecodedMediaCache | None = None
    ) -> None:
        self.allow_remote_images = allow_remote_images
        self.decoded = decoded
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
            if self.decoded is not None:
                return image_part(self.decoded.picture(key, name, read))
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
        name = f"audio {self.clips}.{fmt}"
        data: str = spec["data"]
        try:
            if self.decoded is not None:  # no need to decode a kept one
                key = hashlib.sha256(f"{fmt}:{data}".encode("utf-8", "surrogatepass")).digest()
                return audio_parts(self.decoded.audio(key, name, lambda: _base64(data, where)))
            return audio_parts(load_audio(_base64(data, where), name=name))
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
