"""Checking a download: SHA-256 of a file, a finished ``.part`` against the catalog, and ``verify_file``.

Without a catalog SHA-256 only the size can be checked; the callers say which
(``verified`` in the final ``Progress``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from app.models.download.errors import DownloadError
from app.models.download.progress import ProgressCallback, Reporter
from app.units import format_size


def hash_file(
    path: Path,
    *,
    limit: int | None = None,
    chunk: int = 1 << 20,
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], None] | None = None,
) -> tuple[hashlib._Hash, int]:
    """SHA-256 of the first ``limit`` bytes of ``path`` (all of it when None) and the count hashed.

    ``on_progress`` gets the bytes hashed so far after each chunk; ``should_stop``
    is called between chunks and may raise to abandon the work.
    """
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb", buffering=0) as f:
        while limit is None or done < limit:
            if should_stop is not None:
                should_stop()
            want = chunk if limit is None else min(chunk, limit - done)
            data = f.read(want)
            if not data:
                break
            digest.update(data)
            done += len(data)
            if on_progress is not None:
                on_progress(done)
    return digest, done


def damage(name: str, size: int, sha256: str, *, expected_size: int | None, expected_sha256: str | None) -> str | None:
    """Why a downloaded ``.part`` of ``size`` bytes and hash ``sha256`` is not the catalog's file; None when it is."""
    if expected_size is not None and size != expected_size:
        return (
            f"{name} is damaged: it is {format_size(size)} instead of "
            f"{format_size(expected_size)}; it was deleted. Try again."
        )
    if expected_sha256 is not None and sha256 != expected_sha256.strip().lower():
        return f"{name} is damaged: its checksum does not match the catalog; it was deleted. Try again."
    return None


def verify_file(path: Path, sha256: str | None, size: int | None, progress: ProgressCallback | None = None) -> bool:
    """Check a downloaded file against the catalog; True when the SHA-256 was checked, False when only the size.

    Raises DownloadError when it does not match (the file is left alone: the user decides).
    """
    reporter = Reporter(path.name, progress)
    try:
        actual = path.stat().st_size
    except OSError as exc:
        raise DownloadError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    reporter.total = actual
    if size is not None and actual != size:
        reporter.emit("failed", 0)
        raise DownloadError(
            f"{path.name} is damaged: it is {format_size(actual)} instead of {format_size(size)}. Download it again."
        )
    if sha256 is None:
        reporter.emit("done", actual, verified=False)
        return False
    reporter.emit("verifying", 0)
    try:
        digest, _ = hash_file(path, on_progress=lambda n: reporter.emit("verifying", n))
    except OSError as exc:
        reporter.emit("failed", 0)
        raise DownloadError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    if digest.hexdigest() != sha256.strip().lower():
        reporter.emit("failed", actual)
        raise DownloadError(f"{path.name} is damaged: its checksum does not match the catalog. Download it again.")
    reporter.emit("done", actual, verified=True)
    return True
