"""Will a model fit on this machine? Memory estimates, fit verdicts, a default context, a recommendation.

Memory to run a model = weights + projector + KV cache + compute buffers + overhead:

* **weights**: the GGUF file size (llama.cpp maps it; every page is touched
  while generating, so all of it ends up resident). **mmproj**: its file size
  (libmtmd reads it into its own buffers).
* **KV cache**: llama.cpp's rules (``llama-kv-cache*.cpp`` and the model
  loaders in ``src/models/`` of the vendored llama.cpp):

  - the context is padded to a multiple of 256 (``GGML_PAD(n_ctx, 256)``);
  - a layer owns cache only if it is one of the first ``n_layer_kv_from_start``
    layers: Gemma 4 sets that to ``block_count - attention.shared_kv_layers``
    (the last layers reuse earlier layers' K/V), Gemma 3n to 20;
  - layer ``il`` stores ``head_count_kv[il] × (key_length + value_length)``
    values per cell (the ``_swa`` lengths on sliding-window layers), f16 = 2 bytes;
  - a model with sliding-window layers gets two caches: the full-attention
    layers' (``n_ctx`` cells) and the sliding layers' — ``n_ctx`` cells with
    ``swa_full`` (our default: any earlier turn can be rewound to), else
    ``GGML_PAD(min(n_ctx, sliding_window + n_ubatch), 256)``;
  - which layers slide: ``attention.sliding_window_pattern`` when it is a
    per-layer array; else every layer but each n-th (n = the integer pattern,
    or the architecture's default: Gemma 2 → 2, Gemma 3 → 6, Gemma 3n → 5).

  V is stored untransposed (flash attention, which llama.cpp turns on by default
  where the backend has it — CPU, CUDA, Metal), so it is not padded to the
  widest layer. This matches llama.cpp's reported cache sizes exactly
  (tests/models/test_fit.py).
* **compute**: llama.cpp reserves its compute buffer for a worst-case batch
  of ``n_ubatch`` tokens with logits for every one. Calibrated against its
  "compute buffer size" log on the CPU backend (tiny Gemma 4 and Gemma 3 270M,
  n_ctx 512 … 32768, n_ubatch 128 … 2048, swa_full on and off: 64 configurations)::

      logits    = n_ubatch × (n_vocab + 2·n_embd) × 4
      attention = Σ_caches(cells) × n_ubatch × 2              (f16 KQ masks, one per cache)
                  + n_ubatch × 4 × (2·n_ff + 4·n_embd + 2·n_head·head_dim
                                    + 2·n_layer·n_embd_per_layer)
      reserved  = max(logits, attention) + n_vocab × 4        (+ the host output buffer)

  (the buffer holds the peak of live tensors, so the two phases do not add).
  Error against llama.cpp's figure: Gemma 3 270M within ±0.1 % everywhere;
  the tiny model 0 … +16 % over (its activations are too small for the
  per-token term to be exact). With Gemma's 262,144-token vocabulary the
  logits phase dominates: 512 MiB at ``n_ubatch`` 512. A chat only ever asks
  for the last token's logits, so on the CPU that part is never touched:
  a CPU estimate counts ``attention + 2 × n_vocab × 4`` (what shows up in RSS
  once the context is full), a GPU estimate the whole reservation (VRAM is
  allocated for real). A projector adds its encoders' compute buffers
  (allocated at the first image / clip): per image patch
  ``4 × (3·patch² + 8·hidden + 2·ff)`` bytes for ``pool² × vision_budget``
  patches, and for a 30 s clip
  ``3000 × 4 × (4·n_mel + 8·hidden) + 750 × 4 × (8·hidden + 2·ff)`` (within
  ±5 % of the tiny projector's log).
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
own copy of ``token_embd`` on the GPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.gguf_file import GGUFInfo, read_gguf_info
from app.models.hardware import Hardware

KV_TYPE_BYTES = 2  # f16, llama.cpp's default type_k / type_v
CTX_PAD = 256  # llama.cpp pads n_ctx (and the sliding-window cache) to this
GEMMA_VOCAB = 262_144  # assumed when a catalog entry does not say
GB = 1_000_000_000
MIB = 1 << 20

#: Headroom kept free: 15 % of what the model needs, and at least 1 GB.
HEADROOM_FRACTION = 0.15
HEADROOM_MIN = 1 * GB
#: "Lots of room": a higher-precision quant is chosen only when it uses at most this much of the budget.
ROOMY_FRACTION = 0.5

#: ``sliding_window_pattern`` when the GGUF has none (llama.cpp's per-architecture defaults).
_DEFAULT_SWA_PATTERN = {"gemma2": 2, "gemma3": 6, "gemma3n": 5}
#: Architectures whose sliding window has a default when the GGUF does not say.
_DEFAULT_SWA = {"gemma2": 4096}
#: Architectures with a hard-coded number of layers that own KV (the rest share it).
_KV_FROM_START = {"gemma3n": 20}
#: Tensors llama.cpp keeps on the CPU whatever is offloaded (the input layer).
_INPUT_TENSORS = ("token_embd.weight", "per_layer_token_embd.weight")

_OVERHEAD_FIXED = 4 * MIB
_OVERHEAD_PER_VOCAB = 200
_OVERHEAD_PROJECTOR = 16 * MIB  # libmtmd's contexts, graph metadata and audio tables, before any media


# -- model facts ----------------------------------------------------------------------


def arch_facts(info: GGUFInfo) -> dict[str, Any]:
    """A model's architecture facts: its ``<arch>.*`` metadata without the prefix.

    Also ``architecture`` and ``vocab_size`` (from the token list). Catalog
    entries can carry the same dict for models that are not downloaded yet.
    """
    arch = info.architecture
    prefix = f"{arch}."
    facts: dict[str, Any] = {k[len(prefix) :]: v for k, v in info.metadata.items() if k.startswith(prefix)}
    facts["architecture"] = arch
    if "vocab_size" not in facts:
        n_vocab = info.array_lengths.get("tokenizer.ggml.tokens")
        if n_vocab:
            facts["vocab_size"] = n_vocab
    return facts


@dataclass(frozen=True)
class ModelFacts:
    """What an estimate needs to know about a model (from its GGUF, or from a catalog entry)."""

    weights_bytes: int
    mmproj_bytes: int = 0
    arch: Mapping[str, Any] = field(default_factory=dict)  # see arch_facts()
    kv_bytes_per_token: int | None = None  # f16, all layers; used when ``arch`` has no attention facts
    mmproj_arch: Mapping[str, Any] = field(default_factory=dict)  # the projector's clip.* metadata
    input_bytes: int = 0  # input embeddings, kept in RAM under GPU offload (0: unknown)
    tied_output_bytes: int = 0  # a tied output layer's copy of token_embd on the GPU
    layer_bytes: tuple[int, ...] = ()  # weight bytes per repeating layer (empty: unknown → even split)

    @classmethod
    def from_gguf(cls, model: Path, mmproj: Path | None = None) -> ModelFacts:
        """Facts from the files' headers (raises ``ModelFileError`` for bad files)."""
        info = read_gguf_info(model)
        facts = arch_facts(info)
        n_layer = _int(facts.get("block_count"), 0)
        layer_bytes = [0] * n_layer
        input_bytes = 0
        names = set()
        for t in info.tensors:
            names.add(t.name)
            size = t.n_bytes() or 0
            if t.name in _INPUT_TENSORS:
                input_bytes += size
            elif t.name.startswith("blk."):
                index = t.name.split(".", 2)[1]
                if index.isdigit() and int(index) < n_layer:
                    layer_bytes[int(index)] += size
        tied = 0
        if "output.weight" not in names:
            tied = next((t.n_bytes() or 0 for t in info.tensors if t.name == "token_embd.weight"), 0)
        mm_bytes, mm_arch = 0, {}
        if mmproj is not None:
            mm_info = read_gguf_info(mmproj)
            mm_bytes = mm_info.file_size
            mm_arch = {k: v for k, v in mm_info.metadata.items() if k.startswith("clip.")}
        return cls(
            weights_bytes=info.file_size,
            mmproj_bytes=mm_bytes,
            arch=facts,
            mmproj_arch=mm_arch,
            input_bytes=input_bytes,
            tied_output_bytes=tied,
            layer_bytes=tuple(layer_bytes) if any(layer_bytes) else (),
        )


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return default


def _per_layer(value: Any, n_layer: int, default: int) -> list[int]:
    """A scalar-or-array metadata value as one int per layer."""
    if isinstance(value, list | tuple):
        items = [_int(v, default) for v in value]
        return (items + [items[-1] if items else default] * n_layer)[:n_layer]
    return [_int(value, default)] * n_layer


def _pad(n: int, to: int = CTX_PAD) -> int:
    return -(-n // to) * to


# -- KV cache ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KVCache:
    """One of llama.cpp's KV caches: its cells (context positions) and the layers that store into it."""

    kind: str  # "full" (full-attention layers, or all of a model without sliding windows) or "swa"
    cells: int
    layers: int  # layers that own a K/V tensor in this cache
    bytes_per_cell: int  # over those layers, K and V

    @property
    def nbytes(self) -> int:
        return self.cells * self.bytes_per_cell


@dataclass(frozen=True)
class _Layout:
    n_layer: int
    is_swa: list[bool]
    has_kv: list[bool]
    cell_bytes: list[int]  # K + V bytes per cell, per layer (0 where it owns none)
    n_swa: int


def _layout(arch: Mapping[str, Any]) -> _Layout | None:
    n_layer = _int(arch.get("block_count"), 0)
    if n_layer <= 0 or "attention.head_count" not in arch:
        return None
    name = str(arch.get("architecture", ""))
    n_embd = _int(arch.get("embedding_length"), 0)
    heads = _per_layer(arch.get("attention.head_count"), n_layer, 0)
    heads_kv = _per_layer(arch.get("attention.head_count_kv", arch.get("attention.head_count")), n_layer, 0)
    head_default = n_embd // heads[0] if heads and heads[0] else 0
    k_full = _int(arch.get("attention.key_length"), head_default)
    v_full = _int(arch.get("attention.value_length"), head_default)
    k_swa = _int(arch.get("attention.key_length_swa"), k_full)
    v_swa = _int(arch.get("attention.value_length_swa"), v_full)

    n_swa = _int(arch.get("attention.sliding_window"), _DEFAULT_SWA.get(name, 0))
    pattern = arch.get("attention.sliding_window_pattern")
    if isinstance(pattern, list | tuple) and pattern:
        is_swa = [bool(p) for p in pattern][:n_layer]
        is_swa += [False] * (n_layer - len(is_swa))
    elif n_swa > 0 and (isinstance(pattern, int) or name in _DEFAULT_SWA_PATTERN):
        every = _int(pattern, _DEFAULT_SWA_PATTERN.get(name, 0))
        # llama_hparams::set_swa_pattern (dense last): every n-th layer is full attention.
        is_swa = [every == 0 or il % every < every - 1 for il in range(n_layer)]
    else:
        is_swa = [False] * n_layer
    if n_swa <= 0:
        is_swa = [False] * n_layer

    kv_from_start = n_layer
    if "attention.shared_kv_layers" in arch:
        kv_from_start = n_layer - _int(arch.get("attention.shared_kv_layers"), 0)
    elif name in _KV_FROM_START:
        kv_from_start = _KV_FROM_START[name]
    has_kv = [il < kv_from_start for il in range(n_layer)]
    cell_bytes = [
        heads_kv[il] * ((k_swa + v_swa) if is_swa[il] else (k_full + v_full)) * KV_TYPE_BYTES if has_kv[il] else 0
        for il in range(n_layer)
    ]
    return _Layout(n_layer, is_swa, has_kv, cell_bytes, n_swa)


def kv_caches(
    arch: Mapping[str, Any],
    n_ctx: int,
    *,
    swa_full: bool = True,
    n_ubatch: int = 512,
    layers: Iterable[int] | None = None,
) -> tuple[KVCache, ...]:
    """The KV caches llama.cpp allocates for ``n_ctx`` (only ``layers`` when given); () if ``arch`` is unknown."""
    layout = _layout(arch)
    if layout is None:
        return ()
    cells = _pad(n_ctx)
    n_ubatch = min(n_ubatch, n_ctx)
    wanted = set(range(layout.n_layer)) if layers is None else set(layers)
    owners = [il for il in range(layout.n_layer) if layout.has_kv[il] and il in wanted]
    if not any(layout.is_swa):
        return (KVCache("full", cells, len(owners), sum(layout.cell_bytes[il] for il in owners)),)
    full = [il for il in owners if not layout.is_swa[il]]
    swa = [il for il in owners if layout.is_swa[il]]
    swa_cells = cells if swa_full else _pad(min(cells, layout.n_swa + n_ubatch))
    return (
        KVCache("full", cells, len(full), sum(layout.cell_bytes[il] for il in full)),
        KVCache("swa", swa_cells, len(swa), sum(layout.cell_bytes[il] for il in swa)),
    )


def kv_bytes_per_token(arch: Mapping[str, Any]) -> int | None:
    """KV bytes one context position costs over all layers (f16, full-size caches); None if unknown."""
    layout = _layout(arch)
    return None if layout is None else sum(layout.cell_bytes)


# -- compute buffers ---------------------------------------------------------------------


def _max_int(value: Any, default: int) -> int:
    if isinstance(value, list | tuple):
        return max((_int(v, default) for v in value), default=default)
    return _int(value, default)


@dataclass(frozen=True)
class ComputeBuffer:
    """llama.cpp's compute buffer for a context: what it reserves, and what a chat touches of it."""

    reserved: int  # the compute buffer for a worst-case batch + the host output buffer
    resident: int  # the attention phase at a full context + one token's logits (what RSS shows on the CPU)


def compute_buffer(arch: Mapping[str, Any], caches: Sequence[KVCache], n_ubatch: int) -> ComputeBuffer:
    """The compute buffer llama.cpp reserves for ``n_ubatch``-token batches (see the module docstring)."""
    n_vocab = _int(arch.get("vocab_size"), GEMMA_VOCAB)
    n_embd = _int(arch.get("embedding_length"), 0)
    n_layer = _int(arch.get("block_count"), 0)
    n_ff = _max_int(arch.get("feed_forward_length"), 4 * n_embd)
    n_head = _max_int(arch.get("attention.head_count"), 0)
    head_dim = max(
        _int(arch.get("attention.key_length"), n_embd // n_head if n_head else 0),
        _int(arch.get("attention.key_length_swa"), 0),
    )
    n_per_layer = _int(arch.get("embedding_length_per_layer_input"), 0)
    output = n_vocab * 4  # the host buffer the last token's logits are copied to
    logits = n_ubatch * (n_vocab + 2 * n_embd) * 4
    activations = n_ubatch * 4 * (2 * n_ff + 4 * n_embd + 2 * n_head * head_dim + 2 * n_layer * n_per_layer)
    masks = sum(c.cells for c in caches if c.layers) * n_ubatch * 2
    attention = masks + activations
    reserved = max(logits, attention) + output
    return ComputeBuffer(reserved=reserved, resident=min(reserved, attention + 2 * output))


def projector_compute_bytes(mmproj_arch: Mapping[str, Any], mmproj_bytes: int, vision_budget: int) -> int:
    """The vision/audio encoder's compute buffers (allocated at the first image / audio clip)."""
    total = 0
    has_vision = bool(mmproj_arch.get("clip.has_vision_encoder")) or "clip.vision.embedding_length" in mmproj_arch
    has_audio = bool(mmproj_arch.get("clip.has_audio_encoder")) or "clip.audio.embedding_length" in mmproj_arch
    if has_vision:
        hidden = _int(mmproj_arch.get("clip.vision.embedding_length"), 1152)
        ff = _int(mmproj_arch.get("clip.vision.feed_forward_length"), 4 * hidden)
        patch = _int(mmproj_arch.get("clip.vision.patch_size"), 16)
        pool = _int(mmproj_arch.get("clip.vision.projector.scale_factor"), 3)
        patches = vision_budget * pool * pool
        total += patches * 4 * (3 * patch * patch + 8 * hidden + 2 * ff)
    if has_audio:
        hidden = _int(mmproj_arch.get("clip.audio.embedding_length"), 1024)
        ff = _int(mmproj_arch.get("clip.audio.feed_forward_length"), 4 * hidden)
        n_mel = _int(mmproj_arch.get("clip.audio.num_mel_bins"), 128)
        total += 3000 * 4 * (4 * n_mel + 8 * hidden) + 750 * 4 * (8 * hidden + 2 * ff)
    if not has_vision and not has_audio and mmproj_bytes:
        total = mmproj_bytes // 4  # no facts: a rough allowance
    return total


def projector_ubatch(mmproj_arch: Mapping[str, Any], n_batch: int, vision_budget: int) -> int:
    """The batch the loader picks with a projector: a whole image or 30 s clip must fit one batch."""
    if mmproj_arch.get("clip.has_vision_encoder") or "clip.vision.embedding_length" in mmproj_arch:
        n_batch = max(n_batch, -(-int(vision_budget * 1.2) // 64) * 64)
    if mmproj_arch.get("clip.has_audio_encoder") or "clip.audio.embedding_length" in mmproj_arch:
        n_batch = max(n_batch, 768)
    return n_batch


# -- the estimate ---------------------------------------------------------------------------


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

    @property
    def total(self) -> int:
        return self.weights + self.mmproj + self.kv_cache + self.compute + self.overhead

    @property
    def ram(self) -> int:
        """Of the total, bytes in system RAM."""
        return self.total - self.gpu


def estimate(
    facts: ModelFacts,
    n_ctx: int,
    *,
    swa_full: bool = True,
    n_ubatch: int = 512,
    gpu_layers: int = 0,
    vision_budget: int = 280,
) -> Estimate:
    """Memory to run ``facts``' model with a context of ``n_ctx`` tokens (see the module docstring)."""
    arch = facts.arch
    notes: list[str] = []
    n_layer = _int(arch.get("block_count"), 0)
    if facts.mmproj_bytes:
        n_ubatch = projector_ubatch(facts.mmproj_arch, n_ubatch, vision_budget)
    n_ubatch = max(1, min(n_ubatch, n_ctx))
    cells = _pad(n_ctx)
    if cells != n_ctx:
        notes.append(f"llama.cpp pads the context to {cells:,} tokens")

    caches = kv_caches(arch, n_ctx, swa_full=swa_full, n_ubatch=n_ubatch)
    if caches:
        kv = sum(c.nbytes for c in caches)
        swa = [c for c in caches if c.kind == "swa" and c.layers]
        if swa and swa_full:
            notes.append("sliding-window layers keep a full-size KV cache (earlier turns can be reused)")
    elif facts.kv_bytes_per_token:
        caches = (KVCache("full", cells, max(1, n_layer), facts.kv_bytes_per_token),)
        kv = caches[0].nbytes
        notes.append("KV cache from the catalog's bytes per token")
    else:
        kv = 0
        notes.append("no attention facts for this model: KV cache not counted")
    full = gpu_layers < 0 or (n_layer > 0 and gpu_layers > n_layer)
    where = "cpu" if gpu_layers == 0 else "gpu" if full else "split"
    buffer = compute_buffer(arch, caches, n_ubatch)
    compute = buffer.resident if where == "cpu" else buffer.reserved
    if where == "cpu" and buffer.resident < 0.9 * buffer.reserved:
        notes.append(
            f"llama.cpp reserves {buffer.reserved / MIB:,.0f} MiB of compute buffer (logits for a whole batch); "
            f"a chat touches about {buffer.resident / MIB:,.0f} MiB of it"
        )
    n_vocab = _int(arch.get("vocab_size"), GEMMA_VOCAB)
    overhead = _OVERHEAD_FIXED + _OVERHEAD_PER_VOCAB * n_vocab
    if facts.mmproj_bytes:
        compute += projector_compute_bytes(facts.mmproj_arch, facts.mmproj_bytes, vision_budget)
        overhead += _OVERHEAD_PROJECTOR
    gpu = 0
    if where != "cpu":
        gpu = _gpu_share(facts, caches, arch, n_ctx, swa_full, n_ubatch, gpu_layers, full)
        gpu += compute
        if facts.mmproj_bytes:
            gpu += facts.mmproj_bytes
        if facts.tied_output_bytes:
            notes.append("the GPU holds its own copy of the tied embeddings for the output layer")
    weights = facts.weights_bytes + (facts.tied_output_bytes if where != "cpu" else 0)
    return Estimate(
        weights=weights,
        mmproj=facts.mmproj_bytes,
        kv_cache=kv,
        compute=compute,
        overhead=overhead,
        n_ctx=cells,
        where=where,
        notes=tuple(notes),
        gpu=gpu,
        compute_reserved=buffer.reserved,
    )


def _gpu_share(
    facts: ModelFacts,
    caches: Sequence[KVCache],
    arch: Mapping[str, Any],
    n_ctx: int,
    swa_full: bool,
    n_ubatch: int,
    gpu_layers: int,
    full: bool,
) -> int:
    """Weights + KV bytes on the GPU for ``gpu_layers`` (llama.cpp offloads the last layers first)."""
    n_layer = _int(arch.get("block_count"), 0)
    first = 0 if full else max(0, n_layer + 1 - gpu_layers)
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
        mine = kv_caches(arch, n_ctx, swa_full=swa_full, n_ubatch=n_ubatch, layers=offloaded)
        # Without per-layer facts (a catalog's bytes per token), an even share of the cache.
        kv = sum(c.nbytes for c in mine) if mine else int(kv * (len(offloaded) / n_layer if n_layer else 1.0))
    return weights + kv


def estimate_from_gguf(
    model: Path,
    mmproj: Path | None,
    n_ctx: int,
    *,
    swa_full: bool = True,
    n_ubatch: int = 512,
    gpu_layers: int = 0,
    vision_budget: int = 280,
) -> Estimate:
    """Estimate for model files on disk (reads their headers only)."""
    facts = ModelFacts.from_gguf(model, mmproj)
    return estimate(
        facts, n_ctx, swa_full=swa_full, n_ubatch=n_ubatch, gpu_layers=gpu_layers, vision_budget=vision_budget
    )


def estimate_from_facts(
    *,
    weights_bytes: int,
    mmproj_bytes: int,
    arch: Mapping[str, Any],
    n_ctx: int,
    kv_bytes_per_token: int | None = None,
    mmproj_arch: Mapping[str, Any] | None = None,
    swa_full: bool = True,
    n_ubatch: int = 512,
    gpu_layers: int = 0,
    vision_budget: int = 280,
) -> Estimate:
    """Estimate for a catalog entry not downloaded yet (``arch`` as ``arch_facts`` gives it, or {})."""
    facts = ModelFacts(
        weights_bytes=weights_bytes,
        mmproj_bytes=mmproj_bytes,
        arch=arch,
        kv_bytes_per_token=kv_bytes_per_token,
        mmproj_arch=mmproj_arch or {},
    )
    return estimate(
        facts, n_ctx, swa_full=swa_full, n_ubatch=n_ubatch, gpu_layers=gpu_layers, vision_budget=vision_budget
    )


# -- fit -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """Whether an estimate fits this machine, and a sentence saying so."""

    verdict: str  # "fits" | "tight" | "too_big"
    estimate: Estimate
    headroom: int  # budget - need, bytes (negative when too big)
    message: str
    budget: int = 0  # bytes the need was compared with

    @property
    def estimate_need(self) -> int:
        """The bytes compared with the budget (all of it, or the GPU's or RAM's share)."""
        return self.budget - self.headroom


def format_gb(n: int) -> str:
    return f"{n / GB:.1f} GB"


def headroom_needed(need: int) -> int:
    """Memory kept free beyond an estimate: 15 % of it, at least 1 GB."""
    return max(HEADROOM_MIN, int(need * HEADROOM_FRACTION))


def _verdict(need: int, budget: int) -> str:
    if need + headroom_needed(need) <= budget:
        return "fits"
    return "tight" if need <= budget else "too_big"


_RANK = {"fits": 0, "tight": 1, "too_big": 2}


def check_fit(estimate: Estimate, hw: Hardware) -> Fit:
    """Compare an estimate with what is free now.

    The budget is the GPU's free memory for what is offloaded (the discrete GPUs
    together, as llama.cpp splits layers across them), with the rest checked
    against available RAM; on unified memory (Apple Silicon) all of it against
    the smaller of the GPU's working-set budget and available RAM; on the CPU,
    available RAM. "fits" keeps 15 % (at least 1 GB) free; "tight" fits with
    less; "too_big" does not fit.
    """
    checks: list[tuple[str, int, int]] = []  # (where, need, budget)
    if estimate.where == "cpu" or not hw.gpus:
        checks.append(("RAM", estimate.total, hw.ram_available))
    elif hw.unified_memory or all(g.integrated for g in hw.gpus):
        gpu_free = sum(g.memory_free for g in hw.gpus)
        budget = min(gpu_free, hw.ram_available) if gpu_free > 0 else hw.ram_available
        checks.append(("memory", estimate.total, budget))
    else:
        checks.append(("GPU memory", estimate.gpu, hw.gpu_memory_free))
        checks.append(("RAM", estimate.ram, hw.ram_available))
    worst = max(checks, key=lambda c: (_RANK[_verdict(c[1], c[2])], c[1] - c[2]))
    label, need, budget = worst
    verdict = _verdict(need, budget)
    if verdict == "fits":
        message = f"Fits: needs {format_gb(need)} of {format_gb(budget)} {label} available"
    elif verdict == "tight":
        message = (
            f"Tight: needs {format_gb(need)} of {format_gb(budget)} {label} available; "
            "close other apps or pick a smaller context"
        )
    else:
        message = f"Too big: needs {format_gb(need)} but only {format_gb(budget)} {label} is available"
    return Fit(verdict, estimate, budget - need, message, budget)


def context_steps(cap: int, floor: int) -> list[int]:
    """Context sizes to try, largest first: ``cap``, then 2^k and 3·2^(k-1) down to ``floor``."""
    steps = {cap, floor}
    k = 8
    while (1 << k) <= cap:
        for n in (1 << k, 3 << (k - 1)):
            if floor <= n <= cap:
                steps.add(n)
        k += 1
    return sorted(steps, reverse=True)


def max_context_that_fits(
    facts: ModelFacts,
    hw: Hardware,
    *,
    cap: int = 32768,
    floor: int = 2048,
    swa_full: bool = True,
    n_ubatch: int = 512,
    gpu_layers: int = 0,
    vision_budget: int = 280,
) -> int:
    """The default context: the largest "round" size ≤ ``cap`` (and the trained length) that fits.

    Never the model's 128K/256K maximum unless asked for by ``cap``; ``floor``
    (or the trained length, if smaller) when even that does not fit — the
    caller's ``check_fit`` then says the model is too big.
    """
    n_train = _int(facts.arch.get("context_length"), 0)
    if n_train > 0:
        cap = min(cap, n_train)
        floor = min(floor, n_train)
    floor = min(floor, cap)
    for n_ctx in context_steps(cap, floor):
        est = estimate(
            facts, n_ctx, swa_full=swa_full, n_ubatch=n_ubatch, gpu_layers=gpu_layers, vision_budget=vision_budget
        )
        if check_fit(est, hw).verdict == "fits":
            return n_ctx
    return floor


# -- recommendation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One downloadable variant: a model at one quantization.

    ``arch`` is the model's architecture facts (``arch_facts`` of its GGUF;
    the same for every quant of a model), or empty with ``kv_bytes_per_token``
    instead. ``n_params`` ranks models by size (0: rank by the largest file).
    """

    id: str  # the model's id in the catalog, e.g. "gemma-4-e4b-it"
    quant: str  # "Q4_K_M", "Q8_0", …
    weights_bytes: int
    mmproj_bytes: int = 0
    arch: Mapping[str, Any] = field(default_factory=dict)
    kv_bytes_per_token: int | None = None
    n_params: int = 0
    mmproj_arch: Mapping[str, Any] = field(default_factory=dict)

    def facts(self) -> ModelFacts:
        return ModelFacts(
            weights_bytes=self.weights_bytes,
            mmproj_bytes=self.mmproj_bytes,
            arch=self.arch,
            kv_bytes_per_token=self.kv_bytes_per_token,
            mmproj_arch=self.mmproj_arch,
        )


DEFAULT_QUANT = "Q4_K_M"
#: Quantizations below ~4 bits: considered only when nothing else fits.
_LOW_BIT_PREFIXES = ("Q2", "Q3", "IQ1", "IQ2", "IQ3", "TQ")


def _is_low_bit(quant: str) -> bool:
    return quant.upper().startswith(_LOW_BIT_PREFIXES)


def recommend(
    candidates: Sequence[Candidate],
    hw: Hardware,
    *,
    n_ctx: int = 8192,
    swa_full: bool = True,
) -> tuple[str, str, Fit] | None:
    """The best (model id, quant, fit) for this machine, or None when nothing fits with headroom.

    Bigger models first (by ``n_params``, else by their largest file); for a
    model, Q4_K_M unless a higher-precision quant fits in half the budget
    ("lots of room"); below-4-bit quants only when no model fits otherwise.
    On a machine with a GPU, a model that fits on the GPU is preferred to one
    that only fits in RAM.
    """
    by_model: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_model.setdefault(c.id, []).append(c)

    def size(model_id: str) -> tuple[int, int]:
        group = by_model[model_id]
        return max(c.n_params for c in group), max(c.weights_bytes for c in group)

    order = sorted(by_model, key=size, reverse=True)
    placements = [-1, 0] if hw.gpus else [0]
    for gpu_layers in placements:
        for allow_low_bit in (False, True):
            for model_id in order:
                pick = _pick_quant(by_model[model_id], hw, n_ctx, swa_full, gpu_layers, allow_low_bit)
                if pick is not None:
                    return model_id, pick[0].quant, pick[1]
    return None


def _pick_quant(
    group: Sequence[Candidate], hw: Hardware, n_ctx: int, swa_full: bool, gpu_layers: int, allow_low_bit: bool
) -> tuple[Candidate, Fit] | None:
    fitting: list[tuple[Candidate, Fit]] = []
    for c in group:
        if _is_low_bit(c.quant) and not allow_low_bit:
            continue
        fit = check_fit(estimate(c.facts(), n_ctx, swa_full=swa_full, gpu_layers=gpu_layers), hw)
        if fit.verdict == "fits":
            fitting.append((c, fit))
    if not fitting:
        return None
    default = next((cf for cf in fitting if cf[0].quant.upper() == DEFAULT_QUANT), None)
    roomy = [cf for cf in fitting if cf[1].estimate_need <= ROOMY_FRACTION * cf[1].budget]
    if roomy:
        best = max(roomy, key=lambda cf: cf[0].weights_bytes)
        if default is None or best[0].weights_bytes > default[0].weights_bytes:
            return best
    if default is not None:
        return default
    # No Q4_K_M here: the leanest ≥4-bit quant that fits (or the richest low-bit one, when it came to that).
    pick = max if allow_low_bit else min
    return pick(fitting, key=lambda cf: cf[0].weights_bytes)
