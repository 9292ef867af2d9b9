"""Mixture-of-experts offload: which tensors are a layer's experts, and how many layers may keep theirs on the CPU.

A mixture-of-experts model (Gemma 4 26B-A4B) spends most of its bytes on expert weights, yet each token reads
only a few experts. On a GPU too small for the whole model, attention, the shared FFN and the KV cache stay on
the GPU and the experts of the first N layers stay in system RAM: what llama.cpp's ``--n-cpu-moe N`` does, by
matching tensor names with a regular expression per layer (``common/common.h``: ``LLM_FFN_EXPS_REGEX``).
Gemma 4 names them ``blk.<i>.ffn_gate_up_exps.weight`` (or ``ffn_gate_exps`` + ``ffn_up_exps``),
``blk.<i>.ffn_down_exps.weight`` and ``blk.<i>.ffn_down_exps.scale`` (``src/models/gemma4.cpp``).

Pure Python (no llama.cpp): the fit estimate reads the same names from a GGUF header; the native override
array is built in ``app.engine.tensor_overrides``.
"""

from __future__ import annotations

import re

from app.engine.errors import RequestError
from app.engine.gguf_file import GGUFInfo

#: llama.cpp's pattern for expert tensors (searched within the name, as ``std::regex_search`` does).
EXPERT_TENSORS = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"
_EXPERT_NAME = re.compile(r"^blk\.(\d+)" + EXPERT_TENSORS)


def expert_pattern(layer: int) -> str:
    """The pattern that matches layer ``layer``'s expert tensors and no other layer's (``blk\\.3\\.ffn_…``)."""
    return rf"blk\.{layer}{EXPERT_TENSORS}"


def expert_layer(tensor_name: str) -> int | None:
    """The layer an expert tensor belongs to; None for any other tensor."""
    found = _EXPERT_NAME.match(tensor_name)
    return int(found.group(1)) if found else None


def expert_layers(info: GGUFInfo) -> set[int]:
    """The layers of a GGUF that hold expert tensors (empty for a dense model)."""
    return {il for t in info.tensors if (il := expert_layer(t.name)) is not None}


def check_cpu_moe_layers(n: int, info: GGUFInfo) -> None:
    """Refuse a number of CPU-expert layers the model cannot take (``RequestError`` with the reason)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise RequestError(f"The number of layers whose experts stay on the CPU must be 0 or more; {n!r} was asked.")
    if n == 0:
        return
    name = info.name
    layers = expert_layers(info)
    if not layers:
        raise RequestError(
            f"{name} is not a mixture-of-experts model: it has no expert weights to keep on the CPU "
            "(use 0 CPU-expert layers, or fewer GPU layers to save video memory)."
        )
    n_layer = info.get(f"{info.architecture}.block_count")
    if not isinstance(n_layer, int) or isinstance(n_layer, bool) or n_layer <= 0:
        n_layer = max(layers) + 1  # a header without its layer count: the experts' own layers bound it
    if n > n_layer:
        raise RequestError(
            f"{name} has {n_layer} layers; the experts of {n} layers cannot stay on the CPU (use 0 … {n_layer})."
        )
