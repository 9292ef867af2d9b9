"""An MTP assistant file that does not fit the model is refused with a message, before llama.cpp reads it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.engine.errors import ModelFileError
from app.engine.gguf_file import read_gguf_info
from app.engine.mtp import MtpDrafter
from app.engine.mtp_file import check_assistant_file, check_assistant_pair
from app.engine.native import NativeContext
from tests.fixtures.tiny_gemma4_assistant import write_tiny_gemma4_assistant


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assistants")


def test_the_matching_assistant_passes(folder: Path, tiny_model: Path) -> None:
    info = check_assistant_file(write_tiny_gemma4_assistant(folder / "ok.gguf"), read_gguf_info(tiny_model))
    assert info.architecture == "gemma4-assistant"


def test_a_chat_model_is_not_an_assistant(tiny_model: Path) -> None:
    with pytest.raises(ModelFileError, match=r"is a 'gemma4' model, not a Gemma 4 MTP assistant"):
        check_assistant_file(tiny_model, read_gguf_info(tiny_model))


def test_an_assistant_for_another_width_is_refused(folder: Path, tiny_model: Path) -> None:
    wide = write_tiny_gemma4_assistant(folder / "wide.gguf", embedding_length_out=48)
    with pytest.raises(ModelFileError, match=r"for a Gemma 4 model 48 wide; .* is 64 wide"):
        check_assistant_file(wide, read_gguf_info(tiny_model))


def test_an_assistant_converted_for_another_runtime_is_named_as_such(folder: Path, tiny_model: Path) -> None:
    foreign = write_tiny_gemma4_assistant(folder / "foreign.gguf", arch="gemma4_mtp")
    with pytest.raises(ModelFileError, match=r"converted for another runtime \(architecture 'gemma4_mtp'\)"):
        check_assistant_file(foreign, read_gguf_info(tiny_model))


def test_a_different_sliding_window_is_refused(folder: Path, tiny_model: Path) -> None:
    other = write_tiny_gemma4_assistant(folder / "window.gguf", sliding_window=64)
    with pytest.raises(ModelFileError, match=r"window of 64 tokens"):
        check_assistant_file(other, read_gguf_info(tiny_model))


def test_an_assistant_that_would_read_the_cache_with_other_heads_is_refused(folder: Path, tiny_model: Path) -> None:
    info = read_gguf_info(write_tiny_gemma4_assistant(folder / "heads.gguf"))
    metadata = dict(info.metadata)
    metadata["gemma4-assistant.attention.head_count_kv"] = [1, 1]  # the target's sliding layers hold 2
    with pytest.raises(ModelFileError, match=r"reads .* attention cache as 1 heads of 16, but that layer holds 2"):
        check_assistant_pair(replace(info, metadata=metadata), read_gguf_info(tiny_model))


def test_another_vocabulary_is_refused(folder: Path, tiny_model: Path) -> None:
    info = read_gguf_info(write_tiny_gemma4_assistant(folder / "vocab.gguf"))
    lengths = dict(info.array_lengths)
    lengths["tokenizer.ggml.tokens"] += 1
    with pytest.raises(ModelFileError, match=r"must come from the same Gemma 4 release"):
        check_assistant_pair(replace(info, array_lengths=lengths), read_gguf_info(tiny_model))


def test_loading_a_mismatched_assistant_stops_at_the_check(folder: Path, tiny_model: Path) -> None:
    """``MtpDrafter.load`` refuses before any llama.cpp call: the target context it is given is never touched."""
    wide = write_tiny_gemma4_assistant(folder / "wide2.gguf", embedding_length_out=48)
    untouched = object.__new__(NativeContext)  # no llama.cpp context behind it: any use would fail loudly
    with pytest.raises(ModelFileError, match=r"48 wide"):
        MtpDrafter.load(wide, read_gguf_info(tiny_model), untouched, n_threads=1, n_threads_batch=1)


def test_a_missing_assistant_file_is_a_plain_message(folder: Path, tiny_model: Path) -> None:
    with pytest.raises(ModelFileError, match=r"Model file not found"):
        check_assistant_file(folder / "nope.gguf", read_gguf_info(tiny_model))


def test_a_model_loads_with_its_assistant_and_unloads_it(folder: Path, tiny_model: Path) -> None:
    from app.engine.events import LoadRequest
    from app.engine.loader import load_model

    assistant = write_tiny_gemma4_assistant(folder / "paired.gguf")
    loaded = load_model(LoadRequest(tiny_model, n_ctx=256, n_gpu_layers=0, assistant_path=assistant))
    try:
        assert loaded.drafter is not None and loaded.drafter.name == "MTP"
    finally:
        loaded.close()  # the drafter first, then the context it reads


def test_loading_with_a_mismatched_assistant_fails_before_the_model_loads(folder: Path, tiny_model: Path) -> None:
    from app.engine.events import LoadRequest
    from app.engine.loader import load_model

    wide = write_tiny_gemma4_assistant(folder / "wide3.gguf", embedding_length_out=48)
    fractions: list[float] = []
    with pytest.raises(ModelFileError, match=r"48 wide"):
        load_model(LoadRequest(tiny_model, n_gpu_layers=0, assistant_path=wide), progress=fractions.append)
    assert fractions == []  # llama.cpp never started reading the model
