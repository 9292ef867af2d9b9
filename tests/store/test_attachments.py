"""The attachments folder: content-addressed, atomic, deduplicated."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import AttachmentRef, Store, StoreError
from app.store.attachments import extension_for


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "data" / "chats.sqlite3") as opened:
        yield opened


def test_a_file_is_stored_under_its_hash(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "Holiday Photo.JPG"
    source.write_bytes(b"\xff\xd8\xff fake jpeg" * 1000)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    ref = store.store_attachment_file(source, "Holiday Photo.JPG", "image", "image/jpeg")
    assert ref == AttachmentRef(sha, "image", "Holiday Photo.JPG", "image/jpeg", source.stat().st_size, ".jpg")
    path = store.attachment_path(ref)
    assert path == tmp_path / "data" / "attachments" / sha[:2] / f"{sha}.jpg"
    assert path.read_bytes() == source.read_bytes()
    assert [p.name for p in (tmp_path / "data" / "attachments").iterdir()] == [sha[:2]]  # no temporary left


def test_the_same_bytes_are_kept_once(store: Store) -> None:
    first = store.store_attachment_file(b"same bytes", "a.png", "image", "image/png")
    second = store.store_attachment_file(b"same bytes", "copy.jpeg", "image", "image/jpeg")
    assert first.sha256 == second.sha256
    assert store.attachment_path(first) == store.attachment_path(second)
    assert second.name == "copy.jpeg" and second.ext == ".png"
    assert len(list(store.attachment_path(first).parent.iterdir())) == 1


def test_attachments_travel_with_their_message(store: Store) -> None:
    image = store.store_attachment_file(b"img", "cat.png", "image", "image/png")
    audio = store.store_attachment_file(b"wav", "note.wav", "audio", "audio/wav")
    chat = store.create_conversation()
    message = store.add_message(chat.id, parent_id=None, role="user", content="look", attachments=[audio, image])
    assert message.attachments == (audio, image)
    assert store.path(chat.id)[0].attachments == (audio, image)


def test_extensions_come_from_the_name_or_the_type() -> None:
    assert extension_for("photo.PNG", "image/png") == ".png"
    assert extension_for("recording", "audio/wav") == ".wav"
    assert extension_for("weird.name with space", "application/x-unknown") == ""
    assert extension_for("", "") == ""


def test_a_missing_source_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"^gone.png was not found"):
        store.store_attachment_file(tmp_path / "gone.png", "gone.png", "image", "image/png")
    with pytest.raises(StoreError, match="folder"):
        store.store_attachment_file(tmp_path, "folder", "file", "inode/directory")
    with pytest.raises(StoreError, match="kind"):
        store.store_attachment_file(b"x", "x", "sticker", "image/png")  # type: ignore[arg-type]
    leftovers = [p for p in (tmp_path / "data" / "attachments").iterdir() if p.is_file()]
    assert leftovers == []


def test_a_pipe_swapped_in_after_the_intake_is_refused_not_waited_on(store: Store, tmp_path: Path) -> None:
    """The store copies the file again at send time: a named pipe there must not block the store's thread."""
    pipe = tmp_path / "photo.png"
    os.mkfifo(pipe)
    with pytest.raises(StoreError, match=r"^photo.png is a named pipe, not a regular file\."):
        store.store_attachment_file(pipe, "photo.png", "image", "image/png")
    leftovers = [p for p in (tmp_path / "data" / "attachments").rglob("*") if p.is_file()]
    assert leftovers == []
