"""Image intake: a picture file or its bytes → upright, opaque RGB pixels for the vision encoder, with a content id."""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.media.errors import MediaError, open_source, read_head, sniff, stream_size, subject

#: Longer side after downscaling. Gemma 4's largest budget (1120 tokens of 48×48-px cells) is about 2.6 MP.
DEFAULT_MAX_SIDE = 3072
#: Refused before any pixel is decoded: bigger pictures are almost always mistakes or decompression bombs.
MAX_IMAGE_PIXELS = 50_000_000
#: Refused before reading: no sensible photo or screenshot is this big on disk.
MAX_IMAGE_BYTES = 256 * 1024 * 1024

_WHITE = (255, 255, 255, 255)
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_REDUCING_GAP = 3.0  # shrink by block averages to within this factor of the target before filtering
_STRIP_PIXELS = 1 << 20  # pixels converted at a time: a strip stays a few MB whatever its depth
_LANCZOS_SUPPORT = 3.0  # the Lanczos filter's reach, in output pixels
_EXIF_ORIENTATION = 0x0112
# EXIF orientation → the turn or mirror that makes the picture upright (orientation 1 needs none).
_ORIENTATIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, eq=False)
class ImageInput:
    """An image ready for the vision encoder. Compare images by ``media_id``, not ``==``."""

    pixels: np.ndarray  # uint8, (height, width, 3), C-contiguous RGB, read-only
    media_id: str  # sha256 of the shape and pixels: the same picture has the same id, whatever the file
    source_name: str  # file name for messages ("" for anonymous bytes)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def load_image(
    source: str | os.PathLike[str] | bytes, *, name: str = "", max_side: int = DEFAULT_MAX_SIDE
) -> ImageInput:
    """Decode a picture file (PNG, JPEG, WebP, BMP, GIF's first frame, …) or its bytes into an ImageInput.

    EXIF orientation is applied, transparency is flattened onto white, and the picture is scaled down
    (keeping its shape) so its longer side is at most ``max_side``. Every failure is a MediaError.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, not {max_side}")
    stream, label = open_source(source, name)
    with stream:
        size = stream_size(stream)
        if size > MAX_IMAGE_BYTES:
            raise MediaError(f"{subject(label)} is too large ({size / 1e6:,.0f} MB); the limit for an image is 256 MB.")
        # Pillow reads the file itself: the compressed bytes are never all held in memory beside the pixels.
        return _wrap(_decode(stream, label, max_side), label)


def image_from_array(pixels: np.ndarray, *, name: str = "", max_side: int = DEFAULT_MAX_SIDE) -> ImageInput:
    """Wrap RGB pixels (uint8, height × width × 3), e.g. a video or camera frame, scaling them down if needed."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3 or 0 in pixels.shape:
        raise ValueError(f"expected uint8 pixels of shape (h, w, 3), got {pixels.dtype} {pixels.shape}")
    height, width = pixels.shape[:2]
    if max(width, height) > max_side:
        return _wrap(np.asarray(_downscale(Image.fromarray(np.ascontiguousarray(pixels)), max_side)), name)
    return _wrap(np.array(pixels, dtype=np.uint8, order="C", copy=True), name)


def _wrap(pixels: np.ndarray, name: str) -> ImageInput:
    """Freeze freshly made pixels and give them their content id."""
    array = np.ascontiguousarray(pixels, dtype=np.uint8)
    array.flags.writeable = False
    digest = hashlib.sha256(f"rgb8:{array.shape[0]}x{array.shape[1]}:".encode())
    digest.update(array.data)
    return ImageInput(pixels=array, media_id=digest.hexdigest(), source_name=name)


def image_to_png_bytes(img: ImageInput) -> bytes:
    """Encode an ImageInput as PNG (lossless), e.g. to store an attachment or draw a thumbnail."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img.pixels)).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _decode(stream: BinaryIO, label: str, max_side: int) -> np.ndarray:
    """Open, check the size, decode and normalise; Pillow's warnings never leave this function."""
    who = subject(label)
    head = read_head(stream)
    with warnings.catch_warnings():
        # Pillow warns about big images and odd palettes; our own size check below is stricter.
        warnings.simplefilter("ignore")
        try:
            picture = Image.open(stream)
        except Image.DecompressionBombError as error:
            raise MediaError(_too_large_message(who, _png_size(head), str(error))) from None
        except UnidentifiedImageError:
            raise MediaError(_not_an_image_message(who, head)) from None
        except Exception:  # Pillow raises many types for broken headers; all mean the same to a user
            raise MediaError(f"{who} is damaged or incomplete.") from None
        with picture:
            width, height = picture.size
            if width * height > MAX_IMAGE_PIXELS:
                raise MediaError(_too_large_message(who, (width, height), ""))
            try:
                return _normalise(picture, max_side)
            except MemoryError:
                raise MediaError(f"{who} is too large to open on this computer.") from None
            except Exception:
                raise MediaError(f"{who} is damaged or incomplete.") from None


def _normalise(picture: Image.Image, max_side: int) -> np.ndarray:
    """First frame, upright, opaque on white, 8-bit RGB, longer side ≤ max_side.

    Memory: the decoded picture at its own depth (Pillow decodes a PNG whole), plus the output and one strip.
    Every conversion (16-bit to 8-bit, palette, transparency, CMYK) and the downscaling run strip by strip,
    so no full-size converted copy is ever made: a 7070 × 7070 16-bit scan needs its 100 MB decode and about
    40 MB more, not 1.4 GB.
    """
    if picture.format == "JPEG" and max(picture.size) >= 2 * max_side:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: much faster and lighter for big photos.
        scale = max_side / max(picture.size)
        picture.draft(None, (max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
    picture.load()
    orientation = _orientation(picture)
    to_rgb = _strip_converter(picture)
    out_w, out_h = _fit(picture.width, picture.height, max_side)
    picture = _pre_reduce(picture, out_w, out_h)
    width, height = picture.size
    out = np.empty((out_h, out_w, 3), dtype=np.uint8)
    if (out_w, out_h) == (width, height):
        step = _strip_rows(width)
        for top in range(0, height, step):
            bottom = min(height, top + step)
            out[top:bottom] = to_rgb(picture.crop((0, top, width, bottom)))
    else:
        # Each band of output rows is made from the source rows under it plus the filter's reach,
        # so the bands join as one resize of the whole picture would (to within rounding).
        scale_y = height / out_h
        reach = math.ceil(_LANCZOS_SUPPORT * scale_y) + 2
        rows = max(1, _strip_rows(width) // max(1, math.ceil(scale_y)))
        for first in range(0, out_h, rows):
            last = min(out_h, first + rows)
            top = max(0, math.floor(first * scale_y) - reach)
            bottom = min(height, math.ceil(last * scale_y) + reach)
            strip = Image.fromarray(to_rgb(picture.crop((0, top, width, bottom))), mode="RGB")
            box = (0.0, first * scale_y - top, float(width), last * scale_y - top)
            out[first:last] = np.asarray(strip.resize((out_w, last - first), Image.Resampling.LANCZOS, box=box))
    return _transpose(out, orientation)


def _pre_reduce(picture: Image.Image, out_w: int, out_h: int) -> Image.Image:
    """Averages blocks of pixels first when shrinking by more than 3× (Pillow's ``reducing_gap``).

    A Lanczos filter from a 49,999,999 × 1 strip down to 3072 columns needs a weight table of gigabytes;
    after an integer box reduction to within 3× of the target it needs kilobytes. The reduced copy is
    smaller than the decode, so the memory bound holds.
    """
    fx = max(1, int(picture.width / out_w / _REDUCING_GAP))
    fy = max(1, int(picture.height / out_h / _REDUCING_GAP))
    if fx == 1 and fy == 1:
        return picture
    try:
        return picture.reduce((fx, fy))
    except (ValueError, NotImplementedError):  # a mode Pillow cannot reduce: the strips do it all
        return picture


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size with the longer side at most ``max_side``, keeping the aspect ratio (never enlarged)."""
    longer = max(width, height)
    if longer <= max_side:
        return width, height
    scale = max_side / longer
    return max(1, round(width * scale)), max(1, round(height * scale))


def _strip_rows(width: int) -> int:
    """Rows per strip: about _STRIP_PIXELS pixels, at least one row."""
    return max(1, _STRIP_PIXELS // max(1, width))


def _strip_converter(picture: Image.Image) -> Callable[[Image.Image], np.ndarray]:
    """A function turning a strip of ``picture`` into 8-bit RGB pixels, opaque on white.

    High-bit greyscale is scaled by the whole picture's range (found once, without a copy), not clipped.
    """
    if picture.mode in _HIGH_BIT_MODES:
        scale = _high_bit_scale(picture)
        return lambda strip: np.repeat(_scaled_8bit(strip, scale)[:, :, None], 3, axis=2)
    return lambda strip: np.asarray(_opaque_rgb(strip))


def _high_bit_scale(picture: Image.Image) -> float:
    """How to bring 16-bit or 32-bit greyscale values to 0…255: 8-bit values kept, 16-bit ones by 255/65535."""
    try:
        top = float(picture.getextrema()[1])  # type: ignore[arg-type]
    except Exception:  # a mode getextrema does not know: look strip by strip
        step = _strip_rows(picture.width)
        top = 0.0
        for y in range(0, picture.height, step):
            values = np.asarray(picture.crop((0, y, picture.width, min(picture.height, y + step))))
            top = max(top, float(values.max()) if values.size else 0.0)
    if picture.mode == "F" and top <= 1.0:
        return 255.0
    if top <= 255:
        return 1.0
    if top <= 65535:
        return 255.0 / 65535.0
    return 255.0 / top


def _scaled_8bit(strip: Image.Image, scale: float) -> np.ndarray:
    """One strip of high-bit greyscale as 8-bit levels (rounded to nearest), with no float64 copy."""
    values = np.asarray(strip)
    if values.dtype.kind == "u" and scale == 255.0 / 65535.0:  # 16-bit: exact integer rounding
        wide = values.astype(np.uint32)
        wide *= 255
        wide += 32767
        wide //= 65535
        return wide.astype(np.uint8)
    if scale == 1.0 and values.dtype.kind == "u":
        return values.astype(np.uint8)  # already 0…255
    levels = values.astype(np.float32)
    levels *= np.float32(scale)
    levels += np.float32(0.5)
    np.clip(levels, 0, 255, out=levels)
    return levels.astype(np.uint8)


def _opaque_rgb(picture: Image.Image) -> Image.Image:
    """8-bit RGB, with palettes expanded and transparency flattened onto white."""
    if picture.mode == "P":
        picture = picture.convert("RGBA" if "transparency" in picture.info else "RGB")
    if picture.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        picture = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
    return picture if picture.mode == "RGB" else picture.convert("RGB")


def _orientation(picture: Image.Image) -> int:
    """The EXIF orientation (1…8); 1 when there is none or the EXIF block is broken."""
    try:
        value = picture.getexif().get(_EXIF_ORIENTATION, 1)
        return int(value) if int(value) in _ORIENTATIONS else 1
    except Exception:  # a broken EXIF block should not cost the user a good picture
        return 1


def _transpose(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Turn or mirror (height, width, 3) pixels as EXIF ``orientation`` says, so the picture is upright."""
    method = _ORIENTATIONS.get(orientation)
    if method is None:
        return pixels
    return np.asarray(Image.fromarray(pixels, mode="RGB").transpose(method))


def _downscale(picture: Image.Image, max_side: int) -> Image.Image:
    """Shrink so the longer side is at most ``max_side``, keeping the aspect ratio."""
    size = _fit(picture.width, picture.height, max_side)
    if size == picture.size:
        return picture
    return picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _not_an_image_message(who: str, head: bytes) -> str:
    found = sniff(head)
    if found is None:
        return f"{who} is not an image Gemma Desk can read; use PNG, JPEG, WebP, BMP or GIF."
    if found.kind == "a HEIC photo" or found.kind == "an SVG drawing":
        return f"{who} is {found.kind}, which Gemma Desk cannot read yet; export it as PNG or JPEG."
    if found.family == "image":
        return f"{who} is damaged or incomplete."
    return f"{who} is not an image (it looks like {found.kind})."


def _too_large_message(who: str, size: tuple[int, int] | None, pillow_message: str) -> str:
    limit = f"the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels"
    if size is not None:
        return f"{who} is too large ({size[0]} × {size[1]} pixels); {limit}."
    match = re.search(r"\((\d+) pixels\)", pillow_message)
    if match:
        return f"{who} is too large ({int(match.group(1)) / 1e6:,.0f} megapixels); {limit}."
    return f"{who} is too large; {limit}."


def _png_size(head: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk (for the message when Pillow refuses to open it)."""
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR" or len(head) < 24:
        return None
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)
