"""Keeps pictures and sound clips inside what libmtmd and the encoders take: an assert there ends the whole app.

What llama.cpp asserts on, and what guards it here (each found in the vendored sources):

- Gemma 4's vision encoder looks up a learned position for each 16-px patch column and row
  (``ggml_get_rows`` on ``v.position_embd.weight``); libmtmd first resizes the picture to the
  token budget keeping its shape, so a very wide or tall picture (3072×1) can need more columns
  than the table has rows: ``GGML_ASSERT(i01 >= 0 && i01 < ne01)``. ``VisionGeometry`` repeats
  libmtmd's resize arithmetic and ``fit_picture`` pads such a picture (white, centred) until it fits.
- libmtmd asserts that an audio clip has more than one sample (``buf.size() > sizeof(float)``):
  ``check_clip`` refuses clips shorter than ``MIN_CLIP_SAMPLES`` and longer than a 30 s part.
- A media chunk needing non-causal attention must fit one batch: checked in ``Projector.decode``.
- Pixels and samples must be the size the bitmap says (libmtmd copies ``nx*ny*3`` bytes):
  shapes and types are checked before a bitmap is made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.engine.errors import RequestError
from app.engine.gguf_file import GGUFInfo
from app.media import AUDIO_SAMPLE_RATE, MAX_CLIP_SECONDS, AudioClip, ImageInput
from app.media.audio import MIN_CLIP_SECONDS

#: The shortest clip sent to the audio encoder (the media layer never cuts a part shorter).
MIN_CLIP_SAMPLES = int(MIN_CLIP_SECONDS * AUDIO_SAMPLE_RATE)
#: A part is at most 30 s (the media layer cuts longer recordings); a little slack for rounding.
MAX_CLIP_SAMPLES = int(MAX_CLIP_SECONDS * AUDIO_SAMPLE_RATE) + AUDIO_SAMPLE_RATE // 10
#: Projector types whose pictures libmtmd resizes to the budget and looks up in 2-D position tables.
_POSITION_TABLE_TYPES = ("gemma4v", "gemma4uv")
_WHITE = 255


@dataclass(frozen=True, slots=True)
class VisionGeometry:
    """How libmtmd sizes a picture for this projector, and how far its position tables reach."""

    patch: int  # pixels per patch side
    merge: int  # patches per output-token side (pooling)
    table_rows: int  # learned positions per axis; 0 = no table to overrun
    min_tokens: int
    max_tokens: int

    @property
    def cell(self) -> int:
        return self.patch * self.merge

    @staticmethod
    def from_gguf(info: GGUFInfo, min_tokens: int, max_tokens: int) -> VisionGeometry | None:
        """The geometry of a projector file; None when it has no vision encoder."""
        kind = str(info.get("clip.vision.projector_type") or info.get("clip.projector_type") or "")
        patch = info.get("clip.vision.patch_size")
        if not kind or not isinstance(patch, int) or patch <= 0:
            return None
        merge = info.get("clip.vision.projector.scale_factor")
        merge = merge if isinstance(merge, int) and merge > 0 else 3
        if kind == "gemma4uv":  # the unified variant merges in its patch convolution
            patch, merge = patch * merge, 1
        rows = 0
        if kind in _POSITION_TABLE_TYPES:
            table = next((t for t in info.tensors if t.name == "v.position_embd.weight"), None)
            if table is not None and len(table.shape) >= 2:
                rows = int(table.shape[1])
        return VisionGeometry(patch, merge, rows, max(1, min_tokens), max(1, max_tokens))

    def resized(self, width: int, height: int) -> tuple[int, int]:
        """The size libmtmd resizes a ``width``×``height`` picture to (its ``calc_size_preserved_ratio``)."""
        align = self.cell
        area = align * align
        min_px, max_px = self.min_tokens * area, self.max_tokens * area
        w_bar = max(align, _round_half_away(width / align) * align)
        h_bar = max(align, _round_half_away(height / align) * align)
        if w_bar * h_bar > max_px:
            beta = math.sqrt(height * width / max_px)
            h_bar = max(align, math.floor(height / beta / align) * align)
            w_bar = max(align, math.floor(width / beta / align) * align)
        elif w_bar * h_bar < min_px:
            beta = math.sqrt(min_px / (height * width))
            h_bar = math.ceil(height * beta / align) * align
            w_bar = math.ceil(width * beta / align) * align
        return w_bar, h_bar

    def fits(self, width: int, height: int) -> bool:
        """True when every patch of the resized picture has a learned position (one cell of slack)."""
        if self.table_rows <= 0:
            return True
        w_bar, h_bar = self.resized(width, height)
        limit = self.table_rows - self.merge
        return w_bar // self.patch <= limit and h_bar // self.patch <= limit


def _round_half_away(x: float) -> int:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def check_picture(picture: ImageInput) -> None:
    """Pixels as a bitmap needs them: uint8, height × width × 3, C-contiguous, not empty."""
    pixels = picture.pixels
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise RequestError(f"{picture.source_name or 'A picture'} was not prepared as RGB pixels.")
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise RequestError(f"{picture.source_name or 'A picture'} has no pixels.")


def fit_picture(picture: ImageInput, geometry: VisionGeometry | None) -> np.ndarray:
    """The picture's pixels, padded with white on its short side when the encoder could not place it."""
    check_picture(picture)
    pixels = picture.pixels
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    if geometry is None or geometry.fits(width, height):
        return np.ascontiguousarray(pixels)
    long_side, short_side = max(width, height), min(width, height)
    ratio = long_side / short_side
    while ratio > 1.0:
        ratio = max(1.0, ratio / 1.25)
        short = min(long_side, math.ceil(long_side / ratio))
        size = (short, long_side) if width >= height else (long_side, short)  # (height, width)
        if geometry.fits(size[1], size[0]):
            return _pad(pixels, size)
    raise RequestError(
        f"{picture.source_name or 'This picture'} cannot be seen by this projector at this vision budget; "
        "choose a smaller vision budget in Settings."
    )


def _pad(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``pixels`` centred on a white canvas of ``size`` (height, width)."""
    height, width = pixels.shape[:2]
    canvas = np.full((size[0], size[1], 3), _WHITE, dtype=np.uint8)
    top, left = (size[0] - height) // 2, (size[1] - width) // 2
    canvas[top : top + height, left : left + width] = pixels
    return canvas


def check_clip(clip: AudioClip) -> np.ndarray:
    """The clip's samples as the encoder takes them (float32, finite, one channel); a clear refusal otherwise."""
    samples = clip.samples
    name = clip.source_name or "The recording"
    if not isinstance(samples, np.ndarray) or samples.ndim != 1:
        raise RequestError(f"{name} was not prepared as one channel of samples.")
    if len(samples) < MIN_CLIP_SAMPLES:
        raise RequestError(f"{name} is too short to hear ({len(samples) / AUDIO_SAMPLE_RATE:.2f} s).")
    if len(samples) > MAX_CLIP_SAMPLES:
        raise RequestError(
            f"{name} is {len(samples) / AUDIO_SAMPLE_RATE:.0f} s long in one part; "
            f"the model hears at most {MAX_CLIP_SECONDS:.0f} s at once."
        )
    out = np.ascontiguousarray(samples, dtype=np.float32)
    if not np.isfinite(out).all():
        out = np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=-1.0)
    return out
