"""Video intake: a video file → one frame a second (from the first minute) as ImageInputs for Gemma's vision encoder."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import BinaryIO

import cv2
import numpy as np

from app.media.errors import MediaError, open_source, read_head, sniff, subject
from app.media.images import ImageInput, image_from_array

#: Longer clips are cut to their first minute (the result says so, so the caller can tell the user).
MAX_VIDEO_SECONDS = 60.0
DEFAULT_VIDEO_MAX_SIDE = 1024
_MAX_NATIVE_FPS = 1000.0  # a frame rate above this is a broken header, not a camera
_FRAME_BUDGET_FPS = 240.0  # when the timing is unknown, read at most this many frames per second of limit
# Kinds that may also be moving pictures: raw motion-JPEG streams, animations, Ogg Theora.
_MAYBE_MOVING = ("a JPEG image", "a GIF image", "an Ogg file")


@dataclass(frozen=True, eq=False)
class VideoFrames:
    """Frames sampled from a video, in order, with the time (in seconds) each was taken from."""

    frames: tuple[ImageInput, ...]
    timestamps_s: tuple[float, ...]
    duration_s: float  # the whole clip's length as far as the file tells (at least the part read)
    source_name: str
    truncated: bool  # the clip was longer than the limit and only its beginning was used


def load_video(
    path: str | os.PathLike[str],
    *,
    fps: float = 1.0,
    max_seconds: float = MAX_VIDEO_SECONDS,
    max_side: int = DEFAULT_VIDEO_MAX_SIDE,
    name: str = "",
) -> VideoFrames:
    """Sample ``fps`` frames a second from the first ``max_seconds`` of a video OpenCV can open (MP4, WebM, AVI, …).

    Seeks by frame index when the file states its frame rate and length; otherwise, or when seeking fails,
    reads the frames in order. ``name`` is what messages call the file (default: its name). Every failure
    is a MediaError.
    """
    if fps <= 0 or max_seconds <= 0 or max_side < 1:
        raise ValueError(f"fps, max_seconds and max_side must be positive (got {fps}, {max_seconds}, {max_side})")
    stream, label = open_source(path, name)
    with stream:  # held open while OpenCV reads, so it reads the very file that was checked
        head = read_head(stream)
        who = subject(label)
        _refuse_non_video(who, head)
        return _sample(_reopenable_name(stream, os.fspath(path)), who, label, head, fps, max_seconds, max_side)


def _sample(
    filename: str, who: str, label: str, head: bytes, fps: float, max_seconds: float, max_side: int
) -> VideoFrames:
    capture = _open_capture(filename)
    try:
        if not capture.isOpened():
            raise MediaError(_unopenable_message(who, head))
        native_fps = float(capture.get(cv2.CAP_PROP_FPS))
        if not (math.isfinite(native_fps) and 0 < native_fps <= _MAX_NATIVE_FPS):
            native_fps = 0.0
        count = float(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        declared = count / native_fps if native_fps and math.isfinite(count) and count > 0 else None
        sampled = None
        if declared is not None:
            sampled = _sample_by_seeking(capture, native_fps, int(count), fps, min(declared, max_seconds), max_side)
            if sampled is not None and declared <= max_seconds and _has_frame_at(capture, int(count)):
                sampled = None  # the header undercounts its frames (common in MPEG files): read them in order
    finally:
        capture.release()
    if sampled is not None and declared is not None:
        duration, truncated = declared, declared > max_seconds
    else:
        capture = _open_capture(filename)
        try:
            sampled, reached, truncated = _sample_in_order(capture, native_fps, fps, max_seconds, max_side)
        finally:
            capture.release()
        duration = declared if truncated and declared is not None else reached
    if not sampled:
        raise MediaError(f"{who} contains no video frames this app can decode (it may be damaged).")
    frames = tuple(image_from_array(rgb, name=label, max_side=max_side) for _, rgb in sampled)
    stamps = tuple(round(t, 3) for t, _ in sampled)
    return VideoFrames(frames=frames, timestamps_s=stamps, duration_s=duration, source_name=label, truncated=truncated)


def _reopenable_name(stream: BinaryIO, filename: str) -> str:
    """A name that opens the already-opened (and checked) file: Linux's /proc/self/fd/N, else the path itself.

    Should the path be swapped for a pipe or a device after the check, OpenCV still reads the checked file.
    """
    alias = f"/proc/self/fd/{stream.fileno()}"
    try:
        same = os.path.samestat(os.stat(alias), os.fstat(stream.fileno()))
    except OSError:
        return filename
    return alias if same else filename


def _open_capture(filename: str) -> cv2.VideoCapture:
    """FFmpeg first (it reads every common format and never treats '%d' in a name as an image sequence)."""
    capture = cv2.VideoCapture(filename, cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        capture = cv2.VideoCapture(filename)
    return capture


def _sample_by_seeking(
    capture: cv2.VideoCapture, native_fps: float, count: int, fps: float, limit: float, max_side: int
) -> list[tuple[float, np.ndarray]] | None:
    """One frame per 1/fps seconds by frame index, or None when a seek or a read fails (the caller reads in order)."""
    sampled: list[tuple[float, np.ndarray]] = []
    for k in range(math.ceil(limit * fps - 1e-9)):
        index = round(k / fps * native_fps)
        if index >= count:
            break
        if not capture.set(cv2.CAP_PROP_POS_FRAMES, index):
            return None
        ok, frame = capture.read()
        if not ok or frame is None:
            return None
        sampled.append((index / native_fps, _to_rgb(frame, max_side)))
    return sampled


def _has_frame_at(capture: cv2.VideoCapture, index: int) -> bool:
    """Whether a frame exists at ``index`` (one past the last, by the header's count)."""
    return bool(capture.set(cv2.CAP_PROP_POS_FRAMES, index) and capture.grab())


def _sample_in_order(
    capture: cv2.VideoCapture, native_fps: float, fps: float, max_seconds: float, max_side: int
) -> tuple[list[tuple[float, np.ndarray]], float, bool]:
    """Read every frame, keeping the first at (or within half a frame of) each sampling time.

    Returns the samples, how far the clip was read (seconds) and whether it went on past ``max_seconds``.
    """
    sampled: list[tuple[float, np.ndarray]] = []
    slack = 0.5 / native_fps if native_fps else 0.0
    budget = math.ceil(max_seconds * _FRAME_BUDGET_FPS)
    index, k, reached = 0, 0, 0.0
    while capture.grab():
        t = index / native_fps if native_fps else max(0.0, float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)
        index += 1
        if t >= max_seconds or index > budget:
            return sampled, max(reached, t), True
        reached = t + (1.0 / native_fps if native_fps else 0.0)
        if t + slack >= k / fps:
            ok, frame = capture.retrieve()
            if ok and frame is not None:
                sampled.append((t, _to_rgb(frame, max_side)))
            while k / fps <= t + slack:
                k += 1
    return sampled, reached, False


def _to_rgb(frame: np.ndarray, max_side: int) -> np.ndarray:
    """OpenCV's BGR (or grey, or BGRA) frame → RGB, shrunk with area averaging so its longer side ≤ max_side."""
    if frame.ndim == 2:
        rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    elif frame.shape[2] == 4:
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    if rgb.dtype != np.uint8:  # 16-bit frames from some codecs
        rgb = (rgb / 257).astype(np.uint8)
    height, width = rgb.shape[:2]
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return np.asarray(rgb, dtype=np.uint8)


def _refuse_non_video(who: str, head: bytes) -> None:
    """Catch pictures, sound files and documents before OpenCV guesses at them."""
    found = sniff(head)
    if found is None or found.family == "video" or found.kind in _MAYBE_MOVING:
        return
    if found.family == "image":
        raise MediaError(f"{who} is a picture, not a video (it looks like {found.kind}); attach it as an image.")
    if found.family == "audio":
        raise MediaError(f"{who} is a sound file, not a video (it looks like {found.kind}); attach it as audio.")
    raise MediaError(f"{who} is not a video (it looks like {found.kind}).")


def _unopenable_message(who: str, head: bytes) -> str:
    found = sniff(head)
    if found is not None and found.family == "video":
        return f"{who} is damaged, has no picture, or uses a video format this app cannot decode."
    return f"{who} is not a video this app can open; use MP4, WebM, MOV or AVI."
