"""PDF documents (placeholder until the PDF reader lands)."""

from __future__ import annotations

from pathlib import Path

from app.media.documents.model import Document, PageChoice
from app.media.errors import MediaError


def read_pdf(path: Path, *, name: str, choice: PageChoice) -> Document:
    raise MediaError(f"{name}: PDF files cannot be read yet.")
