"""Download progress: the ``Progress`` a caller receives, its text for people, and the throttled reporters.

``Reporter`` turns byte counts of one file into ``Progress`` at most every
PROGRESS_INTERVAL_S, with a moving-average speed; ``Combined`` relays several
files' progress as one.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from app.units import format_size, format_time_left

PROGRESS_INTERVAL_S = 0.1
SPEED_WINDOW_S = 5.0


@dataclass(frozen=True)
class Progress:
    label: str
    done: int
    total: int | None
    speed_bps: float  # bytes per second over the last few seconds
    eta_s: float | None
    state: str  # "connecting" | "downloading" | "verifying" | "paused" | "done" | "failed" | "cancelled"
    verified: bool | None = None  # on "done": True when the SHA-256 was checked, False when only the size


ProgressCallback = Callable[[Progress], None]


def describe_progress(p: Progress) -> str:
    """ "1.2 GB of 5.5 GB (22 %), 31.0 MB/s, 2 min 18 s left", or what the download is doing instead."""
    if p.state == "connecting":
        return "Connecting…"
    if p.state == "verifying":
        return f"Checking {p.label}…"
    if p.state in ("failed", "cancelled", "done"):
        return {"failed": "Failed", "cancelled": "Cancelled", "done": "Done"}[p.state]
    text = format_size(p.done)
    if p.total:
        text += f" of {format_size(p.total)}" + ("" if p.state == "paused" else f" ({100 * p.done / p.total:.0f} %)")
    if p.state == "paused":
        return f"Paused at {text}"
    if p.speed_bps > 0:
        text += f", {format_size(int(p.speed_bps))}/s"
        if p.eta_s is not None:
            text += f", {format_time_left(p.eta_s)} left"
    return text


class Reporter:
    """Turns byte counts into ``Progress`` at most every PROGRESS_INTERVAL_S, with a moving-average speed."""

    def __init__(self, label: str, callback: ProgressCallback | None) -> None:
        self.label = label
        self._callback = callback
        self._last = -1.0
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self.total: int | None = None

    def restart(self) -> None:
        self._samples.clear()

    def speed(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def received(self, done: int) -> None:
        now = time.monotonic()
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()
        self.emit("downloading", done)

    def emit(self, state: str, done: int, *, verified: bool | None = None) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if state in ("downloading", "verifying"):
            if now - self._last < PROGRESS_INTERVAL_S:
                return
            self._last = now
        speed = self.speed() if state in ("downloading", "done") else 0.0
        eta: float | None = None
        if state == "done":
            eta = 0.0
        elif state == "downloading" and self.total is not None and speed > 0:
            eta = max(0, self.total - done) / speed
        self._callback(Progress(self.label, done, self.total, speed, eta, state, verified))


class Combined:
    """Relays the progress of several downloads as one: bytes of all files, "done" only after the last."""

    def __init__(self, callback: ProgressCallback | None, total: int | None, count: int) -> None:
        self._callback = callback
        self._total = total
        self._left = count
        self._verified = True
        self.base = 0  # bytes of the files already finished

    def __call__(self, p: Progress) -> None:
        if p.state == "done":
            self._verified = self._verified and bool(p.verified)
            self._left -= 1
            if self._left:
                return
        done = self.base + p.done
        eta = p.eta_s
        if self._total is not None and p.speed_bps > 0 and p.state == "downloading":
            eta = max(0, self._total - done) / p.speed_bps
        verified = self._verified if p.state == "done" else None
        if self._callback is not None:
            self._callback(replace(p, done=done, total=self._total, eta_s=eta, verified=verified))
