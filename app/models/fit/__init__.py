"""Will a model fit on this machine? Memory estimates, fit verdicts, a default context, a recommendation.

One module per job: ``facts`` (what a model is, from its GGUF or the catalog),
``kv_cache`` and ``compute`` (llama.cpp's buffers, by its own rules),
``estimate`` (the memory model: the parts added up, in RAM and on the GPU),
``moe`` (a mixture of experts' experts kept in RAM under GPU offload),
``verdict`` (does it fit, and the default context) and ``recommend`` (which
model and quantization to offer first). ``EstimateOptions`` carries the load
settings every estimate depends on.
"""

from __future__ import annotations

from app.models.fit.compute import ComputeBuffer, compute_buffer, projector_compute_bytes, projector_ubatch
from app.models.fit.estimate import Estimate, EstimateOptions, estimate, estimate_from_facts, estimate_from_gguf
from app.models.fit.facts import ModelFacts, arch_facts
from app.models.fit.kv_cache import KVCache, kv_bytes_per_token, kv_caches
from app.models.fit.moe import expert_bytes
from app.models.fit.recommend import DEFAULT_QUANT, Candidate, recommend
from app.models.fit.verdict import (
    Fit,
    check_fit,
    context_steps,
    fit_placement,
    headroom_needed,
    max_context_that_fits,
)

__all__ = [
    "DEFAULT_QUANT",
    "Candidate",
    "ComputeBuffer",
    "Estimate",
    "EstimateOptions",
    "Fit",
    "KVCache",
    "ModelFacts",
    "arch_facts",
    "check_fit",
    "compute_buffer",
    "context_steps",
    "estimate",
    "estimate_from_facts",
    "estimate_from_gguf",
    "expert_bytes",
    "fit_placement",
    "headroom_needed",
    "kv_bytes_per_token",
    "kv_caches",
    "max_context_that_fits",
    "projector_compute_bytes",
    "projector_ubatch",
    "recommend",
]
