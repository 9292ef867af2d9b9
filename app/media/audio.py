"""Audio intake: a sound file or microphone samples → 16 kHz mono float32 clips of at most 30 s for Gemma's encoder."""

from __future__ import annotations

import hashlib
import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from app.media.errors import MediaError, open_source, read_head, sniff, stream_size, subject
from app.units import format_duration

AUDIO_SAMPLE_RATE = 16_000
#: Gemma 4 takes at most 30 s per audio part; longer recordings are split into consecutive parts.
MAX_CLIP_SECONDS = 30.0
#: The shortest part the audio encoder is given: 0.1 s holds no word (and under two samples llama.cpp aborts).
MIN_CLIP_SECONDS = 0.1
#: Longer recordings are refused (with a message saying so) rather than silently cut.
MAX_RECORDING_SECONDS = 300.0
#: A recording whose loudest sample is below this level is reported as silent.
SILENCE_DBFS = -50.0

_SILENCE_PEAK = 10.0 ** (SILENCE_DBFS / 20.0)
_CUT_SEARCH_SECONDS = 2.0  # look this far back from each 30 s boundary for a quiet place to cut
_CUT_FRAME = AUDIO_SAMPLE_RATE // 50  # 20 ms: loudness is compared frame by frame
_READ_BLOCK = 1 << 18  # frames decoded at a time, so a long file is downmixed as it is read
_FORMATS = "WAV, MP3, FLAC or OGG"
# Sony Wave64 names its chunks with GUIDs whose first four bytes spell the RIFF names.
_W64_RIFF = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"
_W64_WAVE = b"wave\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"
_W64_DATA = b"data\xf3\xac\xd3\x11\x8c\xd1\x00\xc0\x4f\x8e\xdb\x8a"
_INT_SCALES = {np.dtype(np.int8): 128.0, np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


@dataclass(frozen=True, eq=False)
class AudioClip:
    """One part (≤ 30 s) of a recording, ready for the audio encoder. Compare clips by ``media_id``."""

    samples: np.ndarray  # float32 mono 16 kHz, C-contiguous, in [-1, 1], read-only
    media_id: str  # sha256 of the samples' bytes
    start_s: float  # where this part starts in the original recording
    source_name: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / AUDIO_SAMPLE_RATE


@dataclass(frozen=True, eq=False)
class AudioInput:
    """A whole recording as consecutive clips, in order."""

    clips: tuple[AudioClip, ...]
    duration_s: float
    source_name: str
    silent: bool  # loudest sample below SILENCE_DBFS: the caller may warn that the recording is silent


def load_audio(source: str | os.PathLike[str] | bytes, *, name: str = "") -> AudioInput:
    """Decode a WAV (any bit depth, rate, channels), FLAC, OGG/Vorbis or MP3 file, or its bytes.

    The length is checked from the header before the audio is decoded. Every failure is a MediaError.
    """
    stream, label = open_source(source, name)
    with stream:
        mono, rate = _decode(stream, label)
    return _prepare(mono, rate, label, subject(label))


def audio_from_samples(samples: np.ndarray, sample_rate: int, *, name: str = "recording") -> AudioInput:
    """Wrap raw samples (e.g. from the microphone): any rate, mono or (frames, channels), float or int PCM.

    Raises ValueError for a shape, type or rate no caller should pass; MediaError for what a user caused.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, not {sample_rate}")
    # A bare word names what the samples are ("The recording …"); a file name is used as it is.
    who = name if Path(name).suffix or " " in name else f"The {name or 'recording'}"
    return _prepare(_to_mono(np.asarray(samples)), int(sample_rate), name, who)


def _decode(stream: BinaryIO, label: str) -> tuple[np.ndarray, int]:
    """Decode to float32 mono at the file's own rate, refusing over-long files before decoding them."""
    who = subject(label)
    head = read_head(stream)
    size = stream_size(stream)
    try:
        sound = sf.SoundFile(stream)
    except Exception:  # libsndfile reports unknown, unsupported and malformed files alike
        raise MediaError(_unreadable_message(who, head)) from None
    with sound:
        rate, declared = int(sound.samplerate), int(sound.frames)
        if rate <= 0:
            raise MediaError(f"{who} is damaged or incomplete.")
        if declared > 0:
            _check_length(declared / rate, who)
        if _wav_is_truncated(head, size):
            raise MediaError(f"{who} is damaged or incomplete.")
        limit = int(MAX_RECORDING_SECONDS * rate) + rate
        parts: list[np.ndarray] = []
        total = 0
        try:
            while len(chunk := sound.read(_READ_BLOCK, dtype="float32", always_2d=True)):
                parts.append(chunk.mean(axis=1, dtype=np.float32) if chunk.shape[1] > 1 else chunk[:, 0].copy())
                total += len(chunk)
                if total > limit:
                    raise MediaError(_too_long_message(who, None))
        except MediaError:
            raise
        except Exception:
            raise MediaError(f"{who} is damaged or incomplete.") from None
        # libsndfile's MP3 length is an estimate; other formats state theirs exactly.
        if sound.format != "MP3" and 0 < declared < 1 << 62 and total < declared - rate // 100:
            raise MediaError(f"{who} is damaged or incomplete.")
    mono = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return mono, rate


def _to_mono(samples: np.ndarray) -> np.ndarray:
    """Float32 mono from float or integer PCM, 1-D or (frames, channels)."""
    if samples.ndim not in (1, 2) or (samples.ndim == 2 and samples.shape[1] == 0):
        raise ValueError(f"expected samples of shape (frames,) or (frames, channels), got {samples.shape}")
    if samples.dtype.kind == "f":
        values = samples.astype(np.float32)
    elif samples.dtype in _INT_SCALES:
        values = (samples / _INT_SCALES[samples.dtype]).astype(np.float32)
    elif samples.dtype == np.uint8:
        values = ((samples.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    else:
        raise ValueError(f"unsupported sample type {samples.dtype}")
    return values.mean(axis=1, dtype=np.float32) if values.ndim == 2 else values


def _prepare(mono: np.ndarray, rate: int, label: str, who: str) -> AudioInput:
    """Check the length, resample to 16 kHz, measure the peak and split into clips; ``who`` names it in messages."""
    if len(mono) == 0:
        raise MediaError(f"{who} contains no sound (it is 0 seconds long).")
    duration = len(mono) / rate
    _check_length(duration, who)
    if not np.isfinite(mono).all():
        mono = np.nan_to_num(mono, nan=0.0, posinf=1.0, neginf=-1.0)
    if rate != AUDIO_SAMPLE_RATE:
        mono = soxr.resample(mono, rate, AUDIO_SAMPLE_RATE, quality="HQ")
    audio = np.ascontiguousarray(np.clip(mono, -1.0, 1.0), dtype=np.float32)
    if len(audio) == 0:
        raise MediaError(f"{who} is too short to hear.")
    audio.flags.writeable = False
    silent = float(np.abs(audio).max()) < _SILENCE_PEAK
    cuts = _cut_points(audio)
    clips = tuple(_clip(audio[start:end], start, label) for start, end in itertools.pairwise(cuts))
    return AudioInput(clips=clips, duration_s=duration, source_name=label, silent=silent)


def _clip(samples: np.ndarray, start: int, label: str) -> AudioClip:
    media_id = hashlib.sha256(samples.data).hexdigest()
    return AudioClip(samples=samples, media_id=media_id, start_s=start / AUDIO_SAMPLE_RATE, source_name=label)


def _cut_points(audio: np.ndarray) -> list[int]:
    """Sample indices [0, …, len] splitting the audio into parts of at most MAX_CLIP_SECONDS.

    Each cut falls in the middle of the quietest 20 ms within the last 2 s before the 30 s boundary
    (the latest such place on a tie), so words are not cut mid-syllable.
    """
    longest = int(MAX_CLIP_SECONDS * AUDIO_SAMPLE_RATE)
    search = int(_CUT_SEARCH_SECONDS * AUDIO_SAMPLE_RATE)
    cuts = [0]
    while len(audio) - cuts[-1] > longest:
        end = cuts[-1] + longest
        window = audio[end - search : end].astype(np.float64)
        count = len(window) // _CUT_FRAME
        energy = np.square(window[: count * _CUT_FRAME]).reshape(count, _CUT_FRAME).mean(axis=1)
        quietest = count - 1 - int(np.argmin(energy[::-1]))
        cuts.append(end - search + quietest * _CUT_FRAME + _CUT_FRAME // 2)
    if len(cuts) == 1 or len(audio) - cuts[-1] >= int(MIN_CLIP_SECONDS * AUDIO_SAMPLE_RATE):
        cuts.append(len(audio))
    # else: a tail under 0.1 s after the last cut (a quiet place) is left out rather than sent as a part
    # the encoder would refuse.
    return cuts


def _check_length(seconds: float, who: str) -> None:
    if seconds > MAX_RECORDING_SECONDS:
        raise MediaError(_too_long_message(who, seconds))


def _too_long_message(who: str, seconds: float | None) -> str:
    limit = format_duration(MAX_RECORDING_SECONDS)
    length = f"is {format_duration(seconds)} long" if seconds is not None else f"is longer than {limit}"
    return f"{who} {length}; Gemma listens to at most {limit} per message — trim it or split it."


def _unreadable_message(who: str, head: bytes) -> str:
    found = sniff(head)
    if found is None:
        return f"{who} is not an audio file Gemma Desk can read; use {_FORMATS}."
    if found.family == "audio":
        return f"{who} is damaged or incomplete."
    if found.family == "video":
        return f"{who} is {found.kind}, which Gemma Desk cannot read as audio; convert it to {_FORMATS}."
    return f"{who} is not an audio file (it looks like {found.kind})."


def _wav_is_truncated(head: bytes, size: int) -> bool:
    """True when a WAV's data chunk says it holds more bytes than the file has (libsndfile quietly reads less).

    Covers RIFF WAV, its 64-bit forms RF64 and BW64 (the real sizes are in a ``ds64`` chunk), and Sony Wave64.
    """
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        declared = _riff_data_end(head)
    elif head[:16] == _W64_RIFF and head[24:40] == _W64_WAVE:
        declared = _w64_data_end(head)
    else:
        return False
    return declared is not None and declared > size


def _riff_data_end(head: bytes) -> int | None:
    """Where a RIFF or RF64 file's data chunk says it ends, or None when unknown (or not within the head)."""
    position, long_size = 12, 0
    while position + 8 <= len(head):
        chunk, length = head[position : position + 4], int.from_bytes(head[position + 4 : position + 8], "little")
        if chunk == b"ds64" and position + 24 <= len(head):
            long_size = int.from_bytes(head[position + 16 : position + 24], "little")  # after the RIFF size
        if chunk == b"data":
            if length == 0xFFFFFFFF and head[:4] != b"RIFF":
                length = long_size
            # 0 and 0xFFFFFFFF are placeholders written by streaming recorders that never went back to fix them.
            return None if length in (0, 0xFFFFFFFF) else position + 8 + length
        position += 8 + length + (length & 1)
    return None


def _w64_data_end(head: bytes) -> int | None:
    """Where a Wave64 file's data chunk says it ends (its sizes count the 24-byte chunk header, chunks 8-aligned)."""
    position = 40
    while position + 24 <= len(head):
        guid, length = head[position : position + 16], int.from_bytes(head[position + 16 : position + 24], "little")
        if length < 24:
            return None  # a broken chunk size: leave it to libsndfile
        if guid == _W64_DATA:
            return position + length
        position += (length + 7) // 8 * 8
    return None
