"""Video clips for camera tests: solid colours that change every second, written with OpenCV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]  # RGB, one per second


def write_clip(
    path: Path,
    *,
    seconds: float = 3.0,
    fps: float = 10.0,
    size: tuple[int, int] = (160, 120),
    fourcc: str = "MJPG",
    colours: Sequence[tuple[int, int, int]] = COLOURS,
) -> Path:
    """A clip whose frames are one solid colour a second (``colours`` in turn, RGB), as the writer encodes it."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"{fourcc} in {path.suffix} is not available"
    try:
        for index in range(round(fps * seconds)):
            red, green, blue = colours[int(index // fps) % len(colours)]
            writer.write(np.full((size[1], size[0], 3), (blue, green, red), dtype=np.uint8))
    finally:
        writer.release()
    return path
