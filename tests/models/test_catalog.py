"""The shipped model catalog (models.toml) and its loader: every entry well formed, lookups, strict validation."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from app.models import fit
from app.models.catalog import (
    DEFAULT_ENDPOINT,
    Catalog,
    CatalogError,
    CatalogModel,
    FileRef,
    default_catalog_path,
    load_catalog,
    validate,
)

REPO = Path(__file__).resolve().parents[2]
SHA = re.compile(r"[0-9a-f]{64}")
HEARING = {"gemma-4-e2b-it", "gemma-4-e4b-it"}
DEAF = {"gemma-4-26b-a4b-it", "gemma-4-31b-it"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _files(model: CatalogModel) -> list[FileRef]:
    return [q.file for q in model.quants] + ([model.mmproj] if model.mmproj else [])


# -- the shipped catalog ------------------------------------------------------------------------


def test_default_path_is_the_repository_file() -> None:
    assert default_catalog_path() == REPO / "models.toml"


def test_shipped_catalog_has_the_four_gemma4_models(catalog: Catalog) -> None:
    assert catalog.schema == 1
    assert [m.id for m in catalog] == ["gemma-4-e2b-it", "gemma-4-e4b-it", "gemma-4-26b-a4b-it", "gemma-4-31b-it"]
    for m in catalog:
        assert m.family == "gemma4"
        assert m.license == "Apache-2.0"
        assert m.repo.startswith("ggml-org/")
        assert m.notes


def test_every_model_offers_q4_k_m_and_q8_0_with_q4_k_m_recommended(catalog: Catalog) -> None:
    for m in catalog:
        names = {q.name for q in m.quants}
        assert {"Q4_K_M", "Q8_0"} <= names, m.id
        assert m.default_quant.name == "Q4_K_M", m.id
        assert [q.name for q in m.quants if q.recommended] == ["Q4_K_M"], m.id


def test_small_models_hear_and_large_ones_do_not(catalog: Catalog) -> None:
    assert {m.id for m in catalog if m.can_hear} == HEARING
    assert {m.id for m in catalog if not m.can_hear} == DEAF
    for m in catalog:
        assert m.can_see, m.id
        assert "text" in m.modalities
        assert m.mmproj is not None, m.id


def test_parameters_and_context(catalog: Catalog) -> None:
    by_id = {m.id: m for m in catalog}
    for model_id in HEARING:
        m = by_id[model_id]
        assert m.active_params_b < m.params_b  # "effective" parameters: per-layer embeddings are stored, not computed
        assert m.context_length == 131072
    moe, dense = by_id["gemma-4-26b-a4b-it"], by_id["gemma-4-31b-it"]
    assert moe.is_moe and moe.active_params_b < moe.params_b / 5
    assert not dense.is_moe and dense.active_params_b == dense.params_b
    assert moe.context_length == dense.context_length == 262144


def test_every_file_is_a_gguf_with_a_well_formed_hash_and_exact_size(catalog: Catalog) -> None:
    for m in catalog:
        for f in _files(m):
            assert f.name.endswith(".gguf"), f.name
            assert f.sha256 is None or SHA.fullmatch(f.sha256), f.name
            # Every shipped file was found with its exact size and hash; an unknown one would be left out.
            assert f.size is not None and f.size > 0 and not f.size_approx, f.name
            assert f.can_verify and f.verification == "SHA-256 checked"
            assert f.repo and f.revision and re.fullmatch(r"[0-9a-f]{40}", f.revision), f.name
    hashes = [f.sha256 for m in catalog for f in _files(m)]
    assert len(hashes) == len(set(hashes)), "two catalog files share a SHA-256"


# Bytes per parameter. params_b is the stored count: for E2B/E4B it includes the per-layer
# embedding tables (5.1B / 8B), which the files hold too; against the "effective" 2.3B / 4.5B the
# files would be 1.1-1.4 bytes per parameter even at 4 bits. Bounds: 4-bit quants 0.45-0.75
# (Q4_K keeps some tensors at 6 bits), 8-bit 0.9-1.15 (Q8_0 is 8.5 bits; E2B's BF16 projection
# and F32 norms sit on top, its vision/audio encoders are in params_b but not in the file).
BYTES_PER_PARAM = {"Q4_0": (0.45, 0.75), "Q4_K_M": (0.45, 0.75), "Q8_0": (0.9, 1.15)}


def test_sizes_are_plausible_for_the_parameters_and_quantization(catalog: Catalog) -> None:
    for m in catalog:
        for q in m.quants:
            low, high = BYTES_PER_PARAM[q.name]
            assert q.file.size is not None
            ratio = q.file.size / (m.params_b * 1e9)
            assert low <= ratio <= high, f"{m.id} {q.name}: {ratio:.3f} bytes/parameter"
        sizes = {q.name: q.file.size or 0 for q in m.quants}
        assert sizes["Q4_0"] < sizes["Q8_0"] and sizes["Q4_K_M"] < sizes["Q8_0"], m.id
        assert m.mmproj is not None and m.mmproj.size is not None
        assert 100e6 < m.mmproj.size < 2e9, m.id
        assert m.mmproj.size < min(sizes.values()), m.id


def test_download_urls_pin_the_revision_the_hash_was_read_at(catalog: Catalog) -> None:
    _, q = catalog.get("e4b")
    assert q.file.url() == (
        "https://huggingface.co/unsloth/gemma-4-E4B-it-GGUF/resolve/"
        "bfc15c382204943c3a8fff0c750b94ae2364d7a3/gemma-4-E4B-it-Q4_K_M.gguf"
    )
    _, q8 = catalog.get("e4b:q8_0")
    assert q8.file.repo == "ggml-org/gemma-4-E4B-it-GGUF"
    assert q8.file.url(endpoint="https://mirror.example/") == (
        "https://mirror.example/ggml-org/gemma-4-E4B-it-GGUF/resolve/"
        "b8093469224f83f5c38f691eb906c380e9e63114/gemma-4-E4B-it-Q8_0.gguf"
    )
    # Explicit arguments win: the brief's form {endpoint}/{repo}/resolve/{revision}/{name}.
    assert q8.file.url("some/repo", DEFAULT_ENDPOINT, "main") == (
        "https://huggingface.co/some/repo/resolve/main/gemma-4-E4B-it-Q8_0.gguf"
    )
    e2b = catalog.model("e2b")
    assert e2b.files("Q8_0") == (e2b.quant("Q8_0").file, e2b.mmproj)


def test_kv_bytes_per_token_agrees_with_the_fit_estimate(catalog: Catalog) -> None:
    for m in catalog:
        assert m.kv_bytes_per_token_f16 is not None
        assert fit.kv_bytes_per_token(m.fit_arch()) == m.kv_bytes_per_token_f16, m.id


def test_fit_arch_expands_the_compact_forms(catalog: Catalog) -> None:
    arch = catalog.model("26b-a4b").fit_arch()
    assert arch["architecture"] == "gemma4"
    assert "attention.head_count_kv_full" not in arch
    pattern = arch["attention.sliding_window_pattern"]
    assert len(pattern) == 30 and pattern[:6] == [True] * 5 + [False] and pattern[-1] is False
    heads = arch["attention.head_count_kv"]
    assert heads[:6] == [8, 8, 8, 8, 8, 2] and heads.count(2) == 5
    e2b = catalog.model("e2b").fit_arch()
    assert e2b["attention.sliding_window_pattern"][:5] == [True, True, True, True, False]
    assert e2b["attention.head_count_kv"] == 1  # the same on every layer: left a scalar


def test_catalog_facts_give_a_finite_estimate(catalog: Catalog) -> None:
    for m in catalog:
        q = m.default_quant
        assert q.file.size and m.mmproj and m.mmproj.size
        est = fit.estimate_from_facts(
            weights_bytes=q.file.size, mmproj_bytes=m.mmproj.size, arch=m.fit_arch(), n_ctx=8192
        )
        assert q.file.size < est.total < 2 * q.file.size + 4e9, m.id


# -- lookups --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "model_id", "quant"),
    [
        ("gemma-4-e4b-it", "gemma-4-e4b-it", "Q4_K_M"),
        ("gemma-4-e4b-it:Q8_0", "gemma-4-e4b-it", "Q8_0"),
        ("e4b", "gemma-4-e4b-it", "Q4_K_M"),
        ("E4B:q8_0", "gemma-4-e4b-it", "Q8_0"),
        (" e2b : q4_0 ", "gemma-4-e2b-it", "Q4_0"),
        ("GEMMA-4-31B-IT", "gemma-4-31b-it", "Q4_K_M"),
        ("26b", "gemma-4-26b-a4b-it", "Q4_K_M"),
        ("26B-A4B:Q8_0", "gemma-4-26b-a4b-it", "Q8_0"),
    ],
)
def test_get_resolves_ids_aliases_and_quants(catalog: Catalog, ref: str, model_id: str, quant: str) -> None:
    model, q = catalog.get(ref)
    assert (model.id, q.name) == (model_id, quant)


def test_get_unknown_model_lists_the_choices(catalog: Catalog) -> None:
    with pytest.raises(
        KeyError, match=r"No model 'gemma-3-4b-it' in the catalog; choose one of: e2b, e4b, 26b-a4b, 31b"
    ) as info:
        catalog.get("gemma-3-4b-it")
    message = str(info.value)
    assert "No model 'gemma-3-4b-it'" in message and "e2b, e4b, 26b-a4b, 31b" in message


def test_unknown_quant_lists_the_choices(catalog: Catalog) -> None:
    with pytest.raises(
        KeyError, match=r"Gemma 4 E4B has no quantization 'Q5_K_M'; choose one of: Q4_0, Q4_K_M, Q8_0"
    ) as info:
        catalog.get("e4b:Q5_K_M")
    assert str(info.value) == "Gemma 4 E4B has no quantization 'Q5_K_M'; choose one of: Q4_0, Q4_K_M, Q8_0"
    assert catalog.model("e4b").quant("q4_k_m").name == "Q4_K_M"
    with pytest.raises(KeyError, match="names no quantization"):
        catalog.get("e4b:")


# -- loading ---------------------------------------------------------------------------------------


def test_load_catalog_takes_a_path(tmp_path: Path) -> None:
    copy_path = tmp_path / "catalog.toml"
    copy_path.write_bytes((REPO / "models.toml").read_bytes())
    assert [m.id for m in load_catalog(copy_path)] == [m.id for m in load_catalog()]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read the model catalog"):
        load_catalog(tmp_path / "nope.toml")


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "models.toml"
    bad.write_text("schema = 1\n[[models]\nid = 'x'\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid TOML") as info:
        load_catalog(bad)
    assert "\n" not in str(info.value)


def test_validation_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "models.toml"
    bad.write_text("schema = 2\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^models\.toml: schema 2 is not supported"):
        load_catalog(bad)


def test_frozen_app_reads_the_bundled_catalog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert default_catalog_path() == tmp_path / "models.toml"


# -- validation -------------------------------------------------------------------------------------


def _minimal() -> dict[str, Any]:
    """A small valid catalog: one multimodal model, one text-only model."""
    return {
        "schema": 1,
        "models": [
            {
                "id": "gemma-4-e4b-it",
                "name": "Gemma 4 E4B",
                "family": "gemma4",
                "params_b": 8.0,
                "active_params_b": 4.5,
                "context_length": 131072,
                "modalities": ["text", "image", "audio"],
                "repo": "ggml-org/gemma-4-E4B-it-GGUF",
                "license": "Apache-2.0",
                "quants": [
                    {"name": "Q4_K_M", "file": "m-Q4_K_M.gguf", "size": 5_000_000_000, "recommended": True},
                    {"name": "Q8_0", "file": "m-Q8_0.gguf", "size": 8_000_000_000, "sha256": "a" * 64},
                ],
                "mmproj": {"file": "mmproj.gguf", "size": 500_000_000},
            },
            {
                "id": "text-only-it",
                "name": "Text only",
                "family": "gemma4",
                "params_b": 1,
                "active_params_b": 1,
                "context_length": 8192,
                "modalities": ["text"],
                "repo": "someone/text-only-GGUF",
                "license": "Apache-2.0",
                "quants": [{"name": "Q8_0", "file": "t.gguf"}],
            },
        ],
    }


def test_minimal_catalog_is_valid() -> None:
    cat = validate(_minimal())
    first, text_only = cat.models
    assert first.mmproj is not None and text_only.mmproj is None
    q8 = first.quant("Q8_0").file
    assert q8.can_verify
    q4 = first.quant("Q4_K_M").file
    assert not q4.can_verify and q4.verification == "cannot verify: size check only"
    assert q4.revision is None and q4.url().endswith("/ggml-org/gemma-4-E4B-it-GGUF/resolve/main/m-Q4_K_M.gguf")
    only = text_only.quant("q8_0").file
    assert only.size is None and only.verification == "cannot verify: no checksum or exact size"
    assert text_only.default_quant.name == "Q8_0"  # nothing recommended, no Q4_K_M: the first
    assert text_only.fit_arch() == {}


def test_size_approx_is_kept() -> None:
    data = _minimal()
    data["models"][0]["quants"][0]["size_approx"] = True
    assert validate(data).models[0].quant("Q4_K_M").file.size_approx


def _set(path: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return change


def _delete(path: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[last]

    return change


def _duplicate_model(data: dict[str, Any]) -> None:
    data["models"].append(copy.deepcopy(data["models"][0]))


def _alias_clash(data: dict[str, Any]) -> None:
    data["models"][1]["aliases"] = ["e4b"]


INVALID = [
    (_set("colour", "blue"), "the catalog: unknown key 'colour'"),
    (_delete("schema"), "no 'schema' key"),
    (_set("schema", "1"), "'schema' must be an integer, not a string"),
    (_set("schema", 2), "schema 2 is not supported"),
    (_set("models", []), "'models' must be a non-empty array"),
    (_set("models.0.colour", "blue"), "model 'gemma-4-e4b-it': unknown key 'colour'"),
    (_delete("models.0.repo"), "model 'gemma-4-e4b-it': missing 'repo'"),
    (_set("models.0.id", "Gemma 4"), "'id' must be lowercase letters"),
    (_set("models.0.params_b", "8B"), "model 'gemma-4-e4b-it': 'params_b' must be a number, not '8B'"),
    (_set("models.0.params_b", True), "'params_b' must be a number, not a boolean"),
    (_set("models.0.params_b", -8.0), "'params_b' must be a positive number"),
    (_set("models.0.active_params_b", 9.0), "'active_params_b' (9.0) is more than 'params_b' (8.0)"),
    (_set("models.0.context_length", 131072.0), "'context_length' must be an integer, not a number"),
    (_set("models.0.context_length", 0), "'context_length' must be positive"),
    (_set("models.0.repo", "gemma-4-E4B-it-GGUF"), "'repo' must be a Hugging Face repository id"),
    (_set("models.0.revision", "a/b"), "'revision' must be a commit hash or branch name"),
    (_set("models.0.license", ""), "'license' is empty"),
    (_set("models.0.modalities", "text"), "'modalities' must be a non-empty list"),
    (_set("models.0.modalities", ["text", "smell"]), "unknown modality 'smell'"),
    (_set("models.0.modalities", ["image"]), "'modalities' must include 'text'"),
    (_set("models.0.modalities", ["text", "text"]), "modality 'text' is listed twice"),
    (_delete("models.0.mmproj"), "lists audio, image but has no [models.mmproj] projector"),
    (_set("models.0.mmproj", "mmproj.gguf"), "'mmproj' must be a table"),
    (_set("models.0.mmproj.url", "x"), "model 'gemma-4-e4b-it': mmproj: unknown key 'url'"),
    (_set("models.0.quants", []), "model 'gemma-4-e4b-it': has no quantizations"),
    (_delete("models.0.quants"), "model 'gemma-4-e4b-it': missing 'quants'"),
    (_set("models.0.quants.0.url", "x"), "quant 'Q4_K_M': unknown key 'url'"),
    (_delete("models.0.quants.0.name"), "quants[0]: missing 'name'"),
    (_delete("models.0.quants.0.file"), "quant 'Q4_K_M': missing 'file'"),
    (_set("models.0.quants.0.file", "m-Q4_K_M.bin"), "'file' must name a .gguf file"),
    (_set("models.0.quants.0.file", "../m.gguf"), "'file' must be a plain path inside the repository"),
    (_set("models.0.quants.0.size", -5), "quant 'Q4_K_M': 'size' must be positive, not -5"),
    (_set("models.0.quants.0.size", "5 GB"), "'size' must be an integer, not '5 GB'"),
    (_set("models.0.quants.0.size", 5.0e9), "'size' must be an integer, not a number"),
    (_set("models.1.quants.0.size_approx", True), "'size_approx' is set but there is no 'size'"),
    (_set("models.0.quants.1.sha256", "A" * 64), "quant 'Q8_0': 'sha256' must be 64 lowercase hex digits"),
    (_set("models.0.quants.1.sha256", "abc123"), "'sha256' must be 64 lowercase hex digits, not 'abc123'"),
    (_set("models.0.quants.1.sha256", "g" * 64), "'sha256' must be 64 lowercase hex digits"),
    (_set("models.0.mmproj.sha256", 12), "mmproj: 'sha256' must be 64 lowercase hex digits, not an integer"),
    (_set("models.0.quants.1.name", "q4_k_m"), "quantization 'q4_k_m' is listed twice"),
    (_set("models.0.quants.1.recommended", True), "more than one recommended quantization (Q4_K_M, Q8_0)"),
    (_set("models.0.quants.0.recommended", "yes"), "'recommended' must be true or false"),
    (_set("models.0.arch", {"block_count": "42"}), "arch.block_count must be a non-negative integer"),
    (_set("models.0.arch", {"block_count": -1}), "arch.block_count must be a non-negative integer"),
    (_set("models.0.kv_bytes_per_token_f16", 0), "'kv_bytes_per_token_f16' must be positive"),
    (_set("models.0.aliases", "e4b"), "'aliases' must be a list of strings"),
    (_duplicate_model, "model 'gemma-4-e4b-it': duplicate model id 'gemma-4-e4b-it'"),
    (_alias_clash, "model 'text-only-it': alias 'e4b' is already used by model 'gemma-4-e4b-it'"),
]


@pytest.mark.parametrize(("change", "message"), INVALID, ids=[m for _, m in INVALID])
def test_invalid_catalogs_raise_one_clear_line(change: Any, message: str) -> None:
    data = _minimal()
    change(data)
    with pytest.raises(CatalogError, match=re.escape(message)) as info:
        validate(data)
    text = str(info.value)
    assert message in text
    assert "\n" not in text
