"""Word, PowerPoint and Excel documents (placeholder until the Office readers land)."""

from __future__ import annotations

from pathlib import Path

from app.media.documents.model import Document, PageChoice
from app.media.errors import MediaError


def read_office(path: Path, *, name: str, choice: PageChoice) -> Document:
    raise MediaError(f"{name}: Office files cannot be read yet.")
