"""Audio intake against real files written by soundfile, and raw samples as a microphone would give them."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.media import (
    AUDIO_SAMPLE_RATE,
    MAX_CLIP_SECONDS,
    AudioInput,
    MediaError,
    audio_from_samples,
    load_audio,
)
from app.media.audio import MIN_CLIP_SECONDS


def _tone(seconds: float, rate: int, hz: float = 440.0, level: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _dominant_hz(samples: np.ndarray, rate: int = AUDIO_SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def _all_samples(audio: AudioInput) -> np.ndarray:
    return np.concatenate([clip.samples for clip in audio.clips])


# --- what comes out ------------------------------------------------------------------------------------------


def test_stereo_48k_wav_is_resampled_to_16k_mono(tmp_path: Path) -> None:
    tone = _tone(1.0, 48_000)
    path = tmp_path / "tone.wav"
    sf.write(path, np.stack([tone, tone], axis=1), 48_000, subtype="PCM_16")

    audio = load_audio(path)

    assert len(audio.clips) == 1
    samples = audio.clips[0].samples
    assert samples.dtype == np.float32 and samples.ndim == 1 and samples.flags.c_contiguous
    assert abs(len(samples) - 16_000) <= 1
    assert abs(_dominant_hz(samples) - 440.0) <= 2.0
    assert 0.45 < float(np.abs(samples).max()) <= 0.51
    assert audio.duration_s == pytest.approx(1.0)
    assert audio.source_name == "tone.wav" and not audio.silent


@pytest.mark.parametrize(
    ("ext", "fmt", "subtype"),
    [
        ("wav", "WAV", "PCM_24"),
        ("wav", "WAV", "FLOAT"),
        ("flac", "FLAC", "PCM_16"),
        ("ogg", "OGG", "VORBIS"),
        ("mp3", "MP3", "MPEG_LAYER_III"),
    ],
)
def test_common_formats_decode_to_the_same_tone(tmp_path: Path, ext: str, fmt: str, subtype: str) -> None:
    path = tmp_path / f"voice.{ext}"
    sf.write(path, _tone(2.0, 44_100, hz=1000.0), 44_100, format=fmt, subtype=subtype)

    audio = load_audio(path)

    samples = _all_samples(audio)
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)  # MP3 adds encoder padding
    assert abs(_dominant_hz(samples) - 1000.0) <= 3.0
    assert float(np.abs(samples).max()) <= 1.0


def test_float_wav_louder_than_full_scale_is_clipped(tmp_path: Path) -> None:
    path = tmp_path / "hot.wav"
    sf.write(path, _tone(0.5, 16_000, level=3.0), 16_000, subtype="FLOAT")
    samples = load_audio(path).clips[0].samples
    assert float(samples.max()) == 1.0 and float(samples.min()) == -1.0


def test_long_recording_is_split_at_a_quiet_moment(tmp_path: Path) -> None:
    rate = 16_000
    rng = np.random.default_rng(0)
    speech = (0.3 * rng.standard_normal(75 * rate)).astype(np.float32)
    speech[int(28.6 * rate) : int(28.9 * rate)] = 0.0  # a pause shortly before the 30 s boundary
    path = tmp_path / "lecture.flac"
    sf.write(path, speech, rate)

    audio = load_audio(path)

    assert audio.duration_s == pytest.approx(75.0)
    assert len(audio.clips) == 3
    assert all(clip.duration_s <= MAX_CLIP_SECONDS for clip in audio.clips)
    assert 28.6 <= audio.clips[1].start_s <= 28.9  # the first cut falls in the pause
    for before, after in zip(audio.clips, audio.clips[1:], strict=False):
        assert after.start_s == pytest.approx(before.start_s + before.duration_s)
    assert len(_all_samples(audio)) == 75 * rate
    assert len({clip.media_id for clip in audio.clips}) == 3


def test_silence_is_split_into_full_length_parts() -> None:
    audio = audio_from_samples(np.zeros(65 * 8_000, dtype=np.int16), 8_000)
    assert [round(clip.duration_s) for clip in audio.clips] == [30, 30, 5]
    assert audio.silent


def test_quiet_recordings_are_flagged_silent() -> None:
    assert audio_from_samples(_tone(1.0, 16_000, level=10 ** (-60 / 20)), 16_000).silent
    assert not audio_from_samples(_tone(1.0, 16_000, level=10 ** (-30 / 20)), 16_000).silent


def test_microphone_samples_any_rate_and_layout() -> None:
    tone = _tone(1.5, 44_100, hz=500.0)
    stereo_int16 = (np.stack([tone, tone], axis=1) * 32767).astype(np.int16)
    from_int = audio_from_samples(stereo_int16, 44_100)
    from_float = audio_from_samples(tone, 44_100, name="memo")

    for audio in (from_int, from_float):
        assert audio.duration_s == pytest.approx(1.5)
        assert abs(len(audio.clips[0].samples) - 24_000) <= 1
        assert abs(_dominant_hz(audio.clips[0].samples) - 500.0) <= 2.0
    assert from_int.source_name == "recording" and from_float.source_name == "memo"
    with pytest.raises(ValueError, match=r"^sample_rate must be positive, not 0$"):
        audio_from_samples(tone, 0)
    with pytest.raises(
        ValueError, match=r"^expected samples of shape \(frames,\) or \(frames, channels\), got \(2, 2, 2\)$"
    ):
        audio_from_samples(np.zeros((2, 2, 2), dtype=np.float32), 16_000)


def test_same_sound_has_same_id_whatever_the_file(tmp_path: Path) -> None:
    tone = _tone(1.0, 16_000)
    sf.write(tmp_path / "a.wav", tone, 16_000, subtype="FLOAT")
    sf.write(tmp_path / "b.flac", tone, 16_000, subtype="PCM_24")
    a, b = load_audio(tmp_path / "a.wav"), load_audio((tmp_path / "a.wav").read_bytes(), name="pasted.wav")
    assert a.clips[0].media_id == b.clips[0].media_id
    assert load_audio(tmp_path / "b.flac").clips[0].media_id != a.clips[0].media_id  # 24-bit rounding
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        a.clips[0].samples[0] = 0.0


def test_five_minute_recording_loads_in_a_few_seconds(tmp_path: Path) -> None:
    path = tmp_path / "meeting.wav"
    noise = (np.random.default_rng(2).standard_normal(299 * 48_000) * 3000).astype(np.int16)
    sf.write(path, noise, 48_000, subtype="PCM_16")

    started = time.perf_counter()
    audio = load_audio(path)
    elapsed = time.perf_counter() - started

    assert audio.duration_s == pytest.approx(299.0)
    assert all(28.0 <= clip.duration_s <= MAX_CLIP_SECONDS for clip in audio.clips[:-1])  # cuts near each 30 s
    assert len(_all_samples(audio)) == 299 * AUDIO_SAMPLE_RATE
    assert elapsed < 10.0, f"took {elapsed:.1f} s"


# --- what a user is told -----------------------------------------------------------------------------------


def test_ten_minute_recording_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "talk.wav"
    sf.write(path, np.zeros(600 * 8_000, dtype=np.int16), 8_000, subtype="PCM_16")

    started = time.perf_counter()
    with pytest.raises(
        MediaError, match=r"^talk\.wav is 10:00 long; Gemma listens to at most 5:00 per message"
    ) as error:
        load_audio(path)
    assert time.perf_counter() - started < 1.0
    assert str(error.value) == (
        "talk.wav is 10:00 long; Gemma listens to at most 5:00 per message — trim it or split it."
    )


def test_too_long_microphone_recording_is_refused() -> None:
    with pytest.raises(MediaError, match=r"^The recording is 6:00 long; Gemma listens to at most 5:00"):
        audio_from_samples(np.zeros(360 * 8_000, dtype=np.float32), 8_000)


def test_empty_inputs(tmp_path: Path) -> None:
    (tmp_path / "blank.wav").write_bytes(b"")
    with pytest.raises(MediaError, match=r"^blank.wav is empty"):
        load_audio(tmp_path / "blank.wav")
    sf.write(tmp_path / "nothing.wav", np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(MediaError, match=r"^nothing.wav contains no sound"):
        load_audio(tmp_path / "nothing.wav")
    with pytest.raises(MediaError, match=r"^The recording contains no sound"):
        audio_from_samples(np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(MediaError, match=r"^gone.mp3 was not found"):
        load_audio(tmp_path / "gone.mp3")


def test_web_page_saved_as_mp3_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    path.write_text("<!doctype html>\n<html><body><h1>403 Forbidden</h1></body></html>\n")
    with pytest.raises(MediaError, match=r"^song\.mp3 is not an audio file \(it looks like a web page\)\.$") as error:
        load_audio(path)
    assert str(error.value) == "song.mp3 is not an audio file (it looks like a web page)."


@pytest.mark.parametrize(
    ("ext", "fmt"), [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("rf64", "RF64"), ("w64", "W64")]
)
def test_truncated_files_are_damaged_or_incomplete(tmp_path: Path, ext: str, fmt: str) -> None:
    whole = tmp_path / f"whole.{ext}"
    sf.write(whole, _tone(3.0, 16_000), 16_000, format=fmt)
    assert load_audio(whole).duration_s == pytest.approx(3.0)  # the whole file loads
    data = whole.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=rf"^cut\.{ext} is damaged or incomplete\.$") as error:
        load_audio(cut)
    assert str(error.value) == f"cut.{ext} is damaged or incomplete."


def test_other_files_say_what_they_are(tmp_path: Path) -> None:
    m4a = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 200
    with pytest.raises(MediaError, match=r"^voice.m4a is an MP4, MOV or M4A file, .* convert it to WAV, MP3, FLAC"):
        load_audio(m4a, name="voice.m4a")
    with pytest.raises(MediaError, match=r"^notes.wav is not an audio file \(it looks like text\)\.$"):
        load_audio(b"shopping list: eggs, milk\n" * 10, name="notes.wav")
    with pytest.raises(MediaError, match=r"^blob.ogg is not an audio file Gemma Desk can read; use WAV, MP3"):
        load_audio(b"\x01\x02" + bytes(np.random.default_rng(3).integers(0, 256, 600, dtype=np.uint8)), name="blob.ogg")


def test_truncated_rf64_is_refused_like_a_truncated_riff(tmp_path: Path) -> None:
    """RF64 keeps its real sizes in a ds64 chunk (the RIFF fields say 0xFFFFFFFF): a cut file must still be caught."""
    tone = _tone(3.0, 48_000)
    for fmt in ("WAV", "RF64"):
        whole = tmp_path / f"whole-{fmt}.wav"
        sf.write(whole, tone, 48_000, format=fmt)
        cut = tmp_path / f"{fmt.lower()} take.wav"
        cut.write_bytes(whole.read_bytes()[:-40_000])  # most of it, so only the sizes tell
        with pytest.raises(MediaError, match=rf"^{fmt.lower()} take.wav is damaged or incomplete\.$"):
            load_audio(cut)


def test_a_recording_just_over_30_s_leaves_no_part_too_short_to_hear() -> None:
    """A cut near the end of a 30.02 s recording would leave a sliver the engine refuses as too short."""
    rate = AUDIO_SAMPLE_RATE
    t = np.arange(int(30.02 * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    tone[int(29.99 * rate) :] = 0.0  # the quietest place is at the very end
    clips = audio_from_samples(tone, rate).clips
    assert all(len(c.samples) >= int(MIN_CLIP_SECONDS * rate) for c in clips)
    assert sum(len(c.samples) for c in clips) >= len(tone) - int(MIN_CLIP_SECONDS * rate)
