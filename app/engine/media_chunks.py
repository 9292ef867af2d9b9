"""Pictures and clips prepared by libmtmd, kept across turns so that a follow-up never prepares them again.

libmtmd turns a picture into chunks by resizing it to the vision budget and normalising it to float32
(``mtmd_tokenize``); a clip becomes a mel spectrogram. That is most of a follow-up turn's time when the
history holds pictures, and none of it is needed for a picture already in the KV cache. So each projector
keeps, by media key (content hash + kind + budget):

- **layouts** — the Python view of a media's chunks (``Chunk``: kind, tokens, positions, id and the KV keys of
  its positions). Small and pixel-free, they are all the planner and the prefix cache need to place a
  picture and match it against the KV cache. Bounded by total positions (~90 bytes each).
- **native lists** — the ``mtmd_input_chunks`` themselves, holding the preprocessed picture or spectrogram
  (megabytes), needed only when a chunk is encoded or decoded into the context. Least recently used first
  out, bounded by count and (estimated) bytes.

A prompt plan holds one ``MediaRun`` per picture or clip; the run fetches its native list only when the
session evaluates it (``raw``), so a picture inside the reused prefix never touches libmtmd.

Ownership: a native list (``Chunks``) is reference counted. The cache holds one reference while the list is
cached, and each run that uses it holds one; the list is freed when the last is released — so evicting a list
a plan still uses frees it only when that plan closes, and nothing is freed twice. Closing the projector (on
unload) drops the cache's references; freeing a list does not touch the ``mtmd_context``, so a plan that
outlives the projector may still release its lists.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from llama_cpp import mtmd_cpp as M

from app.engine.errors import RequestError
from app.media import AudioClip, ImageInput

TEXT, IMAGE, AUDIO = "text", "image", "audio"
_CHUNK_KINDS = {0: TEXT, 1: IMAGE, 2: AUDIO}

MediaPayload = ImageInput | AudioClip
#: The KV key of one media position: (media id, offset in the chunk).
MediaKey = tuple[str, int]

#: Native lists kept: a 1120-token picture is ~31 MB of float32 pixels, a 280-token one ~8 MB. They only spare
#: the resize when a picture is evaluated again (a follow-up plans from layouts, and encoded pictures are kept as
#: embeddings), and the fit estimate does not count them: a small bound.
DEFAULT_MAX_NATIVE = 32
DEFAULT_MAX_NATIVE_BYTES = 64 * 1024 * 1024
#: Positions of layouts kept (each ~90 bytes): more than any context holds.
DEFAULT_MAX_LAYOUT_POSITIONS = 262_144


@dataclass(frozen=True, slots=True)
class Chunk:
    """One run of the tokenized prompt."""

    kind: str  # "text", "image" or "audio"
    n_tokens: int
    n_pos: int  # KV positions it takes
    tokens: tuple[int, ...] = ()  # text chunks only
    media_id: str = ""  # media chunks only: the content hash (+ vision budget)
    index: int = 0  # position among the chunks list (for encode/decode)
    #: media chunks only: the KV key of each of its positions, made once and shared by every plan
    keys: tuple[MediaKey, ...] = field(default=(), repr=False, compare=False)


def _read_chunk(ptr: M.mtmd_input_chunks_p, i: int) -> Chunk:
    c = M.mtmd_input_chunks_get(ptr, i)
    kind = _CHUNK_KINDS.get(M.mtmd_input_chunk_get_type(c), TEXT)
    n_tokens = int(M.mtmd_input_chunk_get_n_tokens(c))
    n_pos = int(M.mtmd_input_chunk_get_n_pos(c))
    if kind == TEXT:
        n = ctypes.c_size_t(0)
        arr = M.mtmd_input_chunk_get_tokens_text(c, ctypes.byref(n))
        tokens = tuple(arr[: n.value]) if arr else ()
        return Chunk(TEXT, n_tokens, n_pos, tokens=tokens, index=i)
    raw = M.mtmd_input_chunk_get_id(c)
    media_id = raw.decode() if raw else ""
    keys = tuple((media_id, k) for k in range(n_pos))
    return Chunk(kind, n_tokens, n_pos, media_id=media_id, index=i, keys=keys)


class Chunks:
    """An ``mtmd_input_chunks`` list with Python views of its chunks, freed when its last holder releases it.

    Whoever makes one holds the first reference; ``retain`` adds one, ``release`` drops one.
    """

    def __init__(self, ptr: M.mtmd_input_chunks_p, on_free: Callable[[], None] | None = None) -> None:
        self.ptr: M.mtmd_input_chunks_p | None = ptr
        self.items: tuple[Chunk, ...] = tuple(_read_chunk(ptr, i) for i in range(M.mtmd_input_chunks_size(ptr)))
        self._refs = 1
        self._on_free = on_free

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self.items)

    def raw(self, chunk: Chunk) -> M.mtmd_input_chunk_p:
        if self.ptr is None:
            raise RuntimeError("the prompt's chunks were already freed")
        ptr: M.mtmd_input_chunk_p = M.mtmd_input_chunks_get(self.ptr, chunk.index)
        return ptr

    def retain(self) -> Chunks:
        if self.ptr is None:
            raise RuntimeError("the prompt's chunks were already freed")
        self._refs += 1
        return self

    def release(self) -> None:
        """Drop one reference; the last one frees the native list."""
        if self.ptr is None:
            return
        self._refs -= 1
        if self._refs == 0:
            M.mtmd_input_chunks_free(self.ptr)
            self.ptr = None
            if self._on_free is not None:
                self._on_free()


@dataclass
class MediaCacheStats:
    """What the cache did, for tests and benchmarks."""

    tokenized: int = 0  # mtmd_tokenize calls: pictures and clips prepared (resized, normalised)
    layout_hits: int = 0  # media planned from a kept layout, without libmtmd
    native_hits: int = 0  # media evaluated from a kept native list
    freed: int = 0  # native lists freed

    @property
    def live(self) -> int:
        """Native lists made and not yet freed."""
        return self.tokenized - self.freed


class MediaRun:
    """One picture or clip of a prompt plan: its chunks' layout, and its native list once one is needed."""

    def __init__(
        self, cache: MediaChunkCache, payload: MediaPayload, key: str, items: tuple[Chunk, ...], native: Chunks | None
    ) -> None:
        self.items = items
        self._cache = cache
        self._payload = payload
        self._key = key
        self._native = native
        self._closed = False

    def __iter__(self) -> Iterator[Chunk]:
        return iter(self.items)

    def raw(self, chunk: Chunk) -> M.mtmd_input_chunk_p:
        """The native chunk (the list is fetched from the cache, or prepared again, the first time)."""
        if self._native is None:
            if self._closed:
                raise RuntimeError("the prompt's chunks were already freed")
            self._native = self._cache.native(self._payload, self._key, self.items)
        return self._native.raw(chunk)

    def close(self) -> None:
        self._closed = True
        if self._native is not None:
            self._native.release()
            self._native = None


class MediaChunkCache:
    """Layouts and native chunk lists of the pictures and clips one projector has prepared."""

    def __init__(
        self,
        tokenize: Callable[[MediaPayload, Callable[[], None]], Chunks],
        size_of: Callable[[MediaPayload], int],
        *,
        max_native: int = DEFAULT_MAX_NATIVE,
        max_native_bytes: int = DEFAULT_MAX_NATIVE_BYTES,
        max_layout_positions: int = DEFAULT_MAX_LAYOUT_POSITIONS,
    ) -> None:
        self.max_native = max_native
        self.max_native_bytes = max_native_bytes
        self.max_layout_positions = max_layout_positions
        self.stats = MediaCacheStats()
        self._tokenize = tokenize
        self._size_of = size_of
        self._layouts: OrderedDict[str, tuple[Chunk, ...]] = OrderedDict()
        self._layout_positions = 0
        self._native: OrderedDict[str, tuple[Chunks, int]] = OrderedDict()
        self._native_bytes = 0
        self._closed = False

    def run(self, payload: MediaPayload, key: str) -> MediaRun:
        """``payload`` as a run of chunks; libmtmd is called only for media this cache has not seen."""
        items = self._layouts.get(key)
        if items is not None:
            self._layouts.move_to_end(key)
            self.stats.layout_hits += 1
            return MediaRun(self, payload, key, items, None)
        kept = self._native.get(key)  # the layout was evicted, the native list was not: lay out from it
        if kept is not None:
            self._native.move_to_end(key)
            self.stats.native_hits += 1
            self._keep_layout(key, kept[0].items)
            return MediaRun(self, payload, key, kept[0].items, kept[0].retain())
        native = self._prepare(payload, key)
        self._keep_layout(key, native.items)
        return MediaRun(self, payload, key, native.items, native)

    def native(self, payload: MediaPayload, key: str, items: tuple[Chunk, ...]) -> Chunks:
        """A retained native list for ``key`` (release it), laid out as ``items``."""
        found = self._native.get(key)
        if found is not None:
            self._native.move_to_end(key)
            self.stats.native_hits += 1
            return found[0].retain()
        native = self._prepare(payload, key)
        if native.items != items:  # libmtmd is deterministic: a change means a bug, and positions would be wrong
            self._forget_native(key)  # nor may a later plan find it
            native.release()
            raise RequestError(f"{payload.source_name or 'An attachment'} was prepared differently this time.")
        return native

    def _prepare(self, payload: MediaPayload, key: str) -> Chunks:
        if self._closed:
            raise RuntimeError("the projector is closed")
        native = self._tokenize(payload, self._count_free)
        self.stats.tokenized += 1
        size = self._size_of(payload)
        if self.max_native > 0 and size <= self.max_native_bytes:
            self._forget_native(key)  # an older list of the same media: released, not leaked or counted twice
            self._native[key] = (native.retain(), size)
            self._native_bytes += size
            while len(self._native) > self.max_native or self._native_bytes > self.max_native_bytes:
                _, (old, old_size) = self._native.popitem(last=False)
                self._native_bytes -= old_size
                old.release()
        return native

    def _forget_native(self, key: str) -> None:
        found = self._native.pop(key, None)
        if found is not None:
            self._native_bytes -= found[1]
            found[0].release()

    def _keep_layout(self, key: str, items: tuple[Chunk, ...]) -> None:
        self._layouts[key] = items
        self._layout_positions += sum(c.n_pos for c in items)
        while self._layout_positions > self.max_layout_positions and len(self._layouts) > 1:
            _, old = self._layouts.popitem(last=False)
            self._layout_positions -= sum(c.n_pos for c in old)

    def _count_free(self) -> None:
        self.stats.freed += 1

    @property
    def native_count(self) -> int:
        return len(self._native)

    def clear(self) -> None:
        """Drop every layout and the cache's hold on every native list (a run still using one keeps it)."""
        for native, _ in self._native.values():
            native.release()
        self._native.clear()
        self._native_bytes = 0
        self._layouts.clear()
        self._layout_positions = 0

    def close(self) -> None:
        """``clear``, and prepare nothing more (the projector is going away)."""
        self.clear()
        self._closed = True
