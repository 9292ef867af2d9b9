"""16 kHz audio cut into 30 ms frames, each with its loudness, WebRTC's voice decision and its time.

Both the endpointer (when does a turn start and end) and the echo gate (is the
user talking over the app) judge the same frames, so the cutting, the RMS and
the ``webrtcvad`` call happen once, here.

Decisions: 30 ms is the longest frame WebRTC's VAD takes at 16 kHz (fewer
calls, steadier decisions than 10 or 20 ms). Times are the caller's clock
(``time.perf_counter()`` in the app, synthetic seconds in tests): ``push``
gets the time at which the *last* sample of the block arrived. Frames are
dated by counting samples from the stream's start, not by their block's
arrival: PulseAudio through ALSA delivers blocks in bursts, and dating each
block back from its arrival squeezed a 0.3 s pre-roll into 0.1 s of frames.
The start is the earliest one any block allows (arrival minus the samples
so far: a late block only says it was late); it creeps later by at most
``DRIFT`` of the time elapsed, so a sound card slower than the clock does not
pull every time early, and a block more than ``GAP_S`` later than the count
says (audio dropped, or a stream that stalled) starts the count again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import webrtcvad

from app.media.audio import AUDIO_SAMPLE_RATE

FRAME_S = 0.03
FRAME_SAMPLES = round(AUDIO_SAMPLE_RATE * FRAME_S)  # 480
#: webrtcvad's modes: 0 lets most sound through as voice, 3 is the strictest. 2 keeps espeak's and
#: people's voices whole while refusing steady hum; hiss is left to the energy floor below.
DEFAULT_AGGRESSIVENESS = 2
DRIFT = 0.001  # 1000 ppm: ten times a cheap sound card's clock error
GAP_S = 0.5


@dataclass(frozen=True, eq=False)
class Frame:
    """30 ms of 16 kHz mono float32, with its RMS (0 … 1), WebRTC's verdict and when it ended."""

    samples: np.ndarray
    rms: float
    voiced: bool
    end: float

    @property
    def start(self) -> float:
        return self.end - FRAME_S


def frame_rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0


class Framer:
    """Cuts blocks of any size into frames; keeps the remainder for the next block. Not thread-safe."""

    def __init__(self, aggressiveness: int = DEFAULT_AGGRESSIVENESS) -> None:
        if not 0 <= aggressiveness <= 3:
            raise ValueError(f"VAD aggressiveness is 0 … 3, not {aggressiveness}")
        self._vad = webrtcvad.Vad(aggressiveness)
        self._rest = np.zeros(0, dtype=np.float32)
        self._received = 0  # samples since the start of the count
        self._origin = math.inf  # the caller's time of the count's first sample

    def push(self, samples: np.ndarray, now: float) -> list[Frame]:
        """Frames completed by ``samples`` (16 kHz mono float32), the block's last sample arriving at ``now``."""
        block = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._date(len(block), now)
        data = np.concatenate([self._rest, block]) if len(self._rest) else block
        count = len(data) // FRAME_SAMPLES
        self._rest = data[count * FRAME_SAMPLES :].copy()
        first_end = self._origin + (self._received - len(data) + FRAME_SAMPLES) / AUDIO_SAMPLE_RATE
        frames = []
        for i in range(count):
            chunk = data[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES].copy()
            end = first_end + i * FRAME_S
            frames.append(Frame(chunk, frame_rms(chunk), self._is_speech(chunk), end))
        return frames

    def _date(self, samples: int, now: float) -> None:
        """Count ``samples`` more and move the count's start as the block's arrival at ``now`` allows."""
        self._received += samples
        start = now - self._received / AUDIO_SAMPLE_RATE
        late = start - self._origin
        if late < 0 or late > GAP_S:  # earlier than thought, or a gap: count from here
            self._origin = start
        else:
            self._origin += min(late, DRIFT * samples / AUDIO_SAMPLE_RATE)

    def _is_speech(self, chunk: np.ndarray) -> bool:
        pcm = (np.clip(chunk, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        return bool(self._vad.is_speech(pcm, AUDIO_SAMPLE_RATE))

    def reset(self) -> None:
        self._rest = np.zeros(0, dtype=np.float32)
        self._received, self._origin = 0, math.inf
