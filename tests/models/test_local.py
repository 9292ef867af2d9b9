"""Finding the projector that belongs to a model, next to it on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.models.local import find_mmproj
from tests.fixtures.tiny_mmproj import write_tiny_mmproj


def test_finds_the_matching_projector(tmp_path: Path, tiny_model: Path, tiny_mmproj: Path) -> None:
    model = tmp_path / "gemma-4-E4B-it-Q4_K_M.gguf"
    shutil.copy(tiny_model, model)
    shutil.copy(tiny_mmproj, tmp_path / "mmproj-gemma-4-E4B-it-f16.gguf")
    shutil.copy(tiny_mmproj, tmp_path / "mmproj-gemma-4-E2B-it-f16.gguf")  # fits, but the name matches less
    write_tiny_mmproj(tmp_path / "gemma-4-E4B-it-mmproj-other-width.gguf", n_embd_text=32)  # wrong width
    (tmp_path / "mmproj-broken.gguf").write_bytes(b"GGUF")  # not a real file
    assert find_mmproj(model) == tmp_path / "mmproj-gemma-4-E4B-it-f16.gguf"


def test_none_when_nothing_fits(tmp_path: Path, tiny_model: Path) -> None:
    model = tmp_path / "gemma-4-E2B-it-Q8_0.gguf"
    shutil.copy(tiny_model, model)
    write_tiny_mmproj(tmp_path / "mmproj-gemma-4-E2B-it-f16.gguf", n_embd_text=32)
    assert find_mmproj(model) is None
    assert find_mmproj(tmp_path / "missing.gguf") is None
