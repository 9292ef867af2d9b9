"""Real speech for the voice tests: espeak-ng phrases at 16 kHz, fed in blocks on a synthetic clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from app.media.audio import AUDIO_SAMPLE_RATE
from app.voice.events import Event
from app.voice.frames import FRAME_SAMPLES, frame_rms
from tests.media.virtual_mic import speech_wav

RATE = AUDIO_SAMPLE_RATE
BLOCK = 1024  # 64 ms, the size of a typical PortAudio block at 16 kHz: frames straddle blocks


def spoken(wav: Path, text: str) -> np.ndarray:
    """``text`` as espeak-ng says it (kept in ``wav``), 16 kHz mono float32 (espeak writes 22.05 kHz)."""
    speech_wav(wav, text)
    data, rate = sf.read(str(wav), dtype="float32")
    return np.asarray(soxr.resample(data, rate, RATE), dtype=np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * RATE), dtype=np.float32)


def join(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts).astype(np.float32)


def voiced_extent(audio: np.ndarray, floor: float = 0.004) -> tuple[float, float]:
    """Where the sound is in ``audio``: the first and last frame louder than ``floor`` (seconds)."""
    count = len(audio) // FRAME_SAMPLES
    loud = [i for i in range(count) if frame_rms(audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]) >= floor]
    return loud[0] * FRAME_SAMPLES / RATE, (loud[-1] + 1) * FRAME_SAMPLES / RATE


def feed(
    push: Callable[[np.ndarray, float], Sequence[Event]], audio: np.ndarray, *, start: float = 0.0, block: int = BLOCK
) -> list[tuple[float, Event]]:
    """Feed ``audio`` block by block as if it arrived in real time from ``start``: (arrival time, event) pairs."""
    out: list[tuple[float, Event]] = []
    for offset in range(0, len(audio), block):
        chunk = audio[offset : offset + block]
        now = start + (offset + len(chunk)) / RATE
        out.extend((now, event) for event in push(chunk, now))
    return out
