"""Camera capture with a generated video file as the camera, and the faults a real camera has."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.media.camera import CameraError, CameraSource, Capture, list_cameras
from tests.media.clips import write_clip


class Events:
    def __init__(self) -> None:
        self.frames = 0
        self.errors: list[str] = []
        self.ended = threading.Event()
        self.failed = threading.Event()

    def frame(self, _rgb: np.ndarray) -> None:
        self.frames += 1

    def error(self, message: str) -> None:
        self.errors.append(message)
        self.failed.set()


def start(source: CameraSource, **kw: Any) -> tuple[Capture, Events]:
    events = Events()
    capture = Capture(source, on_frame=events.frame, on_error=events.error, on_end=events.ended.set, **kw)
    capture.start()
    return capture, events


def test_sources_are_parsed_from_what_the_user_typed(tmp_path: Path) -> None:
    assert CameraSource.parse("0") == CameraSource("device", 0, "Camera 1")
    assert CameraSource.parse(" rtsp://10.0.0.5/stream ").kind == "url"
    clip = write_clip(tmp_path / "clip.avi", seconds=1)
    assert CameraSource.parse(str(clip)) == CameraSource("file", str(clip), "clip.avi")
    with pytest.raises(CameraError, match="no such video file"):
        CameraSource.parse(str(tmp_path / "missing.mp4"))
    with pytest.raises(CameraError, match="Choose a camera"):
        CameraSource.parse("  ")


def test_a_video_file_plays_at_its_rate_snaps_and_ends(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.avi", seconds=2, fps=10)
    t0 = time.monotonic()
    capture, events = start(CameraSource.parse(str(clip)))
    assert events.ended.wait(10)
    elapsed = time.monotonic() - t0
    assert capture.released.wait(5) and not capture.running
    assert events.frames == 20 and 1.5 < elapsed < 6  # paced to 10 frames a second, not read at once
    shot = capture.snapshot()  # the last frame stays for Snap
    assert shot.width == 160 and shot.height == 120
    assert tuple(int(v) for v in shot.pixels[60, 80]) == pytest.approx((0, 255, 0), abs=24)  # second 2: green
    assert events.errors == []


def test_no_camera_at_that_index_says_so(tmp_path: Path) -> None:
    capture, events = start(CameraSource.device(7))
    assert events.failed.wait(10) and capture.released.wait(5)
    assert events.errors[0].startswith("Camera 8 did not open. Check that it is connected")
    with pytest.raises(CameraError, match="no picture yet"):
        capture.snapshot()
    assert list_cameras(max_index=2) == []  # this machine has no /dev/video*


class Unplugged:
    """A camera that gives a few frames and then fails every read (a real one cannot be unplugged here)."""

    def __init__(self, _index: int, good_frames: int = 5) -> None:
        self.left = good_frames
        self.released = False

    def isOpened(self) -> bool:
        return True

    def get(self, _prop: int) -> float:
        return 30.0

    def read(self) -> tuple[bool, np.ndarray | None]:
        time.sleep(0.005)
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((48, 64, 3), dtype=np.uint8)

    def release(self) -> None:
        self.released = True


def test_a_camera_unplugged_mid_stream_is_reported_and_released() -> None:
    made: list[Unplugged] = []

    def opener(index: int, *_args: object) -> Unplugged:
        made.append(Unplugged(index))
        return made[-1]

    capture, events = start(CameraSource.device(0), opener=opener)
    assert events.failed.wait(10)
    assert "stopped sending pictures" in events.errors[0] and "Retry" in events.errors[0]
    assert events.frames == 5 and capture.released.wait(5) and made[0].released
    assert capture.snapshot().width == 64  # the last good frame can still be snapped
    assert list_cameras(max_index=1, opener=opener) == [CameraSource.device(0), CameraSource.device(1)]


def test_stop_releases_a_running_source_at_once(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "long.avi", seconds=30, fps=10)
    capture, events = start(CameraSource.parse(str(clip)))
    deadline = time.monotonic() + 5
    while events.frames < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    t0 = time.monotonic()
    assert capture.stop(timeout=5)
    assert time.monotonic() - t0 < 1.0 and capture.released.is_set() and not events.ended.is_set()
