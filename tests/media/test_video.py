"""Video intake against real clips written by OpenCV's VideoWriter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app.media import MediaError, VideoFrames, load_video
from tests.media.clips import write_clip

# One colour per second, as RGB; the writer takes BGR.
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 255, 255), (0, 0, 0), (128, 0, 255)]


def _write(path: Path, fourcc: str, fps: float, seconds: int, size: tuple[int, int] = (64, 48)) -> Path:
    """A clip whose frames are a solid colour that changes every second (the colours cycle)."""
    return write_clip(path, seconds=seconds, fps=fps, size=size, fourcc=fourcc, colours=COLOURS)


def _centre_colours(video: VideoFrames) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in f.pixels[f.height // 2, f.width // 2]) for f in video.frames]


def _close_to(actual: Sequence[tuple[int, ...]], expected: Sequence[tuple[int, ...]], tolerance: int = 24) -> bool:
    return len(actual) == len(expected) and all(
        abs(a - e) <= tolerance
        for got, want in zip(actual, expected, strict=True)
        for a, e in zip(got, want, strict=True)
    )


# --- what comes out ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fourcc"), [("clip.avi", "MJPG"), ("clip.mp4", "mp4v"), ("clip.mkv", "MJPG"), ("clip.webm", "VP80")]
)
def test_one_frame_a_second_in_order(tmp_path: Path, name: str, fourcc: str) -> None:
    video = load_video(_write(tmp_path / name, fourcc, fps=10, seconds=5))

    assert video.timestamps_s == (0.0, 1.0, 2.0, 3.0, 4.0)
    assert _close_to(_centre_colours(video), COLOURS[:5])
    assert video.duration_s == pytest.approx(5.0)
    assert not video.truncated
    assert video.source_name == name
    assert all(f.pixels.dtype == np.uint8 and f.pixels.shape == (48, 64, 3) for f in video.frames)


def test_long_clip_keeps_only_its_first_minute(tmp_path: Path) -> None:
    video = load_video(_write(tmp_path / "long.mp4", "mp4v", fps=5, seconds=70, size=(32, 32)))

    assert len(video.frames) == 60
    assert video.timestamps_s[-1] == 59.0
    assert video.truncated
    assert video.duration_s == pytest.approx(70.0)


def test_sampling_rate_limit_and_size_are_adjustable(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.avi", "MJPG", fps=10, seconds=4, size=(640, 480))
    video = load_video(path, fps=2.0, max_seconds=3.0, max_side=100)

    assert video.timestamps_s == (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
    assert video.truncated
    assert all((f.width, f.height) == (100, 75) for f in video.frames)


def test_frames_have_content_ids(tmp_path: Path) -> None:
    video = load_video(_write(tmp_path / "ids.avi", "MJPG", fps=4, seconds=3), fps=2.0)
    ids = [f.media_id for f in video.frames]
    assert ids[0] == ids[1] != ids[2]  # two samples of the same (red) second look the same


def test_a_header_that_miscounts_its_frames_is_not_believed(tmp_path: Path) -> None:
    # MPEG program streams often state a wrong frame count; this one claims a single frame.
    path = _write(tmp_path / "tape.mpg", "mp4v", fps=10, seconds=5)
    capture = cv2.VideoCapture(str(path))
    stated = capture.get(cv2.CAP_PROP_FRAME_COUNT)
    capture.release()

    video = load_video(path)

    assert stated != 50  # the premise: the header is wrong
    assert video.timestamps_s == (0.0, 1.0, 2.0, 3.0, 4.0)
    assert _close_to(_centre_colours(video), COLOURS[:5])


def test_a_stream_without_timing_is_read_in_order(tmp_path: Path) -> None:
    # A raw MJPEG stream has no frame count and no frame rate (FFmpeg assumes 25 frames a second).
    video = load_video(_write(tmp_path / "webcam.mjpeg", "MJPG", fps=25, seconds=3))

    assert video.timestamps_s == (0.0, 1.0, 2.0)
    assert _close_to(_centre_colours(video), COLOURS[:3])
    assert video.duration_s == pytest.approx(3.0)
    assert not video.truncated


# --- what a user is told -----------------------------------------------------------------------------------


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"^gone.mp4 was not found"):
        load_video(tmp_path / "gone.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(MediaError, match=r"^empty.mp4 is empty"):
        load_video(tmp_path / "empty.mp4")


def test_files_that_are_not_videos_say_what_they_are(tmp_path: Path) -> None:
    text = tmp_path / "movie.mp4"
    text.write_text("This is the script of the movie, not the movie.\n" * 10)
    with pytest.raises(MediaError, match=r"^movie\.mp4 is not a video \(it looks like text\)\.$") as error:
        load_video(text)
    assert str(error.value) == "movie.mp4 is not a video (it looks like text)."

    picture = tmp_path / "still.mp4"
    Image.new("RGB", (8, 8)).save(picture, format="PNG")
    with pytest.raises(MediaError, match=r"^still.mp4 is a picture, not a video .* attach it as an image\.$"):
        load_video(picture)

    noise = tmp_path / "noise.avi"
    noise.write_bytes(b"\x01\x02" + bytes(np.random.default_rng(4).integers(0, 256, 4000, dtype=np.uint8)))
    with pytest.raises(MediaError, match=r"^noise.avi is not a video this app can open; use MP4, WebM, MOV or AVI\.$"):
        load_video(noise)


def test_truncated_clip_is_refused_clearly(tmp_path: Path) -> None:
    whole = _write(tmp_path / "whole.mp4", "mp4v", fps=10, seconds=3).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])  # the index (moov box) is at the end: nothing can be located
    with pytest.raises(
        MediaError, match=r"^cut.mp4 is damaged, has no picture, or uses a video format this app cannot decode\.$"
    ):
        load_video(cut)
