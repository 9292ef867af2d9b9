"""What the listener tells the window: small frozen records, put in a queue and polled (no Qt signals).

Times are ``time.perf_counter()`` seconds in the app (the caller's clock in tests), so the window can
measure a voice turn from the end of speech to the first token and the first sound of the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.media.audio import AUDIO_SAMPLE_RATE


@dataclass(frozen=True)
class SpeechStarted:
    """Someone started talking: ``at`` is the start of the first voiced frame (detection comes ~0.3 s later)."""

    at: float


@dataclass(frozen=True, eq=False)
class Utterance:
    """A finished turn: 16 kHz mono float32 (read-only), from a short pre-roll to just after the last word.

    ``speech_s`` runs from the first to the last voiced frame; ``ended_at`` is when the last voiced frame
    ended (the end of speech, where a voice turn's latency is counted from).
    """

    samples: np.ndarray
    speech_s: float
    ended_at: float

    @property
    def duration_s(self) -> float:
        return len(self.samples) / AUDIO_SAMPLE_RATE


@dataclass(frozen=True)
class BargeIn:
    """The user talks over the app: stop speaking. ``voice_started_at`` is the first loud voiced frame's start."""

    at: float
    voice_started_at: float


@dataclass(frozen=True)
class DeviceLost:
    """The microphone stopped delivering audio; ``message`` says so in words for the window. Listening ended."""

    message: str


Event = SpeechStarted | Utterance | BargeIn | DeviceLost
