"""Media intake: the user's pictures, sound files, recordings and videos, turned into what the model engine takes.

Pure decoding (Pillow, soundfile, soxr, OpenCV): no Qt and no llama.cpp, so it runs and is tested without a screen.
Every bad input raises MediaError, whose text is one line a user can act on.
"""

from __future__ import annotations

from app.media.audio import (
    AUDIO_SAMPLE_RATE,
    MAX_CLIP_SECONDS,
    MAX_RECORDING_SECONDS,
    SILENCE_DBFS,
    AudioClip,
    AudioInput,
    audio_from_samples,
    load_audio,
)
from app.media.errors import MediaError
from app.media.images import (
    DEFAULT_MAX_SIDE,
    MAX_IMAGE_PIXELS,
    ImageInput,
    image_from_array,
    image_to_png_bytes,
    load_image,
)
from app.media.video import MAX_VIDEO_SECONDS, VideoFrames, load_video

__all__ = [
    "AUDIO_SAMPLE_RATE",
    "DEFAULT_MAX_SIDE",
    "MAX_CLIP_SECONDS",
    "MAX_IMAGE_PIXELS",
    "MAX_RECORDING_SECONDS",
    "MAX_VIDEO_SECONDS",
    "SILENCE_DBFS",
    "AudioClip",
    "AudioInput",
    "ImageInput",
    "MediaError",
    "VideoFrames",
    "audio_from_samples",
    "image_from_array",
    "image_to_png_bytes",
    "load_audio",
    "load_image",
    "load_video",
]
