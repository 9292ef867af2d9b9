"""Intake: what a dropped, picked or pasted file, or a finished recording, becomes before it is sent.

A ``PendingAttachment`` is typed and Qt-free: its kind, name, where its bytes come from, its size, the
decoded media (``payload``), a one-line summary for its chip and the notes the user should hear. The
window shows chips and refusals from it; the conversation core (``app.chat``) stores it and turns its
payload into the engine's message parts (``app.engine.attachments.parts_for``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.media.audio import AudioInput
from app.media.images import ImageInput
from app.media.video import VideoFrames

AttachmentKind = Literal["image", "audio", "video"]
Payload = ImageInput | AudioInput | VideoFrames


@dataclass(frozen=True)
class PendingAttachment:
    """A decoded attachment waiting to be sent."""

    kind: AttachmentKind
    name: str  # file name shown
    source_path: Path | None  # None for pasted pictures
    data: bytes | None  # the original bytes of a pasted picture (PNG), else None
    size: int  # bytes of the source (0 when unknown)
    payload: Payload  # the decoded media
    summary: str  # e.g. "1.2 MB · 1920×1080", "0:42", "12 frames"
    notes: tuple[str, ...] = ()  # things the user should hear about (a silent recording, a video cut short)

    @property
    def media_id(self) -> str:
        """The content ids of its media: two attachments with the same id hold the same media."""
        payload = self.payload
        if isinstance(payload, ImageInput):
            return payload.media_id
        if isinstance(payload, AudioInput):
            return "+".join(clip.media_id for clip in payload.clips)
        return "+".join(frame.media_id for frame in payload.frames)
