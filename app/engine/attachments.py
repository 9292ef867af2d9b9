"""Message parts from decoded media: a picture, an audio recording, a video's frames."""

from __future__ import annotations

from app.engine.prompt import Part
from app.media import AudioInput, ImageInput, VideoFrames


def image_part(image: ImageInput) -> Part:
    return Part("image", media_id=image.media_id, payload=image)


def audio_parts(audio: AudioInput) -> list[Part]:
    """One part per ≤ 30 s clip, in order (Gemma 4 hears at most 30 s per part)."""
    return [Part("audio", media_id=clip.media_id, payload=clip) for clip in audio.clips]


def _timestamp(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"


def video_parts(video: VideoFrames) -> list[Part]:
    """A video as its sampled frames, each after its timestamp (how Gemma 4 reads video)."""
    parts: list[Part] = []
    for frame, t in zip(video.frames, video.timestamps_s, strict=True):
        parts.append(Part("text", f"{_timestamp(t)} "))
        parts.append(image_part(frame))
        parts.append(Part("text", "\n"))
    return parts


def parts_for(payload: ImageInput | AudioInput | VideoFrames) -> list[Part]:
    """The message parts of any decoded media."""
    if isinstance(payload, ImageInput):
        return [image_part(payload)]
    if isinstance(payload, AudioInput):
        return audio_parts(payload)
    return video_parts(payload)
