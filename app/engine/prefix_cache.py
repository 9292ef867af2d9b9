"""What the KV cache holds, position by position, and how much of a new prompt it can keep.

A prompt is a list of segments — runs of text tokens and media chunks. Each KV
position gets a key: the token id for text, ``(media id, offset)`` for a
picture or clip. A new turn keeps the longest common prefix of keys, backed
off to the start of any media chunk it would cut in half, and evaluates only
the rest. Media embeddings are kept in a small LRU so that a chunk that must
be evaluated again (an edit before it) is not encoded again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.engine.media_chunks import TEXT, Chunk, MediaRun

Key = int | tuple[str, int]


@dataclass
class Segment:
    """A run of prompt positions: text tokens, or one media chunk."""

    kind: str
    tokens: list[int] = field(default_factory=list)
    chunk: Chunk | None = None
    owner: MediaRun | None = None  # media only: the picture or clip the chunk belongs to

    @property
    def n_pos(self) -> int:
        return len(self.tokens) if self.kind == TEXT else (self.chunk.n_pos if self.chunk else 0)

    def keys(self) -> Sequence[Key]:
        """The KV key of each position (shared, not copied: do not change it)."""
        if self.kind == TEXT:
            return self.tokens
        assert self.chunk is not None
        return self.chunk.keys


@dataclass
class PromptPlan:
    """A rendered, tokenized prompt; holds its pictures' and clips' native chunks while it is open (close it)."""

    text: str
    segments: list[Segment]
    chunks: list[MediaRun] = field(default_factory=list)
    dropped_messages: int = 0

    @property
    def n_pos(self) -> int:
        return sum(s.n_pos for s in self.segments)

    @property
    def media_positions(self) -> int:
        return sum(s.n_pos for s in self.segments if s.kind != TEXT)

    @property
    def tokens(self) -> list[int]:
        """The text tokens (the whole prompt when it has no media)."""
        return [t for s in self.segments if s.kind == TEXT for t in s.tokens]

    def keys(self) -> list[Key]:
        out: list[Key] = []
        for s in self.segments:
            out.extend(s.keys())
        return out

    def close(self) -> None:
        for run in self.chunks:
            run.close()
        self.chunks.clear()


class PrefixCache:
    """The keys of the positions the context's KV cache holds (sequence 0)."""

    def __init__(self) -> None:
        self.keys: list[Key] = []

    def __len__(self) -> int:
        return len(self.keys)

    def common_prefix(self, plan: PromptPlan) -> int:
        """Positions of ``plan`` already in the cache, never ending inside a media chunk,
        and always leaving the last prompt position to evaluate (its logits start the answer).

        Compared segment by segment, a slice at a time: a picture's positions cost one list comparison."""
        cached = self.keys
        limit = min(len(cached), plan.n_pos - 1)
        pos = 0
        for seg in plan.segments:
            if pos >= limit:
                break
            keys = seg.keys()
            end = min(pos + len(keys), limit)
            part = keys if end - pos == len(keys) else keys[: end - pos]
            if cached[pos:end] == (part if isinstance(part, list) else list(part)):
                if seg.kind != TEXT and end < pos + len(keys):
                    return pos  # never keep half a picture
                pos = end
                continue
            if seg.kind != TEXT:
                return pos
            for a, b in zip(cached[pos:end], keys, strict=False):
                if a != b:
                    break
                pos += 1
            return pos
        return max(pos, 0)

    def truncate(self, n: int) -> None:
        del self.keys[n:]

    def extend(self, keys: Sequence[Key]) -> None:
        self.keys.extend(keys)

    def append(self, key: Key) -> None:
        self.keys.append(key)

    def clear(self) -> None:
        self.keys.clear()


class EmbeddingCache:
    """Encoded media by id, least recently used dropped first, bounded in bytes."""

    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> np.ndarray | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: np.ndarray) -> None:
        if key in self._items:
            self._bytes -= self._items.pop(key).nbytes
        self._items[key] = value
        self._bytes += value.nbytes
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0
