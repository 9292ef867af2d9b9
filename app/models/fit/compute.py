"""Compute buffers: what llama.cpp reserves for a batch, what a chat touches of it, and a projector's encoders.

llama.cpp reserves its compute buffer for a worst-case batch of ``n_ubatch``
tokens with logits for every one. Calibrated against its "compute buffer size"
log on the CPU backend (tiny Gemma 4 and Gemma 3 270M, n_ctx 512 … 32768,
n_ubatch 128 … 2048, swa_full on and off: 64 configurations)::

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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.models.fit.facts import GEMMA_VOCAB, as_int, max_int
from app.models.fit.kv_cache import KVCache


@dataclass(frozen=True)
class ComputeBuffer:
    """llama.cpp's compute buffer for a context: what it reserves, and what a chat touches of it."""

    reserved: int  # the compute buffer for a worst-case batch + the host output buffer
    resident: int  # the attention phase at a full context + one token's logits (what RSS shows on the CPU)


def compute_buffer(arch: Mapping[str, Any], caches: Sequence[KVCache], n_ubatch: int) -> ComputeBuffer:
    """The compute buffer llama.cpp reserves for ``n_ubatch``-token batches (see the module docstring)."""
    n_vocab = as_int(arch.get("vocab_size"), GEMMA_VOCAB)
    n_embd = as_int(arch.get("embedding_length"), 0)
    n_layer = as_int(arch.get("block_count"), 0)
    n_ff = max_int(arch.get("feed_forward_length"), 4 * n_embd)
    n_head = max_int(arch.get("attention.head_count"), 0)
    head_dim = max(
        as_int(arch.get("attention.key_length"), n_embd // n_head if n_head else 0),
        as_int(arch.get("attention.key_length_swa"), 0),
    )
    n_per_layer = as_int(arch.get("embedding_length_per_layer_input"), 0)
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
        hidden = as_int(mmproj_arch.get("clip.vision.embedding_length"), 1152)
        ff = as_int(mmproj_arch.get("clip.vision.feed_forward_length"), 4 * hidden)
        patch = as_int(mmproj_arch.get("clip.vision.patch_size"), 16)
        pool = as_int(mmproj_arch.get("clip.vision.projector.scale_factor"), 3)
        patches = vision_budget * pool * pool
        total += patches * 4 * (3 * patch * patch + 8 * hidden + 2 * ff)
    if has_audio:
        hidden = as_int(mmproj_arch.get("clip.audio.embedding_length"), 1024)
        ff = as_int(mmproj_arch.get("clip.audio.feed_forward_length"), 4 * hidden)
        n_mel = as_int(mmproj_arch.get("clip.audio.num_mel_bins"), 128)
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
