"""Catalog variants on a machine: download specs, state in the models folder, fit, recommendation, load plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models.catalog import CatalogKeyError, load_catalog
from app.models.download import part_path
from app.models.fit import estimate_from_gguf
from app.models.hardware import GpuInfo, Hardware
from app.models.load_plan import plan_load
from app.models.variants import (
    all_variants,
    assess,
    download_specs,
    find_variant,
    recommend_variant,
    variant_state,
)
from app.units import GB

CATALOG = load_catalog()


def machine(ram_gb: float, *, gpu_gb: float = 0.0, unified: bool = False) -> Hardware:
    gpus = (GpuInfo("Test GPU", "Metal" if unified else "CUDA", int(gpu_gb * GB), int(gpu_gb * GB), unified),)
    return Hardware(
        ram_total=int(ram_gb * 1.2 * GB),
        ram_available=int(ram_gb * GB),
        cpu_threads=8,
        physical_cores=8,
        backends=("CPU", gpus[0].backend) if gpu_gb else ("CPU",),
        gpus=gpus if gpu_gb else (),
        disk_free=500 * GB,
        os="Darwin" if unified else "Linux",
        arch="arm64" if unified else "x86_64",
        unified_memory=unified,
    )


def test_download_specs_name_both_files_with_catalog_sizes_and_hashes(tmp_path: Path) -> None:
    v = find_variant(CATALOG, "e4b")
    assert v.ref == "e4b:Q4_K_M"
    specs = download_specs(v, tmp_path, "https://mirror.example/")
    assert [s.dest for s in specs] == [tmp_path / "gemma-4-E4B-it-Q4_K_M.gguf", tmp_path / v.model.mmproj.name]  # type: ignore[union-attr]
    model_url = specs[0].url
    assert model_url.startswith("https://mirror.example/unsloth/gemma-4-E4B-it-GGUF/resolve/")
    assert model_url.endswith("/gemma-4-E4B-it-Q4_K_M.gguf")
    assert specs[1].url.startswith("https://mirror.example/ggml-org/gemma-4-E4B-it-GGUF/resolve/")
    assert specs[0].size == v.quant.file.size and specs[0].sha256 == v.quant.file.sha256
    assert download_specs(v, tmp_path)[0].url.startswith("https://huggingface.co/")


def test_unknown_names_list_the_choices() -> None:
    with pytest.raises(CatalogKeyError, match="choose one of: e2b, e4b, 26b-a4b, 31b"):
        find_variant(CATALOG, "gemma-9")
    with pytest.raises(CatalogKeyError, match="Q4_K_M"):
        find_variant(CATALOG, "e4b:Q1_X")


def test_state_follows_the_files_in_the_folder(tmp_path: Path) -> None:
    v = find_variant(CATALOG, "e2b:Q8_0")
    model, mmproj = (s.dest for s in download_specs(v, tmp_path))
    assert variant_state(tmp_path, v) == "absent"
    mmproj.write_bytes(b"x")  # a projector alone (shared with another quant) is not a started download
    assert variant_state(tmp_path, v) == "absent"
    part_path(model).write_bytes(b"GGUF")
    assert variant_state(tmp_path, v) == "partial"
    part_path(model).unlink()
    with model.open("wb") as f:  # sparse files of the catalog sizes
        f.truncate(v.quant.file.size or 0)
    with mmproj.open("wb") as f:
        f.truncate(v.model.mmproj.size or 0)  # type: ignore[union-attr]
    assert variant_state(tmp_path, v) == "installed"
    assert variant_state(tmp_path, find_variant(CATALOG, "e2b:Q4_0")) == "absent"


def test_every_variant_has_a_fit_and_a_default_context_within_its_training() -> None:
    hw = machine(16)
    for v in all_variants(CATALOG):
        vf = assess(v, hw)
        assert vf.fit.verdict in ("fits", "tight", "too_big")
        assert 2048 <= vf.default_ctx <= min(32768, v.model.context_length), v.ref
        assert vf.fit.estimate_need > (v.quant.file.size or 0)  # weights plus KV, buffers, projector


def test_recommendation_matches_the_machine() -> None:
    small = recommend_variant(CATALOG, machine(6))
    assert small is not None and small.variant.model.short_name == "e2b"  # E4B Q4 needs ~6.4 GB
    laptop = recommend_variant(CATALOG, machine(12))
    assert laptop is not None and laptop.variant.model.short_name == "e4b"
    assert laptop.fit.verdict == "fits"
    # A big CPU-only machine: the 31B fits but would crawl; the MoE (about 4B active) is chosen.
    workstation = recommend_variant(CATALOG, machine(96))
    assert workstation is not None and workstation.variant.model.short_name == "26b-a4b"
    assert assess(find_variant(CATALOG, "31b"), machine(96)).badge == "Slow here"
    # With a 48 GB GPU the dense 31B runs fast and is the best that fits.
    gpu = recommend_variant(CATALOG, machine(64, gpu_gb=48))
    assert gpu is not None and gpu.variant.model.short_name == "31b"
    assert recommend_variant(CATALOG, machine(2)) is None  # nothing fits: the UI says so


def test_load_plan_lowers_the_context_to_fit_and_flags_what_cannot(tiny_model: Path) -> None:
    roomy = plan_load(tiny_model, None, 8192, machine(64))
    assert (roomy.n_ctx, roomy.notice, roomy.too_big) == (8192, "", False)
    need_full = estimate_from_gguf(tiny_model, None, 8192).total
    need_small = estimate_from_gguf(tiny_model, None, 2048).total
    assert need_small < need_full
    # Memory between the 2K and the 8K need: 8K does not fit, so the plan lowers the context to 2K.
    hw = machine((need_small + need_full) / 2 / GB)
    plan = plan_load(tiny_model, None, 8192, hw)
    assert plan.n_ctx == 2048 and not plan.too_big
    assert plan.notice.startswith("The context was lowered from 8,192 to 2,048 tokens")
    tiny_machine = machine(0.001)
    hopeless = plan_load(tiny_model, None, 8192, tiny_machine)
    assert hopeless.too_big and hopeless.n_ctx == 2048 and "Too big" in hopeless.fit.message
    assert plan_load(tiny_model, None, 1 << 20, machine(64)).n_ctx == 8192  # never past the trained length
