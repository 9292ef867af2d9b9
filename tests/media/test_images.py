"""Image intake against real files written by Pillow (and a few crafted by hand)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.media import (
    DEFAULT_MAX_SIDE,
    ImageInput,
    MediaError,
    image_from_array,
    image_to_png_bytes,
    load_image,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def _gradient(width: int, height: int) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, axis=0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, axis=1)
    return Image.fromarray(np.dstack([x, y, 255 - x]))


def _png_with_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height but whose data is tiny: a decompression bomb in miniature."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")
    )


def _colour(img: ImageInput, y: int, x: int) -> tuple[int, ...]:
    return tuple(int(v) for v in img.pixels[y, x])


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --- what comes out ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF"])
def test_common_formats_load_as_rgb_pixels(tmp_path: Path, fmt: str) -> None:
    picture = Image.new("RGB", (120, 80), RED)
    path = _save(picture, tmp_path / f"red.{fmt.lower()}", format=fmt)

    img = load_image(path)

    assert (img.width, img.height) == (120, 80)
    assert img.pixels.dtype == np.uint8 and img.pixels.shape == (80, 120, 3)
    assert img.pixels.flags.c_contiguous
    assert _close(_colour(img, 40, 60), RED)
    assert img.source_name == f"red.{fmt.lower()}"


def test_same_picture_has_same_id_whatever_the_file(tmp_path: Path) -> None:
    picture = _gradient(64, 48)
    png = load_image(_save(picture, tmp_path / "a.png"))
    bmp = load_image(_save(picture, tmp_path / "b.bmp"))
    raw = load_image((tmp_path / "a.png").read_bytes())

    assert png.media_id == bmp.media_id == raw.media_id
    assert raw.source_name == ""
    other = load_image(_save(_gradient(64, 49), tmp_path / "c.png"))
    assert other.media_id != png.media_id


def test_pixels_cannot_be_changed_behind_the_id(tmp_path: Path) -> None:
    img = load_image(_save(Image.new("RGB", (8, 8), RED), tmp_path / "x.png"))
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        img.pixels[0, 0, 0] = 1


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Stored sideways (wide, red on the left); orientation 6 says "turn 90° clockwise to view".
    stored = Image.new("RGB", (80, 40), BLUE)
    stored.paste(RED, (0, 0, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    img = load_image(_save(stored, tmp_path / "phone.jpg", exif=exif, quality=95))

    assert (img.width, img.height) == (40, 80)
    assert _close(_colour(img, 10, 20), RED)
    assert _close(_colour(img, 70, 20), BLUE)


def test_transparency_is_flattened_onto_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 128), (10, 0, 20, 10))
    img = load_image(_save(rgba, tmp_path / "logo.png"))

    assert _colour(img, 5, 2) == WHITE
    assert _close(_colour(img, 5, 15), (127, 127, 127), tolerance=2)


def test_palette_and_grey_alpha_transparency_become_white(tmp_path: Path) -> None:
    palette = Image.new("P", (10, 10), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.paste(1, (5, 0, 10, 10))
    gif = load_image(_save(palette, tmp_path / "icon.gif", transparency=0))
    assert _colour(gif, 5, 1) == WHITE
    assert _colour(gif, 5, 8) == RED

    grey_alpha = Image.new("LA", (4, 4), (0, 0))
    assert _colour(load_image(_save(grey_alpha, tmp_path / "la.png")), 0, 0) == WHITE


def test_cmyk_grey_and_16_bit_become_sensible_rgb(tmp_path: Path) -> None:
    cmyk = load_image(_save(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), tmp_path / "print.jpg", quality=95))
    assert _close(_colour(cmyk, 8, 8), RED, tolerance=16)

    grey = load_image(_save(Image.new("L", (16, 16), 90), tmp_path / "grey.png"))
    assert _colour(grey, 8, 8) == (90, 90, 90)

    # 16-bit greyscale at half scale must come out mid-grey, not clipped to white.
    deep = Image.fromarray(np.full((16, 16), 32768, dtype=np.uint16))
    assert _close(_colour(load_image(_save(deep, tmp_path / "scan16.png")), 8, 8), (128, 128, 128), tolerance=1)


def test_only_the_first_frame_of_an_animation_is_used(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in (RED, GREEN, BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert _close(_colour(load_image(path), 10, 10), RED)


def test_big_pictures_are_scaled_down_keeping_their_shape(tmp_path: Path) -> None:
    wide = _save(_gradient(4000, 1000), tmp_path / "panorama.png")
    assert (load_image(wide).width, load_image(wide).height) == (3072, 768)
    assert (load_image(wide, max_side=100).width, load_image(wide, max_side=100).height) == (100, 25)

    photo = _save(_gradient(4000, 3000), tmp_path / "photo.jpg", quality=90)  # takes the fast JPEG path
    img = load_image(photo, max_side=500)
    assert (img.width, img.height) == (500, 375)
    assert _close(_colour(img, 187, 250), (128, 128, 127), tolerance=8)

    small = load_image(_save(_gradient(30, 20), tmp_path / "small.png"))
    assert (small.width, small.height) == (30, 20)  # never enlarged


def test_png_bytes_round_trip_keeps_the_id(tmp_path: Path) -> None:
    img = load_image(_save(_gradient(50, 30), tmp_path / "g.jpg"))
    again = load_image(image_to_png_bytes(img), name="thumb.png")
    assert again.media_id == img.media_id
    assert again.source_name == "thumb.png"


def test_image_from_array_copies_and_scales() -> None:
    frame = np.zeros((600, 800, 3), dtype=np.uint8)
    frame[:, :, 1] = 200
    img = image_from_array(frame[:, ::-1], name="camera", max_side=400)  # a non-contiguous view
    frame[:] = 0
    assert (img.width, img.height) == (400, 300)
    assert _colour(img, 10, 10) == (0, 200, 0)
    with pytest.raises(ValueError, match=r"^expected uint8 pixels of shape \(h, w, 3\), got uint8 \(4, 4\)$"):
        image_from_array(np.zeros((4, 4), dtype=np.uint8))


# --- what a user is told -----------------------------------------------------------------------------------


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png_with_header(30000, 30000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            MediaError, match=r"^huge\.png is too large \(30000 × 30000 pixels\); the limit is 50 megapixels\.$"
        ) as error:
            load_image(huge)
    assert str(error.value) == "huge.png is too large (30000 × 30000 pixels); the limit is 50 megapixels."


@pytest.mark.parametrize("side", [8000, 10000])  # over our limit; the second also sets off Pillow's own warning
def test_pictures_over_the_pixel_limit_are_refused(side: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(MediaError, match=rf"^big.png is too large \({side} × {side} pixels\)"):
            load_image(_png_with_header(side, side), name="big.png")


def test_missing_empty_and_folder(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"^gone.png was not found"):
        load_image(tmp_path / "gone.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(MediaError, match=r"^empty.jpg is empty"):
        load_image(tmp_path / "empty.jpg")
    with pytest.raises(MediaError, match=r"^The file is empty"):
        load_image(b"")
    with pytest.raises(MediaError, match=r"is a folder"):
        load_image(tmp_path)


def test_unreadable_file(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (4, 4)), tmp_path / "secret.png")
    path.chmod(0)
    if os.name == "posix" and os.geteuid() == 0:
        # Root reads every file: check as an ordinary user ("nobody") in a forked child.
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            message = "no error"
            try:
                os.setgid(65534)
                os.setuid(65534)
                load_image(path)
            except MediaError as error:
                message = str(error)
            except BaseException as error:  # report anything else to the parent
                message = repr(error)
            os.write(write_end, message.encode())
            os._exit(0)
        os.close(write_end)
        os.waitpid(pid, 0)
        with os.fdopen(read_end) as pipe:
            assert pipe.read().startswith("secret.png cannot be read: permission denied")
        return
    with pytest.raises(MediaError, match=r"^secret.png cannot be read: permission denied"):
        load_image(path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_is_damaged_or_incomplete(tmp_path: Path, fmt: str) -> None:
    buffer = io.BytesIO()
    _gradient(200, 150).save(buffer, format=fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(MediaError, match=rf"^cut\.{fmt.lower()} is damaged or incomplete\.$") as error:
        load_image(path)
    assert str(error.value) == f"cut.{fmt.lower()} is damaged or incomplete."


def test_every_prefix_of_a_png_is_refused_clearly_or_loads_whole() -> None:
    buffer = io.BytesIO()
    _gradient(40, 30).save(buffer, format="PNG")
    data = buffer.getvalue()
    whole = load_image(data).media_id
    for cut in range(1, len(data)):
        try:
            img = load_image(data[:cut], name="x.png")
        except MediaError as error:
            assert str(error).startswith("x.png is ")
        else:  # only the trailing checksums or end marker were lost: every pixel is there
            assert img.media_id == whole, cut


def test_files_that_are_not_pictures_say_what_they_look_like(tmp_path: Path) -> None:
    text = tmp_path / "photo.jpg"
    text.write_text("Dear diary, today I took a photo.\n" * 20)
    with pytest.raises(MediaError, match=r"^photo\.jpg is not an image \(it looks like text\)\.$") as error:
        load_image(text)
    assert str(error.value) == "photo.jpg is not an image (it looks like text)."

    page = b"<!DOCTYPE html>\n<html><head><title>Download</title></head><body>hi</body></html>"
    with pytest.raises(MediaError, match=r"^cat.png is not an image \(it looks like a web page\)\.$"):
        load_image(page, name="cat.png")

    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(MediaError, match=r"^IMG_0001.HEIC is a HEIC photo, which .* export it as PNG or JPEG\.$"):
        load_image(heic, name="IMG_0001.HEIC")

    with pytest.raises(MediaError, match=r"^noise.bin is not an image Gemma Desk can read"):
        load_image(
            b"\x01\x02" + bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8)), name="noise.bin"
        )


# --- memory -------------------------------------------------------------------------------------------------

#: Peak memory (beyond the interpreter and libraries) allowed for preparing the 7070 × 7070 16-bit scan below.
#: Pillow decodes a PNG whole: 7070² × 2 bytes = 100 MB; everything after that works in strips and needs about
#: 3 bytes per output pixel (28 MB at 3072²) plus a few MB. It used to be 1.4 GB (the picture as float64).
SCAN_PEAK_LIMIT_MB = 160

_MEASURE = """
import json, resource, sys
from app.media import load_image
unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
image = load_image(sys.argv[1])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit
pixels = image.pixels
print(json.dumps({
    "extra_mb": (after - before) / 2**20,
    "size": [image.width, image.height],
    "row": pixels[image.height // 2, :, 0].tolist(),
    "column": pixels[:, image.width // 3, 0].tolist(),
    "grey": bool((pixels[:, :, 0] == pixels[:, :, 1]).all() and (pixels[:, :, 1] == pixels[:, :, 2]).all()),
}))
"""


def test_a_big_16_bit_scan_is_prepared_in_bounded_memory_and_scaled_not_clipped(tmp_path: Path) -> None:
    try:
        import resource  # noqa: F401  (POSIX only)
    except ImportError:
        pytest.skip("peak memory is measured with the resource module (no resource module on this system)")
    side = 7070
    ramp = (np.arange(side, dtype=np.uint32) * 65535 // (side - 1)).astype(np.uint16)  # black to white, left to right
    scan = tmp_path / "scan16.png"
    Image.fromarray(np.ascontiguousarray(np.broadcast_to(ramp, (side, side)))).save(scan)
    with Image.open(scan) as written:
        assert written.mode == "I;16" and scan.stat().st_size < 1_000_000  # small on disk, 100 MB decoded

    # A fresh interpreter, so that what other tests allocated does not count.
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(scan)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],  # the repository: ``app`` is imported from here
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)

    assert result["extra_mb"] < SCAN_PEAK_LIMIT_MB, f"preparing the scan took {result['extra_mb']:.0f} MB"
    assert result["size"] == [DEFAULT_MAX_SIDE, DEFAULT_MAX_SIDE]
    assert result["grey"]
    row = np.array(result["row"], dtype=float)
    # Output column j shows source column (j + 0.5) * side / 3072 - 0.5, whose 16-bit level scales to this:
    source_x = (np.arange(DEFAULT_MAX_SIDE) + 0.5) * side / DEFAULT_MAX_SIDE - 0.5
    expected = 255 * source_x / (side - 1)
    assert np.abs(row - expected).max() <= 1.0  # every level scaled, none clipped to white
    assert row[0] == 0 and row[-1] == 255 and abs(row[DEFAULT_MAX_SIDE // 2] - 127.5) <= 1
    [level] = set(result["column"])  # the same level all the way down a column
    assert abs(level - expected[DEFAULT_MAX_SIDE // 3]) <= 1.0
