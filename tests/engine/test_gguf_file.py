"""The GGUF header check gives each kind of bad model file its own clear message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.engine.errors import ModelFileError
from app.engine.gguf_file import GGML_BLOCK_SIZES, read_gguf_info


def test_reads_the_tiny_model(tiny_model: Path) -> None:
    info = read_gguf_info(tiny_model)
    assert info.architecture == "gemma4"
    assert info.chat_template and "<|turn>" in info.chat_template
    assert info.context_length == 8192
    assert info.expected_size == info.file_size
    assert info.array_lengths["tokenizer.ggml.tokens"] > 256
    assert not info.is_projector


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        read_gguf_info(tmp_path / "nope.gguf")


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="folder"):
        read_gguf_info(tmp_path)


@pytest.mark.parametrize("content", [b"", b"hello", b"<html>not a model</html>" * 10])
def test_not_a_gguf(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fake.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a GGUF"):
        read_gguf_info(path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_truncated_model(tiny_model: Path, tmp_path: Path, keep: float) -> None:
    data = tiny_model.read_bytes()
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelFileError, match="incomplete"):
        read_gguf_info(path)


def test_truncated_inside_the_header(tiny_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    path.write_bytes(tiny_model.read_bytes()[:5000])
    with pytest.raises(ModelFileError, match="incomplete"):
        read_gguf_info(path)


def test_block_sizes_match_the_gguf_package() -> None:
    import gguf

    for qtype, (block, size) in gguf.GGML_QUANT_SIZES.items():
        if qtype.name == "Q8_1":
            # gguf-py says 40 bytes; ggml's own static_assert says 2 halves + 32 = 36.
            assert GGML_BLOCK_SIZES[int(qtype)] == (32, 36)
            continue
        assert GGML_BLOCK_SIZES.get(int(qtype)) == (block, size), qtype.name


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_model_path_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    """A named pipe called model.gguf used to block the loader for ever in open()."""
    if kind == "fifo":
        path = tmp_path / "model.gguf"
        os.mkfifo(path)
        expected = "model.gguf is a named pipe, not a model file"
    else:
        path = Path("/dev/zero")
        expected = "zero is a device, not a model file"
    with pytest.raises(ModelFileError, match=expected):
        read_gguf_info(path)
