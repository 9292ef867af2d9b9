"""The KV cache: the caches llama.cpp allocates for a context, by its own rules.

From ``llama-kv-cache*.cpp`` and the model loaders in ``src/models/`` of the vendored llama.cpp:

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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.models.fit.facts import as_int, per_layer

KV_TYPE_BYTES = 2  # f16, llama.cpp's default type_k / type_v
CTX_PAD = 256  # llama.cpp pads n_ctx (and the sliding-window cache) to this

#: ``sliding_window_pattern`` when the GGUF has none (llama.cpp's per-architecture defaults).
_DEFAULT_SWA_PATTERN = {"gemma2": 2, "gemma3": 6, "gemma3n": 5}
#: Architectures whose sliding window has a default when the GGUF does not say.
_DEFAULT_SWA = {"gemma2": 4096}
#: Architectures with a hard-coded number of layers that own KV (the rest share it).
_KV_FROM_START = {"gemma3n": 20}


def pad(n: int, to: int = CTX_PAD) -> int:
    """``n`` rounded up to a multiple of ``to`` (llama.cpp's ``GGML_PAD``)."""
    return -(-n // to) * to


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
    n_layer = as_int(arch.get("block_count"), 0)
    if n_layer <= 0 or "attention.head_count" not in arch:
        return None
    name = str(arch.get("architecture", ""))
    n_embd = as_int(arch.get("embedding_length"), 0)
    heads = per_layer(arch.get("attention.head_count"), n_layer, 0)
    heads_kv = per_layer(arch.get("attention.head_count_kv", arch.get("attention.head_count")), n_layer, 0)
    head_default = n_embd // heads[0] if heads and heads[0] else 0
    k_full = as_int(arch.get("attention.key_length"), head_default)
    v_full = as_int(arch.get("attention.value_length"), head_default)
    k_swa = as_int(arch.get("attention.key_length_swa"), k_full)
    v_swa = as_int(arch.get("attention.value_length_swa"), v_full)

    n_swa = as_int(arch.get("attention.sliding_window"), _DEFAULT_SWA.get(name, 0))
    pattern = arch.get("attention.sliding_window_pattern")
    if isinstance(pattern, list | tuple) and pattern:
        is_swa = [bool(p) for p in pattern][:n_layer]
        is_swa += [False] * (n_layer - len(is_swa))
    elif n_swa > 0 and (isinstance(pattern, int) or name in _DEFAULT_SWA_PATTERN):
        every = as_int(pattern, _DEFAULT_SWA_PATTERN.get(name, 0))
        # llama_hparams::set_swa_pattern (dense last): every n-th layer is full attention.
        is_swa = [every == 0 or il % every < every - 1 for il in range(n_layer)]
    else:
        is_swa = [False] * n_layer
    if n_swa <= 0:
        is_swa = [False] * n_layer

    kv_from_start = n_layer
    if "attention.shared_kv_layers" in arch:
        kv_from_start = n_layer - as_int(arch.get("attention.shared_kv_layers"), 0)
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
    cells = pad(n_ctx)
    n_ubatch = min(n_ubatch, n_ctx)
    wanted = set(range(layout.n_layer)) if layers is None else set(layers)
    owners = [il for il in range(layout.n_layer) if layout.has_kv[il] and il in wanted]
    if not any(layout.is_swa):
        return (KVCache("full", cells, len(owners), sum(layout.cell_bytes[il] for il in owners)),)
    full = [il for il in owners if not layout.is_swa[il]]
    swa = [il for il in owners if layout.is_swa[il]]
    swa_cells = cells if swa_full else pad(min(cells, layout.n_swa + n_ubatch))
    return (
        KVCache("full", cells, len(full), sum(layout.cell_bytes[il] for il in full)),
        KVCache("swa", swa_cells, len(swa), sum(layout.cell_bytes[il] for il in swa)),
    )


def kv_bytes_per_token(arch: Mapping[str, Any]) -> int | None:
    """KV bytes one context position costs over all layers (f16, full-size caches); None if unknown."""
    layout = _layout(arch)
    return None if layout is None else sum(layout.cell_bytes)
