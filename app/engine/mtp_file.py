"""Checks a Gemma 4 MTP assistant (drafter) GGUF against the model it is to draft for, before llama.cpp reads it.

A Gemma 4 assistant (GGUF architecture ``gemma4-assistant``) is a few small layers that read the target
model's own KV cache: llama.cpp maps each of its sliding-window layers onto the target's second-to-last
layer and each full-attention layer onto the target's last one, and views that layer's K/V with the
assistant's head sizes and head counts. Nothing in llama.cpp compares those shapes (only a debug ``assert``),
so an assistant made for another size would read the wrong memory. Here every fact the pairing relies on is
compared from the two headers, and a mismatch gets a message that names the file and what it was built for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.engine.errors import ModelFileError
from app.engine.gguf_file import GGUFInfo, read_gguf_info

__all__ = ["ASSISTANT_ARCH", "check_assistant_file", "check_assistant_pair"]

ASSISTANT_ARCH = "gemma4-assistant"
TARGET_ARCH = "gemma4"
#: Architectures other projects wrote for Gemma 4 drafters; this llama.cpp cannot load them.
_FOREIGN_ASSISTANT_ARCHS = ("gemma4_assistant", "gemma4_mtp")


def check_assistant_file(path: str | Path, target: GGUFInfo) -> GGUFInfo:
    """Read ``path``'s header and check that it is a Gemma 4 assistant for ``target``; raises ``ModelFileError``."""
    info = read_gguf_info(path)
    check_assistant_pair(info, target)
    return info


def check_assistant_pair(assistant: GGUFInfo, target: GGUFInfo) -> None:
    """``ModelFileError`` unless ``assistant`` can draft for ``target``: architecture, widths, vocabulary, KV layout."""
    name = assistant.path.name
    arch = assistant.architecture
    if arch != ASSISTANT_ARCH:
        if arch in _FOREIGN_ASSISTANT_ARCHS:
            raise ModelFileError(
                f"{name} is a Gemma 4 assistant converted for another runtime (architecture '{arch}'); "
                f"this app needs one converted by llama.cpp (architecture '{ASSISTANT_ARCH}')."
            )
        what = "a vision/audio projector (mmproj)" if assistant.is_projector else f"a '{arch or 'unknown'}' model"
        raise ModelFileError(f"{name} is {what}, not a Gemma 4 MTP assistant ('{ASSISTANT_ARCH}').")
    if target.architecture != TARGET_ARCH:
        raise ModelFileError(
            f"MTP assistants draft for Gemma 4 models; {target.path.name} is a '{target.architecture}' model."
        )
    a = _Keys(assistant, ASSISTANT_ARCH)
    t = _Keys(target, TARGET_ARCH)
    _check_shape(a, name)
    _check_width(a, t, name, target.name)
    _check_vocab(assistant, target, name)
    _check_kv_layout(a, t, name, target.name)


class _Keys:
    """An architecture's metadata keys, read as integers or lists of them (``None`` when missing or malformed)."""

    def __init__(self, info: GGUFInfo, arch: str) -> None:
        self.info = info
        self.arch = arch

    def num(self, key: str) -> int | None:
        value = self.info.get(f"{self.arch}.{key}")
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    def per_layer(self, key: str, n: int) -> list[int] | None:
        """A per-layer value: an array of ``n`` integers, or one integer for every layer."""
        value: Any = self.info.get(f"{self.arch}.{key}")
        if isinstance(value, int) and not isinstance(value, bool):
            return [value] * n
        if isinstance(value, list) and len(value) == n and all(isinstance(v, int) for v in value):
            return [int(v) for v in value]
        return None

    def flags(self, key: str, n: int) -> list[bool] | None:
        value: Any = self.info.get(f"{self.arch}.{key}")
        if isinstance(value, list) and len(value) == n and all(isinstance(v, bool | int) for v in value):
            return [bool(v) for v in value]
        return None


def _need(value: Any, name: str, what: str) -> Any:
    if value is None:
        raise ModelFileError(f"{name} is not a usable Gemma 4 assistant: its header has no valid {what}.")
    return value


def _check_shape(a: _Keys, name: str) -> None:
    n_layer = _need(a.num("block_count"), name, "block count")
    n_nextn = _need(a.num("nextn_predict_layers"), name, "count of prediction layers")
    if not 0 < n_nextn <= n_layer <= 64:
        raise ModelFileError(f"{name} is not a usable Gemma 4 assistant: {n_nextn} prediction layers of {n_layer}.")
    _need(a.flags("attention.sliding_window_pattern", n_layer), name, "sliding-window pattern")
    n_head = _need(a.num("attention.head_count"), name, "attention head count")
    heads_kv = _need(a.per_layer("attention.head_count_kv", n_layer), name, "KV head counts")
    if n_head == 0 or any(kv == 0 or n_head % kv for kv in heads_kv):
        raise ModelFileError(f"{name} is not a usable Gemma 4 assistant: {n_head} heads over {heads_kv} KV heads.")


def _check_width(a: _Keys, t: _Keys, name: str, target_name: str) -> None:
    width = _need(t.num("embedding_length"), target_name, "embedding width")
    own = _need(a.num("embedding_length"), name, "embedding width")
    backbone = _need(a.num("embedding_length_out"), name, "target width (embedding_length_out)")
    if backbone != width:
        raise ModelFileError(
            f"{name} is an assistant for a Gemma 4 model {backbone:,} wide; {target_name} is {width:,} wide. "
            "Use the assistant made for this model size."
        )
    if own == backbone:
        raise ModelFileError(f"{name} is not a usable Gemma 4 assistant: its own width equals the target's.")


def _vocab_size(info: GGUFInfo) -> int | None:
    n = info.array_lengths.get("tokenizer.ggml.tokens")
    return n if isinstance(n, int) and n > 0 else None


def _check_vocab(assistant: GGUFInfo, target: GGUFInfo, name: str) -> None:
    embd = next((t for t in assistant.tensors if t.name == "token_embd.weight"), None)
    rows = embd.shape[1] if embd is not None and len(embd.shape) == 2 else None
    n_target = _vocab_size(target)
    n_own = _vocab_size(assistant)
    if rows is None or n_own is None:
        raise ModelFileError(f"{name} is not a usable Gemma 4 assistant: it has no vocabulary or output table.")
    if n_target is None or rows != n_target or n_own != n_target:
        raise ModelFileError(
            f"{name} predicts over {rows:,} tokens; {target.name} has {n_target or 0:,}. "
            "The assistant must come from the same Gemma 4 release."
        )


def _kv_shape(keys: _Keys, n_layer: int, is_swa: Sequence[bool], il: int, name: str) -> tuple[int, int]:
    """(head size, KV head count) of layer ``il``."""
    heads_kv = _need(keys.per_layer("attention.head_count_kv", n_layer), name, "KV head counts")
    full = _need(keys.num("attention.key_length"), name, "key length")
    swa = keys.num("attention.key_length_swa")
    size = (swa if swa is not None else full) if is_swa[il] else full
    if keys.num("attention.value_length") not in (None, full) or (
        swa is not None and keys.num("attention.value_length_swa") not in (None, swa)
    ):
        raise ModelFileError(f"{name} is not a usable Gemma 4 model file: its key and value lengths differ.")
    return size, heads_kv[il]


def _check_kv_layout(a: _Keys, t: _Keys, name: str, target_name: str) -> None:
    n_a = _need(a.num("block_count"), name, "block count")
    n_t = _need(t.num("block_count"), target_name, "block count")
    a_swa = _need(a.flags("attention.sliding_window_pattern", n_a), name, "sliding-window pattern")
    t_swa = _need(t.flags("attention.sliding_window_pattern", n_t), target_name, "sliding-window pattern")
    if n_t < 2 or not t_swa[n_t - 2] or t_swa[n_t - 1]:
        raise ModelFileError(
            f"{target_name} does not end with a sliding then a full attention layer: no assistant fits."
        )
    if a.num("attention.sliding_window") != t.num("attention.sliding_window"):
        raise ModelFileError(
            f"{name} attends over a window of {a.num('attention.sliding_window')} tokens; "
            f"{target_name} over {t.num('attention.sliding_window')}. Use the assistant made for this model."
        )
    for il in range(n_a):
        shared = n_t - 2 if a_swa[il] else n_t - 1
        mine = _kv_shape(a, n_a, a_swa, il, name)
        theirs = _kv_shape(t, n_t, t_swa, shared, target_name)
        if mine != theirs:
            raise ModelFileError(
                f"{name} reads {target_name}'s attention cache as {mine[1]} heads of {mine[0]}, but that layer "
                f"holds {theirs[1]} heads of {theirs[0]}: the assistant was made for another Gemma 4 size."
            )
