"""Recording a real answer's speed: the engine's ``GenerationStats`` for a model file, next to the estimate.

Called after a turn with the model file the engine has loaded (off the GUI
thread: it reads the file's header and may measure the machine first).
Turns too short to time are skipped; see ``observed`` for what is kept.
"""

from __future__ import annotations

import time
from pathlib import Path

from app.engine.events import GenerationStats
from app.models.speed.estimate import Speeds
from app.models.speed.observed import (
    MIN_DECODE_TOKENS,
    MIN_PREFILL_TOKENS,
    Observations,
    Sample,
    add_sample,
    placement_kind,
)
from app.models.speed.traffic import Traffic, traffic_of_gguf


def placement(
    gpu_layers: int, n_layer: int, traffic: Traffic | None = None, cpu_moe_layers: int = 0
) -> tuple[str, float]:
    """(where, the GPU's share of the weights) for ``gpu_layers`` offloaded (llama.cpp counts the output layer);
    with ``cpu_moe_layers``, the experts of that many layers are read from RAM, as ``Speeds.for_memory`` places
    such a load."""
    if gpu_layers <= 0:
        return "cpu", 0.0
    if n_layer <= 0 or gpu_layers > n_layer:
        if cpu_moe_layers and traffic is not None and traffic.weight_bytes and n_layer > 0:
            in_ram = traffic.expert_bytes * min(1.0, cpu_moe_layers / n_layer)
            return "split", 1 - in_ram / traffic.weight_bytes
        return "gpu", 1.0
    return "split", gpu_layers / (n_layer + 1)


def plain_decode_tps(stats: GenerationStats) -> float:
    """The answer's decode speed without the speed-up of speculative drafts (the plain rate measured in the same
    answer), which is what the estimates predict: drafts gain with what the answer copies, not with the machine."""
    if stats.draft_tokens and stats.draft_speedup > 0:
        return stats.decode_tps / stats.draft_speedup
    return stats.decode_tps


def sample_of(
    stats: GenerationStats, speeds: Speeds, model: Path, cpu_moe_layers: int = 0
) -> tuple[str, Sample] | None:
    """The placement and the sample a turn gives, or None when it wrote too few tokens to time."""
    if stats.completion_tokens < MIN_DECODE_TOKENS or stats.decode_tps <= 0:
        return None
    traffic = traffic_of_gguf(model)
    where, share = placement(stats.gpu_layers, traffic.n_layer, traffic, cpu_moe_layers)
    n_ctx = max(1, stats.context_used)
    estimate = speeds.raw(traffic, where=where, gpu_share=share, n_ctx=n_ctx)
    prompt_s = stats.prompt_eval_s - stats.media_encode_s
    prefill = stats.evaluated_tokens / prompt_s if stats.evaluated_tokens >= MIN_PREFILL_TOKENS and prompt_s > 0 else 0
    sample = Sample(
        at=time.time(),
        n_ctx=n_ctx,
        decode=plain_decode_tps(stats),
        decode_estimate=estimate.decode or 0.0,
        prefill=prefill,
        prefill_estimate=(estimate.prefill or 0.0) if prefill else 0.0,
    )
    return placement_kind(where), sample


def record_turn(
    model: Path, stats: GenerationStats, speeds: Speeds, folder: Path | None = None, *, cpu_moe_layers: int = 0
) -> Observations | None:
    """Keep what this turn measured for ``model`` (None: too short to time); raises ``ModelFileError`` for a bad
    file. ``cpu_moe_layers``: the load kept that many layers' experts in RAM (``ModelInfo.cpu_moe_layers``)."""
    found = sample_of(stats, speeds, model, cpu_moe_layers)
    if found is None:
        return None
    kind, sample = found
    return add_sample(model.name, kind, sample, folder)
