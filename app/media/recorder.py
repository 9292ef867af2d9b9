"""Microphone recording with sounddevice: push-to-talk clips at the device's own rate, then 16 kHz mono for Gemma.

``Recorder`` owns one PortAudio input stream. ``start()`` opens it at the
input device's default rate (no resampling in the audio callback), blocks
are appended as they come and the input level is kept for a meter;
``stop()`` closes the stream and returns a ``Recording``; ``cancel()``
throws it away. A recording reaching ``max_s`` stops taking audio and sets
``limit_reached`` (the UI then ends it). ``finish()`` turns a recording into
what the model takes (``AudioInput``: 16 kHz mono float32 via soxr) and
writes the WAV kept as the attachment. ``mic_status()`` tells whether
PortAudio loads and which input devices there are. No Qt.

Decisions: a clip is at most 30 s (the longest part Gemma 4 hears at once),
so push-to-talk stops there rather than splitting; shorter than
``MIN_SECONDS`` is "hold the button while you speak"; a silent recording is
not sent — ``finish`` raises ``SilentRecording`` with what to check.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from app.media.audio import AUDIO_SAMPLE_RATE, MAX_CLIP_SECONDS, AudioInput, audio_from_samples
from app.media.errors import MediaError

log = logging.getLogger(__name__)

MIN_SECONDS = 0.3
NO_PORTAUDIO = (
    "The microphone cannot be used: the PortAudio sound library is not installed "
    "(Debian/Ubuntu: sudo apt install libportaudio2)."
)
NO_INPUT = "No microphone was found. Connect one (or allow Gemma Desk to use it in the system's privacy settings)."


class MicError(MediaError):
    """The microphone cannot record; ``str()`` says why and what to do."""


class SilentRecording(MicError):
    """The recording holds no sound: not sent."""


class TooShort(MicError):
    """Released before anything could be said."""


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    sample_rate: float
    is_default: bool


@dataclass(frozen=True)
class MicStatus:
    portaudio: str  # the version, or "" when it does not load
    devices: tuple[InputDevice, ...]
    problem: str  # "" when a microphone can be used, else why not (one line)

    @property
    def usable(self) -> bool:
        return not self.problem


def _sounddevice() -> Any:
    """The sounddevice module; MicError when PortAudio does not load (sounddevice raises OSError on import)."""
    try:
        import sounddevice
    except OSError as exc:
        log.info("PortAudio does not load: %s", exc)
        raise MicError(NO_PORTAUDIO) from exc
    return sounddevice


def mic_status(*, refresh: bool = False) -> MicStatus:
    """Whether PortAudio loads and which input devices it sees (the default one marked).

    ``refresh`` restarts PortAudio first, to see a microphone plugged in since (only with no stream open).
    """
    try:
        sd = _sounddevice()
    except MicError as exc:
        return MicStatus("", (), str(exc))
    if refresh:
        sd._terminate()
        sd._initialize()
    version = str(sd.get_portaudio_version()[1])
    try:
        default = sd.default.device[0]
        devices = tuple(
            InputDevice(i, str(d["name"]), int(d["max_input_channels"]), float(d["default_samplerate"]), i == default)
            for i, d in enumerate(sd.query_devices())
            if int(d["max_input_channels"]) > 0
        )
    except Exception as exc:  # PortAudioError when the host API cannot be queried
        log.info("no input devices: %s", exc)
        devices = ()
    return MicStatus(version, devices, "" if devices else NO_INPUT)


@dataclass(frozen=True)
class Recording:
    """What the microphone heard: mono float32 at the device's rate."""

    samples: np.ndarray
    sample_rate: int
    limit_reached: bool
    stop_s: float  # how long closing the stream took (the latency budget's first step)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0


class Recorder:
    """One push-to-talk recording at a time. ``level`` and ``elapsed_s`` may be read from any thread."""

    def __init__(self, *, max_s: float = MAX_CLIP_SECONDS, device: int | str | None = None) -> None:
        self.max_s = max_s
        self.device = device
        self._lock = threading.Lock()
        self._blocks: list[np.ndarray] = []
        self._frames = 0
        self._stream: Any = None
        self._rate = 0
        self.level = 0.0  # RMS of the last block, 0 … 1
        self.peak = 0.0
        self.limit_reached = False

    @property
    def recording(self) -> bool:
        return self._stream is not None

    @property
    def listening(self) -> bool:
        """Audio is arriving (some hosts take a moment after ``start()`` before the first block)."""
        return self._frames > 0

    @property
    def elapsed_s(self) -> float:
        return self._frames / self._rate if self._rate else 0.0

    def start(self) -> None:
        """Open the input stream and start recording (MicError with the reason when it cannot)."""
        if self._stream is not None:
            raise MicError("A recording is already running: release the button to finish it first.")
        sd = _sounddevice()
        try:
            info = sd.query_devices(self.device, kind="input")
        except Exception as exc:
            raise MicError(NO_INPUT) from exc
        rate = round(float(info["default_samplerate"]) or 48000)
        self._blocks, self._frames, self._rate = [], 0, rate
        self.level = self.peak = 0.0
        self.limit_reached = False
        try:
            stream = sd.InputStream(
                device=self.device,
                channels=1,
                samplerate=rate,
                dtype="float32",
                callback=self._callback,
            )
            stream.start()
        except Exception as exc:  # PortAudioError: busy, unplugged, refused
            raise MicError(f"The microphone ({info['name']}) could not be opened: {exc}") from exc
        self._stream = stream

    def _callback(self, indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        if status:
            log.debug("input stream: %s", status)
        if self.limit_reached:
            return
        block = indata[:, 0].copy()
        room = int(self.max_s * self._rate) - self._frames
        if frames >= room:
            block = block[: max(0, room)]
            self.limit_reached = True
        with self._lock:
            self._blocks.append(block)
            self._frames += len(block)
        if len(block):
            self.level = float(np.sqrt(np.mean(block * block)))
            self.peak = max(self.peak, float(np.max(np.abs(block))))

    def stop(self) -> Recording:
        """Close the stream and return what was recorded (may take a moment: call it off the GUI thread)."""
        t0 = time.perf_counter()
        self._close()
        with self._lock:
            samples = np.concatenate(self._blocks) if self._blocks else np.zeros(0, dtype=np.float32)
            self._blocks = []
        return Recording(samples, self._rate, self.limit_reached, time.perf_counter() - t0)

    def cancel(self) -> None:
        """Stop and forget the recording."""
        self._close()
        with self._lock:
            self._blocks = []
            self._frames = 0

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()  # abort() is quicker but leaves ALSA's PulseAudio plugin deaf for the next stream
            finally:
                stream.close()


def finish(recording: Recording, wav_path: Path, *, name: str = "recording") -> AudioInput:
    """16 kHz mono for the model, written to ``wav_path`` (PCM 16-bit); MicError when too short or silent."""
    if recording.duration_s < MIN_SECONDS:
        raise TooShort("Hold the microphone button while you speak, then let go.")
    audio = audio_from_samples(recording.samples, recording.sample_rate, name=name)
    if audio.silent:
        raise SilentRecording(
            "Nothing was heard: the recording is silent, so it was not sent. "
            "Check that the microphone is connected, not muted, and chosen as the input in the system's sound settings."
        )
    samples = np.concatenate([clip.samples for clip in audio.clips])
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = wav_path.with_name(wav_path.name + ".tmp")
    try:
        sf.write(str(tmp), samples, AUDIO_SAMPLE_RATE, subtype="PCM_16", format="WAV")
        tmp.replace(wav_path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise MicError(f"The recording could not be saved ({exc.strerror or exc}).") from exc
    return audio
