"""The catalog's optional MTP assistant ([models.assistant]): checked like the projector, downloaded with the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.models.catalog import CatalogError, validate
from app.models.variants import Variant, download_specs


def _catalog(assistant: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "models": [
            {
                "id": "gemma-4-e2b-it",
                "name": "Gemma 4 E2B",
                "family": "gemma4",
                "params_b": 5.1,
                "active_params_b": 2.3,
                "context_length": 131072,
                "modalities": ["text", "image"],
                "repo": "someone/gemma-4-E2B-it-GGUF",
                "revision": "abc123",
                "license": "Apache-2.0",
                "quants": [{"name": "Q4_K_M", "file": "m-Q4_K_M.gguf", "size": 3_000_000_000}],
                "mmproj": {"file": "mmproj.gguf", "size": 500_000_000},
                "assistant": assistant,
            }
        ],
    }


def test_the_assistant_is_downloaded_after_the_model_and_projector(tmp_path: Path) -> None:
    model = validate(_catalog({"file": "MTP/e2b-MTP.gguf", "size": 97_000_000, "sha256": "b" * 64})).models[0]
    assert model.assistant is not None and model.assistant.can_verify
    assert [f.name for f in model.files()] == ["m-Q4_K_M.gguf", "mmproj.gguf", "MTP/e2b-MTP.gguf"]
    specs = download_specs(Variant(model, model.default_quant), tmp_path)
    assert specs[-1].url == "https://huggingface.co/someone/gemma-4-E2B-it-GGUF/resolve/abc123/MTP/e2b-MTP.gguf"
    assert specs[-1].dest == tmp_path / "e2b-MTP.gguf"  # kept next to the model, by its base name


def test_without_an_assistant_nothing_changes() -> None:
    data = _catalog(None)
    del data["models"][0]["assistant"]
    model = validate(data).models[0]
    assert model.assistant is None and len(model.files()) == 2


@pytest.mark.parametrize(
    ("assistant", "message"),
    [
        ("e2b-MTP.gguf", r"'assistant' must be a table \(\[models.assistant\]\)"),
        ({"file": "a.gguf", "checksum": "x"}, r"assistant: unknown key 'checksum'"),
        ({"file": "a.gguf", "sha256": "XYZ"}, r"assistant"),
    ],
)
def test_a_malformed_assistant_entry_is_one_line(assistant: Any, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        validate(_catalog(assistant))
