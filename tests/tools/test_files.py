"""The file-reading tool: the user picks (or declines), a file is read like an attached document, a folder is
listed one level deep, and what cannot be read is one line the model is told."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.tools.files import MAX_ENTRIES, SPEC, read_picked


def pick(path: Path | None):  # type: ignore[no-untyped-def]
    asked: list[tuple[str, str]] = []

    def picker(kind: str, reason: str) -> Path | None:
        asked.append((kind, reason))
        return path

    picker.asked = asked  # type: ignore[attr-defined]
    return picker


def test_a_picked_file_is_read_and_the_reason_reaches_the_picker(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Trip\nPack the blue umbrella.\n", encoding="utf-8")
    picker = pick(notes)
    result = read_picked(SPEC.check_arguments({"kind": "file", "reason": "your packing notes"}), picker)
    assert not result.is_error and result.text.startswith("notes.md (") and "Pack the blue umbrella." in result.text
    assert picker.asked == [("file", "your packing notes")]


def test_declining_tells_the_model(tmp_path: Path) -> None:
    result = read_picked({"kind": "folder", "reason": "x"}, pick(None))
    assert result.is_error and result.text == "the user did not pick a folder"


def test_a_folder_is_listed_sorted_with_sizes_and_subfolders(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_bytes(b"x" * 2048)
    (tmp_path / "A sub").mkdir()
    (tmp_path / "odd\nname.txt").write_text("y")
    result = read_picked({"kind": "folder", "reason": "x"}, pick(tmp_path))
    lines = result.text.splitlines()
    assert lines[0] == f"Folder {tmp_path}: 3 entries"
    assert lines[1:] == ["A sub/", "b.txt  2.0 KB", "odd name.txt  1 byte"]  # one line each, even a name with a newline


def test_a_long_folder_is_capped(tmp_path: Path) -> None:
    for i in range(MAX_ENTRIES + 5):
        (tmp_path / f"f{i:05d}").touch()
    lines = read_picked({"kind": "folder", "reason": "x"}, pick(tmp_path)).text.splitlines()
    assert len(lines) == MAX_ENTRIES + 2 and lines[-1] == "… and 5 more"


def test_what_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "data.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    refused = read_picked({"kind": "file", "reason": "x"}, pick(binary))
    assert refused.is_error and refused.text and "\n" not in refused.text
    not_a_folder = read_picked({"kind": "folder", "reason": "x"}, pick(binary))
    assert not_a_folder.is_error and not_a_folder.text == "data.bin is not a folder"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes (os.mkfifo) on this system")
def test_a_named_pipe_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    result = read_picked({"kind": "file", "reason": "x"}, pick(fifo))
    assert result.is_error and "\n" not in result.text
