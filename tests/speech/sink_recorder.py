"""What the speakers play: the default PulseAudio sink's monitor, recorded with ``parec`` as it arrives.

A stand-in until ``tests/media/virtual_mic.ensure_virtual_speaker()`` lands (a null sink of its own, so no
other test's sound can reach the recording); until then the default sink is whatever ``ensure_virtual_mic``
set up (the ``vmic`` null sink). Each 20 ms block is kept with the time it arrived, so a test can tell when
sound started and stopped, not only how much of it there was.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import numpy as np

from tests.media.virtual_mic import NoVirtualMic, ensure_virtual_mic

RATE = 16_000
BLOCK = RATE // 50  # 20 ms
#: A block louder than this (peak, of 32767) is sound; the null sink's silence is exact zeros.
LOUD = 300


def default_sink() -> str:
    """PulseAudio's default sink (started with the virtual microphone's null sink when it is not running)."""
    if shutil.which("parec") is None:
        raise NoVirtualMic("no parec (apt install pulseaudio-utils)")
    try:
        ensure_virtual_mic()
    except OSError as exc:  # sounddevice without PortAudio: PulseAudio itself is up by then
        if "PortAudio" not in str(exc):
            raise
    out = subprocess.run(["pactl", "get-default-sink"], capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


class SinkRecorder:
    """Records the default sink's monitor from ``start()`` to ``stop()``: (arrival time, peak) per 20 ms block."""

    def __init__(self) -> None:
        self.sink = default_sink()
        self.blocks: list[tuple[float, int]] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SinkRecorder:
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={self.sink}.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={RATE}",
                "--channels=1",
                "--latency-msec=20",
            ],
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        time.sleep(0.3)  # the stream is connected and delivering
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._proc is not None and self._thread is not None
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._thread.join(timeout=10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        pending = b""
        while chunk := self._proc.stdout.read(BLOCK * 2):
            now = time.perf_counter()
            pending += chunk
            while len(pending) >= BLOCK * 2:
                block, pending = np.frombuffer(pending[: BLOCK * 2], dtype="<i2"), pending[BLOCK * 2 :]
                self.blocks.append((now, int(np.abs(block.astype(np.int32)).max())))

    def loud_times(self, since: float = 0.0) -> list[float]:
        """Arrival times of the blocks with sound (after ``since``)."""
        return [at for at, peak in list(self.blocks) if peak > LOUD and at >= since]

    def sound_seconds(self, since: float = 0.0) -> float:
        """How much of the recording was sound (pauses between words left out)."""
        return len(self.loud_times(since)) * BLOCK / RATE

    def span(self, since: float = 0.0) -> float:
        """From the first sound to the last, pauses included."""
        loud = self.loud_times(since)
        return loud[-1] - loud[0] if loud else 0.0
