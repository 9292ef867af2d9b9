"""Model facts: what a memory estimate needs to know about a model, from its GGUF header or a catalog entry.

``arch_facts`` reads the architecture's metadata; ``ModelFacts`` adds the file
sizes and, from the tensor list, the weights per layer (which layers a partial
GPU offload moves) and the input embeddings (which stay in RAM).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.engine.gguf_file import GGUFInfo, read_gguf_info
from app.engine.moe_offload import expert_layer

GEMMA_VOCAB = 262_144  # assumed when a catalog entry does not say
#: Tensors llama.cpp keeps on the CPU whatever is offloaded (the input layer).
_INPUT_TENSORS = ("token_embd.weight", "per_layer_token_embd.weight")


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
    expert_bytes: tuple[int, ...] = ()  # of those, the experts' (mixture of experts; empty: none, or unknown)

    @classmethod
    def from_gguf(cls, model: Path, mmproj: Path | None = None) -> ModelFacts:
        """Facts from the files' headers (raises ``ModelFileError`` for bad files)."""
        info = read_gguf_info(model)
        facts = arch_facts(info)
        n_layer = as_int(facts.get("block_count"), 0)
        layer_bytes = [0] * n_layer
        experts = [0] * n_layer
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
                    if expert_layer(t.name) is not None:
                        experts[int(index)] += size
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
            expert_bytes=tuple(experts) if any(experts) else (),
        )


def as_int(value: Any, default: int) -> int:
    """A metadata value as an int (``default`` when it is not a whole number)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return default


def per_layer(value: Any, n_layer: int, default: int) -> list[int]:
    """A scalar-or-array metadata value as one int per layer."""
    if isinstance(value, list | tuple):
        items = [as_int(v, default) for v in value]
        return (items + [items[-1] if items else default] * n_layer)[:n_layer]
    return [as_int(value, default)] * n_layer


def max_int(value: Any, default: int) -> int:
    """The largest of a scalar-or-array metadata value."""
    if isinstance(value, list | tuple):
        return max((as_int(v, default) for v in value), default=default)
    return as_int(value, default)
