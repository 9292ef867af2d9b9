"""What a download raises: ``DownloadError`` (one line a user can act on), pause and cancel, failed writes."""

from __future__ import annotations

import errno
from pathlib import Path

#: Write errors that mean "the disk (or the user's quota) is full".
NO_SPACE_ERRNOS = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if code is not None)


class DownloadError(Exception):
    """A download failed; ``str()`` is one line a user can act on."""


class DownloadCancelled(DownloadError):
    """The user cancelled; the partial file was deleted."""


class DownloadPaused(DownloadError):
    """The user paused; the partial file was kept and the next ``download()`` resumes it."""


def no_space_error(exc: OSError, folder: Path, name: str) -> DownloadError:
    """The message for a write that failed because the disk filled up (the ``.part`` is kept)."""
    return DownloadError(
        f"Not enough free space in {folder} to finish {name} ({exc.strerror or exc}); the partial download "
        "was kept: free some space and download again to resume."
    )


def write_error(exc: OSError, part: Path, name: str) -> DownloadError:
    """A failed write of the ``.part``, as a DownloadError a user can act on (the ``.part`` is kept)."""
    if exc.errno == errno.EFBIG:  # the file system's (or the process's) largest file, not a full disk
        return DownloadError(
            f"{name} is too large for the file system of {part.parent} (FAT32 drives hold at most 4 GB per "
            "file); the partial download was kept. Choose another models folder in Settings."
        )
    if exc.errno in NO_SPACE_ERRNOS:
        return no_space_error(exc, part.parent, name)
    return DownloadError(f"Could not write {name} to {part.parent}: {exc.strerror or exc}.")
