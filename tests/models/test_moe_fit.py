"""A mixture of experts too big for the GPU: the fit keeps the experts of as few layers as needed in RAM.

Gemma 4 26B-A4B from the shipped catalog (no download: the catalog's architecture facts and file sizes) on
12 GiB and 8 GiB graphics cards, and the tiny mixture-of-experts GGUF read from its header, through the load plan
and ``gemma-desk models fit`` / ``list``. The machines are described, not probed: no GPU exists here.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from app.cli import models as models_cli
from app.models.catalog import load_catalog
from app.models.fit import EstimateOptions, ModelFacts, check_fit, estimate, expert_bytes, fit_placement
from app.models.fit.verdict import HEADROOM_MIN
from app.models.hardware import GpuInfo, Hardware
from app.models.load_plan import plan_load
from app.models.variants import find_variant

GB = 1_000_000_000
GIB = 1 << 30
ALL_ON_GPU = EstimateOptions(gpu_layers=-1)


def machine(gpu_bytes: int, ram_gb: float = 64, *, unified: bool = False) -> Hardware:
    card = GpuInfo("Apple M3" if unified else "RTX", "Metal" if unified else "CUDA", gpu_bytes, gpu_bytes, unified)
    return Hardware(
        ram_total=int(ram_gb * 1.3 * GB),
        ram_available=int(ram_gb * GB),
        cpu_threads=16,
        physical_cores=8,
        backends=("CPU", card.backend),
        gpus=(card,),
        disk_free=500 * GB,
        os="Darwin" if unified else "Linux",
        arch="arm64" if unified else "x86_64",
        unified_memory=unified,
    )


def a4b(quant: str = "Q4_K_M") -> ModelFacts:
    return find_variant(load_catalog(), f"26b:{quant}").facts()


def test_26b_a4b_experts_are_nine_tenths_of_the_file() -> None:
    facts = a4b()
    per_layer = expert_bytes(facts)
    assert len(per_layer) == 30 and len(set(per_layer)) == 1  # from the catalog: an even share per layer
    # 128 experts × 3 × 2816 × 704 per layer = 22.8B of 25.2B parameters
    assert sum(per_layer) / facts.weights_bytes == pytest.approx(0.905, abs=0.005)
    assert expert_bytes(find_variant(load_catalog(), "e4b").facts()) == ()  # dense: nothing to split


def test_26b_a4b_on_a_12_gib_card_keeps_19_layers_of_experts_in_ram() -> None:
    facts, hw = a4b(), machine(12 * GIB)
    whole = check_fit(estimate(facts, 8192, ALL_ON_GPU), hw)
    assert whole.verdict == "too_big" and whole.estimate.gpu == pytest.approx(20.35 * GB, rel=0.01)
    fit = fit_placement(facts, hw, 8192, ALL_ON_GPU)
    est = fit.estimate
    assert (fit.verdict, est.cpu_moe_layers, est.placement) == ("fits", 19, "GPU + CPU experts (19 of 30 layers)")
    assert est.gpu == pytest.approx(11.15 * GB, rel=0.01)  # attention, shared FFN, KV, compute, 11 layers' experts
    assert est.ram == pytest.approx(9.27 * GB, rel=0.01)  # 19 layers' experts, less one copied up per prompt batch
    assert est.gpu + est.ram == est.total == whole.estimate.total  # moved, not added
    assert fit.message == (
        "Fits: needs 11.2 GB of 12.9 GB GPU memory available; "
        "GPU + CPU experts: the experts of 19 of 30 layers stay in RAM"
    )
    one_fewer = check_fit(estimate(facts, 8192, replace(ALL_ON_GPU, cpu_moe_layers=18)), hw)
    assert one_fewer.verdict == "tight"  # 19 is the smallest N that keeps the headroom


def test_26b_a4b_on_an_8_gib_card_needs_more_layers_in_ram() -> None:
    fit = fit_placement(a4b(), machine(8 * GIB), 8192, ALL_ON_GPU)
    assert (fit.verdict, fit.estimate.cpu_moe_layers) == ("fits", 27)
    assert fit.estimate.gpu == pytest.approx(7.06 * GB, rel=0.01) and fit.estimate.ram == pytest.approx(
        13.36 * GB, rel=0.01
    )
    q8 = fit_placement(a4b("Q8_0"), machine(8 * GIB), 8192, ALL_ON_GPU)
    assert (q8.verdict, q8.estimate.cpu_moe_layers) == ("fits", 30)  # every layer's experts


def test_no_split_where_it_cannot_help() -> None:
    facts = a4b()
    roomy = fit_placement(facts, machine(24 * GIB), 8192, ALL_ON_GPU)
    assert (roomy.verdict, roomy.estimate.cpu_moe_layers, roomy.estimate.placement) == ("fits", 0, "GPU")
    unified = fit_placement(facts, machine(12 * GIB, unified=True), 8192, ALL_ON_GPU)
    assert unified.estimate.cpu_moe_layers == 0  # the same memory either way
    partial = fit_placement(facts, machine(12 * GIB), 8192, EstimateOptions(gpu_layers=10))
    assert partial.estimate.cpu_moe_layers == 0 and partial.estimate.placement == "GPU + CPU"
    hopeless = fit_placement(facts, machine(4 * GIB), 8192, ALL_ON_GPU)
    assert (hopeless.verdict, hopeless.estimate.cpu_moe_layers) == ("too_big", 0)  # as asked: the plan lowers ctx
    low_ram = fit_placement(facts, machine(12 * GIB, ram_gb=8), 8192, ALL_ON_GPU)
    assert (low_ram.verdict, low_ram.estimate.cpu_moe_layers) == ("tight", 16)  # RAM caps the split


def test_the_tiny_moe_gguf_splits_by_its_tensor_sizes(tiny_moe_model: Path) -> None:
    facts = ModelFacts.from_gguf(tiny_moe_model)
    # per layer: gate+up 4 × 64 × 64, down 4 × 32 × 64, the per-expert scale 4; f32
    assert facts.expert_bytes == (4 * (64 * 64 + 32 * 64 + 1) * 4,) * 4
    whole = estimate(facts, 2048, ALL_ON_GPU)
    hw = machine(whole.gpu + HEADROOM_MIN - 50_000)  # one layer's experts short of the headroom
    plan = plan_load(tiny_moe_model, None, 2048, hw)
    # One layer in RAM saves nothing (a prompt batch copies it back up), two save one layer's worth.
    assert (plan.fit.verdict, plan.cpu_moe_layers, plan.n_ctx) == ("fits", 2, 2048)
    assert plan.placement == "GPU + CPU experts (2 of 4 layers)"
    assert plan.fit.estimate.gpu == whole.gpu - facts.expert_bytes[0]
    assert "the experts of 2 of its 4 layers stay in RAM and run on the CPU" in plan.notice
    dense = plan_load(tiny_moe_model, None, 2048, machine(whole.gpu + 2 * HEADROOM_MIN))
    assert (dense.cpu_moe_layers, dense.notice) == (0, "")


def test_models_fit_and_list_show_gpu_plus_cpu_experts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(models_cli, "probe_hardware", lambda _folder=None: machine(12 * GIB))
    catalog = load_catalog()
    out, err = io.StringIO(), io.StringIO()
    assert models_cli._fit(catalog, tmp_path, "26b:Q4_K_M", 8192, False, out, err) == 0
    text = out.getvalue()
    assert "GPU + CPU experts: the experts of 19 of 30 layers stay in RAM" in text
    assert "GPU + CPU experts (19 of 30 layers): on the GPU 11.2 GB; in RAM 9.3 GB" in text
    out = io.StringIO()
    models_cli._fit(catalog, tmp_path, "26b:Q4_K_M", 8192, True, out, err)
    row = json.loads(out.getvalue())
    assert (row["cpu_moe_layers"], row["verdict"], row["placement"]) == (
        19,
        "fits",
        "GPU + CPU experts (19 of 30 layers)",
    )
    out = io.StringIO()
    models_cli._list(catalog, tmp_path, False, out)
    a4b_rows = [line for line in out.getvalue().splitlines() if line.strip().startswith("26b-a4b:")]
    assert a4b_rows and all("GPU + CPU experts" in line for line in a4b_rows)
    e4b_rows = [line for line in out.getvalue().splitlines() if line.strip().startswith("e4b:")]
    assert e4b_rows and not any("experts" in line for line in e4b_rows)
