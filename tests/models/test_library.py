"""The local model library: downloaded and imported GGUFs, read from their headers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.engine.errors import ModelFileError
from app.models.library import Library, describe
from tests.fixtures.tiny_gemma4 import write_tiny_gemma4


def test_describes_a_model_from_its_header(tiny_model: Path) -> None:
    model = describe(tiny_model)
    assert model.architecture == "gemma4" and model.kind == "Gemma 4"
    assert model.has_chat_template and model.context_length == 8192
    assert model.params and 100_000 < model.params < 2_000_000
    assert model.size_bytes == tiny_model.stat().st_size


def test_gemma3_base_weights(tmp_path: Path) -> None:
    from tests.bench.decode_speed import gemma3_270m

    model = describe(gemma3_270m())
    assert model.architecture == "gemma3" and model.quantization == "Q4_K_M"
    assert not model.has_chat_template and model.kind == "Gemma (earlier generation)"
    assert 260e6 < (model.params or 0) < 280e6


def test_folder_and_imports(tmp_path: Path, tiny_model: Path, tiny_mmproj: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(tiny_model, folder / "gemma-4-tiny-Q8_0.gguf")
    shutil.copy(tiny_mmproj, folder / "mmproj-gemma-4-tiny-f16.gguf")
    (folder / "broken.gguf").write_text("not a model")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = write_tiny_gemma4(elsewhere / "other-chat-model.gguf", arch="gemma4")
    library = Library(folder)
    library.import_model(other)
    models, problems = Library(folder).models()  # a fresh object reads library.json
    assert sorted(m.path.name for m in models) == ["gemma-4-tiny-Q8_0.gguf", "other-chat-model.gguf"]
    assert [p for p in problems if "broken.gguf" in p]
    downloaded = next(m for m in models if not m.imported)
    assert downloaded.mmproj == folder / "mmproj-gemma-4-tiny-f16.gguf"

    assert library.delete(next(m for m in models if m.imported)) == 0  # imported: only forgotten
    assert other.exists()
    freed = library.delete(downloaded)
    assert freed > 2_000_000 and not (folder / "gemma-4-tiny-Q8_0.gguf").exists()
    assert not (folder / "mmproj-gemma-4-tiny-f16.gguf").exists()  # no other model used it
    assert [m.path.name for m in library.models()[0]] == []


def test_importing_a_projector_is_refused(tiny_mmproj: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="projector"):
        Library(tmp_path).import_model(tiny_mmproj)


def test_an_imported_file_that_moved(tmp_path: Path, tiny_model: Path) -> None:
    copy = tmp_path / "moved.gguf"
    shutil.copy(tiny_model, copy)
    library = Library(tmp_path / "models")
    library.import_model(copy)
    copy.unlink()
    models, problems = library.models()
    assert models == [] and "no longer there" in problems[0]
