"""The decoded attachments: one cache, bounded by bytes and count, least recently used dropped first, safe from
several threads, owned by the open conversation and emptied when it closes."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pytest

from app.chat import ChatOptions, ChatSession, PayloadCache
from app.chat.payloads import decode_stored, size_of
from app.engine import Part
from app.engine.attachments import image_part
from app.media import MediaError, image_from_array
from tests.chat.conftest import picture

KB = 1024


def parts(kb: int, seed: int = 0) -> tuple[Part, ...]:
    """One picture part holding about ``kb`` KiB of pixels (kb rows of 341 RGB pixels)."""
    pixels = np.random.default_rng(seed).integers(0, 255, (kb, 341, 3), dtype=np.uint8)
    return (image_part(image_from_array(pixels)),)


def test_least_recently_used_go_first_past_the_byte_bound() -> None:
    cache = PayloadCache(max_bytes=250 * KB)
    for key in "abc":
        cache.put(key, parts(100))
    assert "a" not in cache and len(cache) == 2  # a + b + c would be 300 KiB
    assert cache.get("b") is not None  # b is now the most recently used
    cache.put("d", parts(100))
    assert "c" not in cache and "b" in cache and "d" in cache
    assert cache.nbytes == size_of(parts(100)) * 2 <= 250 * KB


def test_the_count_bound_and_an_entry_larger_than_the_whole_bound() -> None:
    cache = PayloadCache(max_bytes=1000 * KB, max_items=2)
    for key in "abc":
        cache.put(key, parts(1))
    assert sorted(k for k in "abc" if k in cache) == ["b", "c"]
    huge = parts(1200)
    assert cache.get_or_decode("huge", lambda: huge) == huge  # answered, not kept
    assert "huge" not in cache and len(cache) == 2


def test_get_or_decode_decodes_a_kept_entry_once() -> None:
    cache = PayloadCache()
    calls: list[int] = []

    def decode() -> tuple[Part, ...]:
        calls.append(1)
        return parts(4)

    first = cache.get_or_decode("a", decode)
    assert cache.get_or_decode("a", decode) is first
    assert len(calls) == 1


def test_several_threads_at_once_keep_the_bounds_and_the_byte_count_right() -> None:
    cache = PayloadCache(max_bytes=64 * KB, max_items=10)
    sizes = {f"k{i}": parts(1 + i % 7, seed=i) for i in range(40)}
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(300):
                key = rng.choice(list(sizes))
                if rng.random() < 0.5:
                    cache.put(key, sizes[key])
                else:
                    cache.get_or_decode(key, lambda key=key: sizes[key])  # type: ignore[misc]
                if rng.random() < 0.02:
                    cache.clear()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = [key for key in sizes if key in cache]
    assert len(kept) == len(cache) <= 10
    assert cache.nbytes == sum(size_of(sizes[k]) for k in kept) <= 64 * KB


def test_the_open_conversation_owns_its_decoded_attachments(chat: ChatSession, photo: Path) -> None:
    """Decoded once while the chat is open; let go when another opens; decoded again from the store after."""
    first = chat.new()
    turn = chat.send("What is it?", [picture(photo)])
    ref = turn.history[0].attachments[0]
    chat.store.attachment_path(ref).unlink()  # from now on only the cache has the picture
    chat.request_for(turn, ChatOptions())  # served from the cache: no file needed
    assert len(chat.payloads) == 1

    chat.new()  # another conversation: the first one's media are let go
    assert len(chat.payloads) == 0
    _conversation, path = chat.open(first.id)
    assert path[0].attachments == (ref,)
    with pytest.raises(MediaError, match="was not found"):
        chat.request_for(chat.regenerate(), ChatOptions())  # it must be decoded again: its file is gone


def test_closing_the_conversation_lets_its_media_go(chat: ChatSession, photo: Path) -> None:
    chat.new()
    chat.send("What is it?", [picture(photo)])
    assert chat.payloads.nbytes > 0
    chat.close()
    assert (chat.conversation, chat.path, len(chat.payloads), chat.payloads.nbytes) == (None, [], 0, 0)


def test_a_stored_file_that_is_not_media_is_refused_by_name(tmp_path: Path) -> None:
    kept = tmp_path / "3f9a0c"  # the store keeps files under their hash
    kept.write_text("meeting notes")
    with pytest.raises(MediaError, match=r"^notes\.txt: Gemma reads pictures, audio, video and documents"):
        decode_stored("file", kept, "notes.txt")


def test_a_stored_picture_that_no_longer_decodes_is_named_as_the_user_named_it(tmp_path: Path) -> None:
    kept = tmp_path / "5be2d1"
    kept.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a PNG cut short
    with pytest.raises(MediaError, match=r"holiday\.png") as caught:
        decode_stored("image", kept, "holiday.png")
    assert "5be2d1" not in str(caught.value)
