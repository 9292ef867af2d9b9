"""Image intake: a picture file or its bytes → upright, opaque RGB pixels for the vision encoder, with a content id."""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from app.media.errors import SNIFF_BYTES, MediaError, open_source, sniff, stream_size, subject

#: Longer side after downscaling. Gemma 4's largest budget (1120 tokens of 48×48-px cells) is about 2.6 MP.
DEFAULT_MAX_SIDE = 3072
#: Refused before any pixel is decoded: bigger pictures are almost always mistakes or decompression bombs.
MAX_IMAGE_PIXELS = 50_000_000
#: Refused before reading: no sensible photo or screenshot is this big on disk.
MAX_IMAGE_BYTES = 256 * 1024 * 1024

_WHITE = (255, 255, 255, 255)
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


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
        data = stream.read()
    rgb = _decode(data, label, max_side)
    return _wrap(np.asarray(rgb), label)


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


def _decode(data: bytes, label: str, max_side: int) -> Image.Image:
    """Open, check the size, decode and normalise; Pillow's warnings never leave this function."""
    who = subject(label)
    with warnings.catch_warnings():
        # Pillow warns about big images and odd palettes; our own size check below is stricter.
        warnings.simplefilter("ignore")
        try:
            picture = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as error:
            raise MediaError(_too_large_message(who, _png_size(data), str(error))) from None
        except UnidentifiedImageError:
            raise MediaError(_not_an_image_message(who, data)) from None
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


def _normalise(picture: Image.Image, max_side: int) -> Image.Image:
    """First frame, upright, opaque on white, 8-bit RGB, longer side ≤ max_side."""
    if picture.format == "JPEG" and max(picture.size) >= 2 * max_side:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: much faster and lighter for big photos.
        scale = max_side / max(picture.size)
        picture.draft(None, (max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
    picture.load()
    try:
        upright = ImageOps.exif_transpose(picture)
    except Exception:  # a broken EXIF block should not cost the user a good picture
        upright = picture.copy()
    if upright.mode in _HIGH_BIT_MODES:
        upright = _to_8bit(upright)
    if upright.mode == "P":
        upright = upright.convert("RGBA" if "transparency" in upright.info else "RGB")
    if upright.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in upright.info:
        rgba = upright.convert("RGBA")
        upright = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
    if upright.mode != "RGB":
        upright = upright.convert("RGB")
    return _downscale(upright, max_side)


def _downscale(picture: Image.Image, max_side: int) -> Image.Image:
    """Shrink so the longer side is at most ``max_side``, keeping the aspect ratio."""
    longer = max(picture.size)
    if longer <= max_side:
        return picture
    scale = max_side / longer
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_8bit(picture: Image.Image) -> Image.Image:
    """16-bit or 32-bit greyscale to 8-bit, scaled rather than clipped (Pillow's convert would clip to white)."""
    values = np.asarray(picture).astype(np.float64)
    top = float(values.max()) if values.size else 0.0
    if picture.mode == "F" and top <= 1.0:
        scale = 255.0
    elif top <= 255:
        scale = 1.0
    elif top <= 65535:
        scale = 255.0 / 65535.0
    else:
        scale = 255.0 / top
    return Image.fromarray(np.clip(values * scale + 0.5, 0, 255).astype(np.uint8), mode="L")


def _not_an_image_message(who: str, data: bytes) -> str:
    found = sniff(data[:SNIFF_BYTES])
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


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk (for the message when Pillow refuses to open it)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
