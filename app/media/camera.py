"""Camera capture: a webcam, a video file or a stream URL, read on a worker thread, the newest frame kept for Snap.

``CameraSource.parse`` reads what the user chose ("0", a file path, an
``rtsp://`` or ``http://`` URL). ``Capture`` owns one ``cv2.VideoCapture``
on its own thread: it opens the source, reads frames at the source's own rate
(a file is paced to its frame rate, a camera blocks on its driver), keeps
the newest frame, and reports through plain callbacks — a frame, the end of a
file, or a failure in one line for people. ``stop()`` releases the device
from that thread and waits for it. ``list_cameras`` tries the first few device
indices. No Qt.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.media.errors import MediaError
from app.media.images import ImageInput, image_from_array

log = logging.getLogger(__name__)
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # a missing /dev/video* is a result, not a warning

#: Device indices tried when listing cameras (OpenCV has no portable way to enumerate them).
MAX_CAMERA_INDEX = 4
#: A camera that fails this many reads in a row (about a second) has stopped: unplugged, or taken by another app.
MAX_FAILED_READS = 30
_URL = re.compile(r"^(rtsp|rtmp|http|https|udp|tcp)://", re.IGNORECASE)
_DEFAULT_FILE_FPS = 25.0

Opener = Callable[..., Any]  # cv2.VideoCapture or a stand-in with the same isOpened/read/get/release


class CameraError(MediaError):
    """The camera or stream cannot be used; ``str()`` says why and what to try."""


@dataclass(frozen=True)
class CameraSource:
    """Where pictures come from: a device index, a video file, or a stream URL."""

    kind: str  # "device" | "file" | "url"
    value: int | str
    label: str

    @classmethod
    def device(cls, index: int) -> CameraSource:
        return cls("device", index, f"Camera {index + 1}")

    @classmethod
    def parse(cls, text: str) -> CameraSource:
        """ "0" → camera 1; "rtsp://…" → a stream; anything else must be a video file that exists."""
        text = text.strip()
        if not text:
            raise CameraError("Choose a camera, or give a video file or a stream URL.")
        if text.isdigit():
            return cls.device(int(text))
        if _URL.match(text):
            return cls("url", text, text)
        path = Path(text).expanduser()
        if not path.is_file():
            raise CameraError(f"{path.name or text}: no such video file.")
        return cls("file", str(path), path.name)

    def to_setting(self) -> str:
        """What is saved to remember this source ("0", a path or a URL)."""
        return str(self.value)


def _open(source: CameraSource, opener: Opener) -> Any:
    if source.kind == "device":
        return opener(int(source.value))
    if source.kind == "url":
        return opener(str(source.value), cv2.CAP_FFMPEG)
    return opener(str(source.value))


def list_cameras(max_index: int = MAX_CAMERA_INDEX, opener: Opener = cv2.VideoCapture) -> list[CameraSource]:
    """The device cameras that open and give a frame (slow: call it off the GUI thread)."""
    found: list[CameraSource] = []
    for index in range(max_index + 1):
        source = CameraSource.device(index)
        capture = _open(source, opener)
        try:
            if capture.isOpened() and capture.read()[0]:
                found.append(source)
        finally:
            capture.release()
    return found


def open_message(source: CameraSource) -> str:
    """Why a source did not open, in words, with what to try."""
    if source.kind == "device":
        return (
            f"{source.label} did not open. Check that it is connected and that no other app is using it; "
            "on macOS, allow Gemma Desk in System Settings → Privacy & Security → Camera."
        )
    if source.kind == "url":
        return f"The stream {source.label} did not open: check the address and that the camera is on the network."
    return f"{source.label} could not be opened as a video."


class Capture:
    """One source, read on a worker thread. Callbacks run on that thread; keep them short."""

    def __init__(
        self,
        source: CameraSource,
        *,
        on_frame: Callable[[np.ndarray], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_end: Callable[[], None] | None = None,
        opener: Opener = cv2.VideoCapture,
    ) -> None:
        self.source = source
        self._on_frame = on_frame
        self._on_error = on_error
        self._on_end = on_end
        self._opener = opener
        self._lock = threading.Lock()
        self._latest: np.ndarray | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fps = 0.0
        self.frames = 0
        self.opened = threading.Event()  # set once the source opened (or failed to)
        self.released = threading.Event()  # set once the device is released

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a Capture starts once")
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.source.value}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop reading and release the device; True when the worker ended within ``timeout``."""
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> np.ndarray | None:
        """The newest frame (RGB, uint8), or None before the first."""
        with self._lock:
            return self._latest

    def snapshot(self, name: str = "") -> ImageInput:
        """The newest frame as an image attachment (scaled like a dropped picture); CameraError before any frame."""
        frame = self.latest()
        if frame is None:
            raise CameraError("There is no picture yet: wait for the preview, then Snap.")
        return image_from_array(frame, name=name or f"{self.source.label} snapshot")

    # -- worker ---------------------------------------------------------------------------------

    def _run(self) -> None:
        capture = None
        try:
            capture = _open(self.source, self._opener)
            if not capture.isOpened():
                self.opened.set()
                self._fail(open_message(self.source))
                return
            self.opened.set()
            fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
            self.fps = fps if 0 < fps < 1000 else (_DEFAULT_FILE_FPS if self.source.kind == "file" else 30.0)
            self._read_loop(capture)
        except Exception as exc:  # OpenCV raises cv2.error for some broken streams
            log.exception("camera %s failed", self.source.label)
            self.opened.set()
            self._fail(f"{self.source.label} stopped: {exc}")
        finally:
            if capture is not None:
                capture.release()
            self.released.set()

    def _read_loop(self, capture: Any) -> None:
        failures = 0
        pace = 1.0 / self.fps if self.source.kind == "file" else 0.0
        next_at = time.monotonic()
        while not self._stop.is_set():
            ok, frame = capture.read()
            if not ok or frame is None:
                if self.source.kind == "file":
                    if self._on_end is not None:
                        self._on_end()
                    return
                failures += 1
                if failures >= MAX_FAILED_READS:
                    self._fail(
                        f"{self.source.label} stopped sending pictures. Was it unplugged, or taken by another app? "
                        "Reconnect it and press Retry."
                    )
                    return
                self._stop.wait(1.0 / 30)
                continue
            failures = 0
            rgb = _to_rgb(frame)
            with self._lock:
                self._latest = rgb
            self.frames += 1
            if self._on_frame is not None:
                self._on_frame(rgb)
            if pace:
                next_at += pace
                delay = next_at - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_at = time.monotonic()

    def _fail(self, message: str) -> None:
        if self._on_error is not None and not self._stop.is_set():
            self._on_error(message)


def _to_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
