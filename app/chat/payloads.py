"""The decoded attachments of the open conversation: one cache, one owner, safe from any thread, bounded.

Decoding a picture, recording or video takes a while and its result is large, so a conversation's attachments
are decoded once and kept here by the stored file's SHA-256 while the conversation is open. The
``ChatSession`` owns the one ``PayloadCache`` and empties it when another conversation opens or it closes.
Past ``max_bytes`` (or ``max_items``) the least recently used entries are dropped and decoded again when
next needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from app.engine import Part
from app.engine.attachments import parts_for
from app.media import AudioClip, ImageInput, MediaError
from app.media.documents import PageChoice
from app.media.intake import AttachmentKind, decode_file, unsupported_message
from app.store import AttachmentRef

MEDIA_KINDS = frozenset({"image", "audio", "video", "document"})

DEFAULT_MAX_BYTES = 512 * 1024 * 1024  # a minute of video at 1024 px is ~110 MB, a 3072 px picture ~28 MB
DEFAULT_MAX_ITEMS = 1024

Parts = tuple[Part, ...]


def decode_stored(kind: str, path: Path, name: str, choice: str = "") -> Parts:
    """The message parts of an attachment file kept by the store (raises ``MediaError`` naming ``name``); a
    document is read with its stored page ``choice``, so it reads exactly as it did when it was sent."""
    if kind not in MEDIA_KINDS:  # the store also keeps other files; none of them is media to decode
        raise MediaError(unsupported_message(name))
    pages = PageChoice.from_json(choice) if kind == "document" else None
    return tuple(parts_for(decode_file(path, cast("AttachmentKind", kind), name=name, choice=pages).payload))


def cache_key(ref: AttachmentRef) -> str:
    """Where a ref's parts are cached: by its file's hash, and its page choice (one PDF, two choices)."""
    return f"{ref.sha256}:{ref.choice}" if ref.choice else ref.sha256


def size_of(parts: Sequence[Part]) -> int:
    """Bytes of decoded media held by ``parts`` (pixels and samples; text is not counted)."""
    total = 0
    for part in parts:
        payload = part.payload
        if isinstance(payload, ImageInput):
            total += payload.pixels.nbytes
        elif isinstance(payload, AudioClip):
            total += payload.samples.nbytes
    return total


class PayloadCache:
    """Decoded parts by attachment SHA-256, least recently used dropped first past the bounds."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        self.max_bytes = max_bytes
        self.max_items = max_items
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Parts, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> Parts | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, parts: Sequence[Part]) -> None:
        """Keep ``parts`` under ``key``; one larger than the whole bound is not kept."""
        value, size = tuple(parts), size_of(parts)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes or self.max_items <= 0:
                return
            self._entries[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes or len(self._entries) > self.max_items:
                _key, (_parts, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def get_or_decode(self, key: str, decode: Callable[[], Sequence[Part]]) -> Parts:
        """The cached parts, or ``decode()``'s (outside the lock: two threads may decode the same file once each)."""
        found = self.get(key)
        if found is not None:
            return found
        parts = tuple(decode())
        self.put(key, parts)
        return parts

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries
