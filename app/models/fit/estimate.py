"""The memory model: bytes a model needs at one context size, in RAM and on the GPU.

Memory to run a model = weights + projector + KV cache + compute buffers + overhead:

* **weights**: the GGUF file size (llama.cpp maps it; every page is touched
  while generating, so all of it ends up resident). **mmproj**: its file size
  (libmtmd reads it into its own buffers).
* **KV cache**: see ``app.models.fit.kv_cache``.
* **compute**: see ``app.models.fit.compute``.
* **overhead**: 4 MiB + 200 bytes per vocabulary entry (the vocabulary's
  tables, graph metadata), + 16 MiB with a projector (libmtmd's contexts) —
  from the process RSS in ``tests/bench/fit_vs_rss.py``. There the whole
  estimate is 1.00–1.01 × the measured RSS increase for Gemma 3 270M with a
  90 %-full context, and 1.17–1.34 × for the tiny model (with and without
  projector).

With GPU offload (``gpu_layers``; -1 = all, as in ``LoadRequest``) a share of
weights, KV and compute goes to the GPU. llama.cpp counts the output layer as
one more layer and offloads from the end: ``gpu_layers = k`` puts the output
layer and the last ``k − 1`` repeating layers (with their KV) on the GPU;
``k > n_layer`` is everything. The input embeddings (``token_embd``,
``per_layer_token_embd``) always stay in RAM, and a tied output layer gets its
own copy of ``token_embd`` on the GPU. A mixture-of-experts model may keep
the experts of its first ``cpu_moe_layers`` layers in RAM under GPU offload
(see ``app.models.fit.moe``): their bytes move from the GPU's share to RAM's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.models.fit.compute import compute_buffer, projector_compute_bytes, projector_ubatch
from app.models.fit.facts import GEMMA_VOCAB, ModelFacts, as_int
from app.models.fit.kv_cache import KVCache, kv_caches, pad
from app.models.fit.moe import expert_bytes
from app.units import MIB, format_memory

_OVERHEAD_FIXED = 4 * MIB
_OVERHEAD_PER_VOCAB = 200
_OVERHEAD_PROJECTOR = 16 * MIB  # libmtmd's contexts, graph metadata and audio tables, before any media


@dataclass(frozen=True)
class EstimateOptions:
    """How llama.cpp will run the model: the load settings an estimate depends on (as in ``LoadRequest``)."""

    swa_full: bool = True  # sliding-window layers keep a full-size KV cache
    n_ubatch: int = 512  # tokens per physical batch (a projector may raise it)
    gpu_layers: int = 0  # layers offloaded to the GPU: 0 none, -1 all
    vision_budget: int = 280  # image tokens per picture, with a projector
    cpu_moe_layers: int = 0  # mixture of experts under GPU offload: the first N layers' experts stay in RAM


@dataclass(frozen=True)
class Estimate:
    """Bytes a model needs at one context size, by part."""

    weights: int
    mmproj: int
    kv_cache: int
    compute: int
    overhead: int
    n_ctx: int  # as llama.cpp will allocate it (padded to 256)
    where: str  # "cpu" | "gpu" | "split"
    notes: tuple[str, ...] = ()
    gpu: int = 0  # of the total, bytes on the GPU (0 on the CPU)
    compute_reserved: int = 0  # the compute buffer llama.cpp allocates (≥ what the CPU touches)
    cpu_moe_layers: int = 0  # layers whose experts stay in RAM while the rest is on the GPU
    n_layer: int = 0  # the model's repeating layers (0: unknown)

    @property
    def placement(self) -> str:
        """Where the model runs, in words: "CPU", "GPU", "GPU + CPU" (some layers) or "GPU + CPU experts"."""
        if self.where == "cpu":
            return "CPU"
        if self.cpu_moe_layers:
            of = f" of {self.n_layer}" if self.n_layer else ""
            return f"GPU + CPU experts ({self.cpu_moe_layers}{of} layers)"
        return "GPU" if self.where == "gpu" else "GPU + CPU"

    @property
    def total(self) -> int:
        return self.weights + self.mmproj + self.kv_cache + self.compute + self.overhead

    @property
    def ram(self) -> int:
        """Of the total, bytes in system RAM."""
        return self.total - self.gpu


def estimate(facts: ModelFacts, n_ctx: int, options: EstimateOptions | None = None) -> Estimate:
    """Memory to run ``facts``' model with a context of ``n_ctx`` tokens (see the module docstring)."""
    opts = options if options is not None else EstimateOptions()
    arch = facts.arch
    notes: list[str] = []
    n_ubatch = opts.n_ubatch
    if facts.mmproj_bytes:
        n_ubatch = projector_ubatch(facts.mmproj_arch, n_ubatch, opts.vision_budget)
    opts = replace(opts, n_ubatch=max(1, min(n_ubatch, n_ctx)))  # the batch llama.cpp will really use
    cells = pad(n_ctx)
    if cells != n_ctx:
        notes.append(f"llama.cpp pads the context to {cells:,} tokens")
    caches = _caches(facts, n_ctx, opts, notes)
    n_layer = as_int(arch.get("block_count"), 0)
    full = opts.gpu_layers < 0 or (n_layer > 0 and opts.gpu_layers > n_layer)
    where = "cpu" if opts.gpu_layers == 0 else "gpu" if full else "split"
    buffer = compute_buffer(arch, caches, opts.n_ubatch)
    compute = buffer.resident if where == "cpu" else buffer.reserved
    if where == "cpu" and buffer.resident < 0.9 * buffer.reserved:
        notes.append(
            f"llama.cpp reserves {buffer.reserved / MIB:,.0f} MiB of compute buffer (logits for a whole batch); "
            f"a chat touches about {buffer.resident / MIB:,.0f} MiB of it"
        )
    overhead = _OVERHEAD_FIXED + _OVERHEAD_PER_VOCAB * as_int(arch.get("vocab_size"), GEMMA_VOCAB)
    if facts.mmproj_bytes:
        compute += projector_compute_bytes(facts.mmproj_arch, facts.mmproj_bytes, opts.vision_budget)
        overhead += _OVERHEAD_PROJECTOR
    gpu = 0
    cpu_moe = opts.cpu_moe_layers if where != "cpu" else 0
    if where != "cpu":
        gpu = _gpu_share(facts, caches, n_ctx, opts, full) + compute + facts.mmproj_bytes
        if facts.tied_output_bytes:
            notes.append("the GPU holds its own copy of the tied embeddings for the output layer")
        gpu -= _experts_left_in_ram(facts, opts, full, notes) if cpu_moe else 0
    return Estimate(
        weights=facts.weights_bytes + (facts.tied_output_bytes if where != "cpu" else 0),
        mmproj=facts.mmproj_bytes,
        kv_cache=sum(c.nbytes for c in caches),
        compute=compute,
        overhead=overhead,
        n_ctx=cells,
        where=where,
        notes=tuple(notes),
        gpu=gpu,
        compute_reserved=buffer.reserved,
        cpu_moe_layers=cpu_moe,
        n_layer=n_layer,
    )


def _experts_left_in_ram(facts: ModelFacts, opts: EstimateOptions, full: bool, notes: list[str]) -> int:
    """Bytes the GPU saves by keeping the first ``opts.cpu_moe_layers`` layers' experts in RAM.

    Less one layer's experts: for a prompt batch (≥ 32 tokens) llama.cpp copies the experts of the layer it
    is working on to the GPU and multiplies there (``op_offload``), in the GPU's compute buffer.
    """
    n_layer = as_int(facts.arch.get("block_count"), 0)
    first = 0 if full else max(0, n_layer + 1 - opts.gpu_layers)
    sizes = expert_bytes(facts)  # per layer, worked out once
    moved = sizes[first : min(opts.cpu_moe_layers, len(sizes))]
    if not moved or not sum(moved):
        return 0
    notes.append(
        f"the experts of the first {opts.cpu_moe_layers} layers ({format_memory(sum(moved))}) stay in RAM; "
        f"a prompt batch copies one layer's ({format_memory(max(moved))}) to the GPU at a time"
    )
    return sum(moved) - max(moved)


def _caches(facts: ModelFacts, n_ctx: int, opts: EstimateOptions, notes: list[str]) -> tuple[KVCache, ...]:
    """The KV caches for ``n_ctx``: from the attention facts, else the catalog's bytes per token, else none."""
    caches = kv_caches(facts.arch, n_ctx, swa_full=opts.swa_full, n_ubatch=opts.n_ubatch)
    if caches:
        if opts.swa_full and any(c.kind == "swa" and c.layers for c in caches):
            notes.append("sliding-window layers keep a full-size KV cache (earlier turns can be reused)")
        return caches
    if facts.kv_bytes_per_token:
        notes.append("KV cache from the catalog's bytes per token")
        n_layer = as_int(facts.arch.get("block_count"), 0)
        return (KVCache("full", pad(n_ctx), max(1, n_layer), facts.kv_bytes_per_token),)
    notes.append("no attention facts for this model: KV cache not counted")
    return ()


def _gpu_share(facts: ModelFacts, caches: Sequence[KVCache], n_ctx: int, opts: EstimateOptions, full: bool) -> int:
    """Weights + KV bytes on the GPU for ``opts.gpu_layers`` (llama.cpp offloads the last layers first)."""
    arch = facts.arch
    n_layer = as_int(arch.get("block_count"), 0)
    first = 0 if full else max(0, n_layer + 1 - opts.gpu_layers)
    offloaded = list(range(first, n_layer))
    body = facts.weights_bytes - facts.input_bytes
    # The output layer (and its copy of tied embeddings) is the first thing offloaded.
    if facts.layer_bytes and len(facts.layer_bytes) == n_layer:
        rest = body - sum(facts.layer_bytes)  # output layer and other non-repeating tensors
        weights = sum(facts.layer_bytes[il] for il in offloaded) + rest + facts.tied_output_bytes
    else:
        share = len(offloaded) / n_layer if n_layer else 1.0
        weights = int(body * share) + facts.tied_output_bytes
    kv = sum(c.nbytes for c in caches)
    if not full:
        mine = kv_caches(arch, n_ctx, swa_full=opts.swa_full, n_ubatch=opts.n_ubatch, layers=offloaded)
        # Without per-layer facts (a catalog's bytes per token), an even share of the cache.
        kv = sum(c.nbytes for c in mine) if mine else int(kv * (len(offloaded) / n_layer if n_layer else 1.0))
    return weights + kv


def estimate_from_gguf(
    model: Path, mmproj: Path | None, n_ctx: int, options: EstimateOptions | None = None
) -> Estimate:
    """Estimate for model files on disk (reads their headers only)."""
    return estimate(ModelFacts.from_gguf(model, mmproj), n_ctx, options)


def estimate_from_facts(
    *,
    weights_bytes: int,
    mmproj_bytes: int,
    arch: Mapping[str, Any],
    n_ctx: int,
    kv_bytes_per_token: int | None = None,
    mmproj_arch: Mapping[str, Any] | None = None,
    options: EstimateOptions | None = None,
) -> Estimate:
    """Estimate for a catalog entry not downloaded yet (``arch`` as ``arch_facts`` gives it, or {})."""
    facts = ModelFacts(
        weights_bytes=weights_bytes,
        mmproj_bytes=mmproj_bytes,
        arch=arch,
        kv_bytes_per_token=kv_bytes_per_token,
        mmproj_arch=mmproj_arch or {},
    )
    return estimate(facts, n_ctx, options)
