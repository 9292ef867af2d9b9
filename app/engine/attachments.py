"""Message parts from decoded media: a picture, an audio recording, a video's frames, a document."""

from __future__ import annotations

import re

from app.engine.prompt import Part
from app.media import AudioInput, ImageInput, VideoFrames
from app.media.documents import Document


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


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029`]")


def fence_for(text: str) -> str:
    """A Markdown fence longer than any run of backticks in ``text``, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def document_heading(document: Document) -> str:
    """ "notes.pdf (PDF, pages 1-3 of 10)": the file's name (control characters and backticks taken out)."""
    name = _CONTROL.sub(" ", document.name).strip() or "document"
    what = document.kind
    if document.section_count > 1:
        unit = document.unit
        chosen = len(document.sections)
        if chosen == document.section_count:
            what += f", {chosen:,} {unit}s"
        else:
            what += f", {chosen:,} of {document.section_count:,} {unit}s"
    return f"{name} ({what})"


def document_parts(document: Document) -> list[Part]:
    """A document as the model reads it: its text as one fenced block headed by its name (the text part
    carries the document's id, so it can be measured), then each page sent as a picture after its label."""
    heading = document_heading(document)
    parts: list[Part] = []
    text = document.text
    if text.strip() or not document.pictures:
        fence = fence_for(text)
        block = f"{heading}:\n{fence}{document.language}\n{text.rstrip()}\n{fence}\n"
        parts.append(Part("text", block, media_id=document.media_id))
    for section in document.pictures:
        assert section.image is not None
        label = section.label or f"{document.unit.capitalize()} {section.number}"
        parts.append(Part("text", f"{label} of {heading}, as a picture:\n"))
        parts.append(image_part(section.image))
        parts.append(Part("text", "\n"))
    return parts


def parts_for(payload: ImageInput | AudioInput | VideoFrames | Document) -> list[Part]:
    """The message parts of any decoded media or document."""
    if isinstance(payload, ImageInput):
        return [image_part(payload)]
    if isinstance(payload, AudioInput):
        return audio_parts(payload)
    if isinstance(payload, Document):
        return document_parts(payload)
    return video_parts(payload)
