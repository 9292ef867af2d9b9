"""Text-like documents (placeholder until the text reader lands)."""

from __future__ import annotations

from pathlib import Path

from app.media.documents.model import Document
from app.media.errors import MediaError


def read_text_file(path: Path, *, name: str) -> Document:
    raise MediaError(f"{name}: text files cannot be read yet.")
