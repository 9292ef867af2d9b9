"""Mixture-of-experts placement: the bytes of each layer's experts, and which CPU-expert splits to consider.

A mixture-of-experts model (Gemma 4 26B-A4B: 128 experts of which 8 run per token) keeps about nine tenths
of its weights in experts. When the whole model does not fit the GPU, everything can still be offloaded
but the experts of the first N layers, which stay in RAM (llama.cpp's ``--n-cpu-moe N``; the engine's
``LoadRequest.cpu_moe_layers``): the GPU then holds attention, the shared FFN, the output layer, the KV
cache, the compute buffer and the other layers' experts; RAM holds the N layers' experts besides the input
embeddings. ``verdict.fit_placement`` picks the smallest N that fits.

Expert bytes per layer come from the GGUF's tensor list (the tensors llama.cpp's pattern matches, see
``app.engine.moe_offload``), or, for a catalog entry not downloaded yet, from the architecture facts
(``expert_count``, ``expert_feed_forward_length``): the experts' share of the parameters, counted from
the facts, times the file size (every expert is a gate, an up and a down matrix of n_embd × n_ff_exp).
"""

from __future__ import annotations

from app.models.fit.facts import GEMMA_VOCAB, ModelFacts, as_int, per_layer
from app.models.hardware import Hardware


def expert_bytes(facts: ModelFacts) -> tuple[int, ...]:
    """Bytes of each layer's experts (empty for a dense model, or when the facts do not say)."""
    if facts.expert_bytes:
        return facts.expert_bytes
    arch = facts.arch
    n_layer = as_int(arch.get("block_count"), 0)
    n_expert = as_int(arch.get("expert_count"), 0)
    n_ff_exp = as_int(arch.get("expert_feed_forward_length"), 0)
    n_embd = as_int(arch.get("embedding_length"), 0)
    if n_layer <= 0 or n_expert <= 1 or n_ff_exp <= 0 or n_embd <= 0:
        return ()
    per_layer_experts = 3 * n_embd * n_ff_exp * n_expert
    total = n_layer * per_layer_experts + _other_params(facts)
    return (facts.weights_bytes * per_layer_experts // total,) * n_layer


def _other_params(facts: ModelFacts) -> int:
    """Parameters outside the experts: embeddings, attention, the shared FFN and the routers."""
    arch = facts.arch
    n_layer = as_int(arch.get("block_count"), 0)
    n_embd = as_int(arch.get("embedding_length"), 0)
    n_head = per_layer(arch.get("attention.head_count"), n_layer, 0)
    n_head_kv = per_layer(arch.get("attention.head_count_kv", arch.get("attention.head_count")), n_layer, 0)
    n_ff = per_layer(arch.get("feed_forward_length"), n_layer, 0)
    key_full = as_int(arch.get("attention.key_length"), n_embd // max(1, n_head[0] if n_head else 1))
    key_swa = as_int(arch.get("attention.key_length_swa"), key_full)
    pattern = arch.get("attention.sliding_window_pattern")
    is_swa = [bool(p) for p in pattern] if isinstance(pattern, list | tuple) else []
    is_swa = (is_swa + [False] * n_layer)[:n_layer]
    params = as_int(arch.get("vocab_size"), GEMMA_VOCAB) * n_embd  # token embeddings (tied output)
    for il in range(n_layer):
        head_dim = key_swa if is_swa[il] else key_full
        params += 2 * n_embd * head_dim * (n_head[il] + n_head_kv[il])  # q, o; k, v
        params += 3 * n_embd * n_ff[il] + n_embd * as_int(arch.get("expert_count"), 0)  # shared FFN, router
    return params


def cpu_moe_choices(facts: ModelFacts, hw: Hardware, gpu_layers: int) -> range:
    """The numbers of CPU-expert layers worth trying here (empty when the split cannot help).

    Only for a model with experts, fully offloaded (``gpu_layers`` -1 or past the layer count), to a
    discrete GPU: on unified memory the experts would stay in the same memory anyway.
    """
    n_layer = as_int(facts.arch.get("block_count"), 0)
    full = gpu_layers < 0 or (n_layer > 0 and gpu_layers > n_layer)
    discrete = bool(hw.gpus) and not hw.unified_memory and not all(g.integrated for g in hw.gpus)
    if not (full and discrete and expert_bytes(facts)):
        return range(0)
    return range(1, n_layer + 1)
