"""How fast a model will write and read here: tokens per second, estimated from this machine's measured speed.

Decoding is bound by memory: each token streams the model's active weights
and the KV cache it attends to (``traffic``), so

    seconds per token ≈ bytes per token / rate
                        + overhead (``TOKEN_S`` + n_layer × ``LAYER_S`` + n_vocab × ``VOCAB_S``)
    rate = min(``CPU_BANDWIDTH_EFFICIENCY`` × bandwidth,
               ``DECODE_BYTES_PER_FLOP`` × FLOP/s per thread × decode threads)

(with few threads a core unpacks quantized weights slower than memory
delivers them: on this project's 2-core test machine one thread decodes
Gemma 3 270M at 6–9 GB/s while numpy reads 12–27 GB/s).
Reading a prompt is arithmetic-bound: 2 FLOPs per active parameter per
token at ``PREFILL_EFFICIENCY`` × the measured float32 rate (llama.cpp's
quantized kernels beat numpy's float32 BLAS), + ``PREFILL_TOKEN_S``. On a GPU the
bandwidth is the table's (``gpus``); a model split between GPU and CPU
pays each side's share. Without a figure for the GPU there is no estimate:
the text says so rather than guess.

The constants were fitted against llama.cpp on real models
(``tests/bench/speed_estimate.py``); a real decode then corrects them for
this machine (``observed``): the loaded model shows what it measured, the
others their estimate scaled by the ratio measured ÷ estimated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.models.catalog import CatalogModel, Quant
from app.models.fit import Estimate
from app.models.speed.gpus import GpuSpeed
from app.models.speed.machine import CpuSpeed
from app.models.speed.observed import Observations, placement_kind
from app.models.speed.traffic import TYPICAL_CTX, Traffic, traffic_of_catalog

#: Share of the measured read bandwidth llama.cpp's CPU decode reaches where memory is the limit.
CPU_BANDWIDTH_EFFICIENCY = 0.75
#: Weight bytes a decode thread gets through per float32 FLOP/s of one BLAS thread (Gemma 3 270M: 0.44–0.47).
DECODE_BYTES_PER_FLOP = 0.45
#: Share of a GPU's specified bandwidth llama.cpp's GPU backends reach (not measured here: no GPU build).
GPU_BANDWIDTH_EFFICIENCY = 0.7
#: llama.cpp's quantized kernels against numpy's float32 BLAS rate (Gemma 3 270M prompt here: 2–2.5).
PREFILL_EFFICIENCY = 2.0
#: Per-token overhead: the engine's own work per token, graph work and thread barriers per layer,
#: sampling over the vocabulary (fitted on the tiny test model and Gemma 3 270M).
TOKEN_S = 0.25e-3
LAYER_S = 20e-6
VOCAB_S = 4e-9
PREFILL_TOKEN_S = 0.1e-3
#: Below this a model "answers at a crawl": marked "Slow here" in lists.
SLOW_TOK_S = 3.0


@dataclass(frozen=True)
class SpeedEstimate:
    """Tokens per second writing an answer (decode) and reading a prompt (prefill), and how we know."""

    decode: float | None  # None: no estimate (e.g. a GPU we have no figure for)
    prefill: float | None
    source: str  # "estimate", "corrected" (scaled by a measured decode here) or "measured"
    where: str  # "cpu", "gpu" or "split"
    reason: str = ""  # why there is no estimate

    @property
    def text(self) -> str:
        """ "about 14 tok/s", "measured 14 tok/s" or "no speed estimate"."""
        if self.decode is None:
            return "no speed estimate"
        if self.source == "measured":  # a measurement keeps its digits
            return f"measured {self.decode:.1f} tok/s" if self.decode < 10 else f"measured {self.decode:,.0f} tok/s"
        figure = rate(self.decode)
        return f"{figure} tok/s" if figure.startswith("under") else f"about {figure} tok/s"

    @property
    def detail(self) -> str:
        """One sentence for a tooltip or the command line."""
        if self.decode is None:
            return f"No speed estimate: {self.reason}." if self.reason else "No speed estimate."
        how = {
            "measured": "measured while this model answered here",
            "corrected": "estimated from this machine's measured speed, corrected by a model measured here",
            "estimate": "estimated from this machine's measured memory bandwidth",
        }[self.source]
        reading = f", reads a prompt at about {rate(self.prefill)} tok/s" if self.prefill else ""
        return f"Writes {self.text}{reading} ({how})."


def rate(tok_s: float) -> str:
    """A rate rounded as honestly as an estimate allows: "under 1", "6", "15", "120", "1,200"."""
    if tok_s < 1:
        return "under 1"
    if tok_s < 10:
        return f"{round(tok_s)}"
    if tok_s < 100:
        return f"{5 * round(tok_s / 5)}"
    digits = len(str(int(tok_s))) - 2
    return f"{round(tok_s, -digits):,.0f}"


@dataclass(frozen=True)
class Speeds:
    """What speed estimates need: the CPU as measured, the GPUs from the table, the decodes seen here."""

    cpu: CpuSpeed
    gpu: GpuSpeed | None = None
    observed: Observations = field(default_factory=Observations)

    def raw(
        self, traffic: Traffic, *, where: str = "cpu", gpu_share: float = 1.0, n_ctx: int = TYPICAL_CTX
    ) -> SpeedEstimate:
        """The estimate before any correction (see the module docstring)."""
        per_token = traffic.bytes_per_token(n_ctx)
        active = max(1, traffic.active_params)
        overhead = TOKEN_S + traffic.n_layer * LAYER_S + traffic.n_vocab * VOCAB_S
        cpu_rate = min(
            CPU_BANDWIDTH_EFFICIENCY * self.cpu.bandwidth,
            DECODE_BYTES_PER_FLOP * self.cpu.flops_per_thread * self.cpu.threads,
        )
        cpu_s = per_token / cpu_rate
        prefill = 1 / (2 * active / (PREFILL_EFFICIENCY * self.cpu.flops) + PREFILL_TOKEN_S)
        if where == "cpu" or self.gpu is None:
            return SpeedEstimate(1 / (cpu_s + overhead), prefill, "estimate", "cpu")
        if self.gpu.bandwidth is None:
            reason = f"no bandwidth figure for {self.gpu.name}"
            return SpeedEstimate(None, None, "estimate", where, reason)
        share = 1.0 if where == "gpu" else min(1.0, max(0.0, gpu_share))
        gpu_s = share * per_token / (GPU_BANDWIDTH_EFFICIENCY * self.gpu.bandwidth)
        seconds = gpu_s + (1 - share) * cpu_s + overhead
        return SpeedEstimate(1 / seconds, None, "estimate", where)

    def estimate(
        self,
        traffic: Traffic,
        *,
        file_name: str = "",
        where: str = "cpu",
        gpu_share: float = 1.0,
        n_ctx: int = TYPICAL_CTX,
    ) -> SpeedEstimate:
        """What ``file_name`` measured here, else the estimate scaled by what other models measured, else the
        estimate."""
        raw = self.raw(traffic, where=where, gpu_share=gpu_share, n_ctx=n_ctx)
        kind = placement_kind(where)
        prefill_ratio = self.observed.ratio(kind, "prefill")
        prefill = raw.prefill * prefill_ratio if raw.prefill is not None and prefill_ratio is not None else raw.prefill
        measured = self.observed.find(file_name, kind) if file_name else None
        if measured is not None:
            return SpeedEstimate(measured.decode, measured.prefill or prefill, "measured", raw.where)
        ratio = self.observed.ratio(kind)
        if raw.decode is None or (ratio is None and prefill_ratio is None):
            return raw
        decode = raw.decode * ratio if ratio is not None else raw.decode
        return SpeedEstimate(decode, prefill, "corrected", raw.where)

    def for_memory(self, traffic: Traffic, memory: Estimate, *, file_name: str = "") -> SpeedEstimate:
        """A model placed as its memory estimate says: CPU, GPU, the GPU's share of a split, or all on the GPU
        but the first layers' experts (read from RAM by the CPU)."""
        where, share = memory.where, 1.0
        if where == "split" and memory.total:
            share = memory.gpu / memory.total
        elif where == "gpu" and memory.cpu_moe_layers and traffic.n_layer and traffic.weight_bytes:
            in_ram = traffic.expert_bytes * min(1.0, memory.cpu_moe_layers / traffic.n_layer)
            where, share = "split", 1 - in_ram / traffic.weight_bytes
        return self.estimate(traffic, file_name=file_name, where=where, gpu_share=share)

    def for_catalog(self, model: CatalogModel, quant: Quant, memory: Estimate) -> SpeedEstimate:
        """A catalog variant placed as its memory estimate says (see ``for_memory``)."""
        return self.for_memory(traffic_of_catalog(model, quant), memory, file_name=Path(quant.file.name).name)
