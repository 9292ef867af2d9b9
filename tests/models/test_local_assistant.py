"""An MTP assistant next to a model is found for it, and is not listed as a model of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.models.library import CompanionFileError, Library, describe
from app.models.local import find_assistant
from tests.fixtures.tiny_gemma4_assistant import write_tiny_gemma4_assistant


def test_the_fitting_assistant_is_found_and_kept_out_of_the_model_list(tmp_path: Path, tiny_model: Path) -> None:
    model = Path(shutil.copy(tiny_model, tmp_path / "tiny-gemma4-Q8_0.gguf"))
    write_tiny_gemma4_assistant(tmp_path / "tiny-gemma4-wide-MTP.gguf", embedding_length_out=48)  # another size
    good = write_tiny_gemma4_assistant(tmp_path / "tiny-gemma4-Q8_0-MTP.gguf")
    assert find_assistant(model) == good
    found, problems = Library(tmp_path).models()
    assert [m.path.name for m in found] == ["tiny-gemma4-Q8_0.gguf"] and problems == []
    assert found[0].assistant == good


def test_no_assistant_when_none_fits(tmp_path: Path, tiny_model: Path) -> None:
    model = Path(shutil.copy(tiny_model, tmp_path / "tiny.gguf"))
    write_tiny_gemma4_assistant(tmp_path / "tiny-assistant.gguf", sliding_window=64)
    assert find_assistant(model) is None
    assert describe(model).assistant is None


def test_an_assistant_is_not_a_chat_model(tmp_path: Path) -> None:
    with pytest.raises(CompanionFileError, match=r"is a Gemma 4 MTP assistant"):
        describe(write_tiny_gemma4_assistant(tmp_path / "a-MTP.gguf"))
