"""What to download (``DownloadSpec``: address, destination, expected size and hash) and how (``DownloadOptions``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DownloadSpec:
    url: str
    dest: Path
    size: int | None = None  # bytes, from the catalog
    sha256: str | None = None  # hex, from the catalog
    label: str = ""  # shown in progress; the file name when empty

    @property
    def name(self) -> str:
        return self.label or self.dest.name


@dataclass(frozen=True)
class DownloadOptions:
    """How to download: the same for every file of a ``download_many``.

    ``token`` is the Hugging Face token (the app passes its setting; ``HF_TOKEN``
    is never read). ``retries`` counts consecutive failed attempts that brought
    no new bytes; ``chunk`` is the read and hashing size (at least 4096).
    """

    token: str | None = None
    timeout_s: float = 30
    retries: int = 5
    chunk: int = 1 << 20


def already_there(spec: DownloadSpec) -> bool:
    """``dest`` exists with the catalog's size (any size when none is known)."""
    return spec.dest.is_file() and (spec.size is None or spec.dest.stat().st_size == spec.size)
