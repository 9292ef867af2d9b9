"""What one generated token costs a model: the weight bytes it streams and the parameters it multiplies.

Decoding a token reads every weight the token passes through, once:

* the repeating layers' weights; of a mixture of experts only the experts the
  router picks (``expert_used_count`` of ``expert_count``: 8 of 128 for
  Gemma 4 26B-A4B, so about 4B of its 25B parameters);
* the output layer over the whole vocabulary (Gemma ties it to the input
  embeddings, so ``token_embd`` is read in full for the output);
* not the input embeddings: ``token_embd`` and E2B/E4B's per-layer
  embeddings (``per_layer_token_embd``, 2.3B of E2B's 5.1B parameters) are
  looked up, one row per token;
* and the KV cache of the context so far: full-attention layers read every
  position, sliding-window layers only their window.

From a GGUF the bytes come from the tensor list. Before a model is
downloaded, from the catalog: the file's bytes per parameter (so each
quantization costs what its file weighs) times the active parameters the
model card gives ("effective" for E2B/E4B, which leaves the per-layer
embeddings out, "active" for the MoE).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.engine.gguf_file import read_gguf_info
from app.engine.moe_offload import expert_layer
from app.models.catalog import CatalogModel, Quant
from app.models.fit.facts import GEMMA_VOCAB, arch_facts, as_int
from app.models.fit.kv_cache import kv_caches

#: The context a speed is quoted at: a conversation a few turns in.
TYPICAL_CTX = 4096
#: Input tables: one row read per token.
_LOOKUP_TENSORS = ("token_embd.weight", "per_layer_token_embd.weight")


@dataclass(frozen=True)
class Traffic:
    """What one token costs a model, before the KV cache."""

    weight_bytes: int  # weights streamed per generated token
    active_params: int  # parameters multiplied per token (2 FLOPs each)
    n_layer: int
    n_vocab: int
    arch: Mapping[str, Any]  # the architecture facts (for the KV cache), possibly empty
    kv_bytes_per_token: int | None = None  # the catalog's figure when ``arch`` has no attention facts
    expert_bytes: int = 0  # of ``weight_bytes``, the routed experts' (a mixture of experts; 0 for a dense model)

    def kv_read_bytes(self, n_ctx: int) -> int:
        """KV bytes one token reads at a context of ``n_ctx`` (sliding layers only their window; f16)."""
        if n_ctx <= 0:
            return 0
        caches = kv_caches(self.arch, n_ctx, swa_full=False, n_ubatch=1)
        if caches:
            return sum(c.nbytes for c in caches)
        return (self.kv_bytes_per_token or 0) * n_ctx

    def bytes_per_token(self, n_ctx: int = TYPICAL_CTX) -> int:
        return self.weight_bytes + self.kv_read_bytes(n_ctx)


def traffic_of_catalog(model: CatalogModel, quant: Quant) -> Traffic:
    """A catalog variant's traffic from its file size and the model card's parameter counts."""
    total = max(1.0, model.params_b * 1e9)
    active = model.active_params_b * 1e9
    file_bytes = quant.file.size or 0
    arch = model.fit_arch()
    n_layer = as_int(arch.get("block_count"), 0)
    # Routed experts per token: n_used × (gate, up, down) of n_embd × n_ff_exp, at the file's bytes per parameter.
    experts = n_layer * as_int(arch.get("expert_used_count"), 0) * 3
    experts *= as_int(arch.get("embedding_length"), 0) * as_int(arch.get("expert_feed_forward_length"), 0)
    return Traffic(
        weight_bytes=int(file_bytes * min(1.0, active / total)),
        active_params=int(active),
        n_layer=as_int(arch.get("block_count"), 0),
        n_vocab=as_int(arch.get("vocab_size"), GEMMA_VOCAB),
        arch=arch,
        kv_bytes_per_token=model.kv_bytes_per_token_f16,
        expert_bytes=int(file_bytes * min(1.0, experts / total)),
    )


def traffic_of_gguf(path: Path) -> Traffic:
    """A model file's traffic from its tensor list (reads the header only; raises ``ModelFileError``)."""
    info = read_gguf_info(path)
    arch = arch_facts(info)
    n_expert = as_int(arch.get("expert_count"), 0)
    n_used = as_int(arch.get("expert_used_count"), 0)
    expert_share = n_used / n_expert if n_expert > 0 and 0 < n_used <= n_expert else 1.0
    names = {t.name for t in info.tensors}
    tied = "output.weight" not in names
    weight_bytes = 0.0
    params = 0.0
    experts = 0.0
    for t in info.tensors:
        if t.name in _LOOKUP_TENSORS and not (tied and t.name == "token_embd.weight"):
            continue
        routed = expert_layer(t.name) is not None  # the routed experts, named as --n-cpu-moe names them
        share = expert_share if routed else 1.0
        weight_bytes += (t.n_bytes() or 0) * share
        params += t.n_elements * share
        experts += (t.n_bytes() or 0) * share if routed else 0
    return Traffic(
        weight_bytes=int(weight_bytes),
        active_params=int(params),
        n_layer=as_int(arch.get("block_count"), 0),
        n_vocab=as_int(arch.get("vocab_size"), GEMMA_VOCAB),
        arch=arch,
        expert_bytes=int(experts),
    )
