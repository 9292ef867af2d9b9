"""The GUI thread's longest stall, as benchmarks measure it: the longest gap between ticks of a short timer."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer


class Heartbeat:
    """The longest gap between ticks of a ``interval_ms`` timer on the GUI thread, from ``start`` to ``stop``."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.longest = 0.0

    def start(self) -> None:
        self.last = time.perf_counter()
        self.longest = 0.0
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def stop(self) -> float:
        """Stop; the longest gap in seconds."""
        self.timer.stop()
        return self.longest
