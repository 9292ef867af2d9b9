"""Free disk space for downloads: what they still need, and a clear message before the disk fills up.

Space is checked per file system, for all the files that land on it together,
before the first byte is fetched; a file whose size the catalog does not know
is checked once the server says it.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from app.models.download.errors import DownloadError
from app.models.download.partfile import part_path
from app.models.download.spec import DownloadSpec, already_there
from app.units import format_size

log = logging.getLogger(__name__)

#: Kept free beyond the bytes still to download (file-system metadata, the app's own database and logs).
SPACE_MARGIN = 64 * 1024 * 1024


def _existing_ancestor(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def device_of(folder: Path) -> int:
    """The file system ``folder`` is (or will be) on, as ``st_dev``."""
    return os.stat(_existing_ancestor(folder)).st_dev


def check_free_space(folder: Path, needed: int) -> None:
    """Raise DownloadError unless ``folder`` (or the nearest existing parent) has ``needed`` bytes free."""
    where = _existing_ancestor(folder)
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:  # cannot tell: let the write itself report a full disk
        log.warning("could not read the free space of %s: %s", where, exc)
        return
    if free < needed:
        raise DownloadError(f"Not enough free space in {folder}: need {format_size(needed)}, {format_size(free)} free.")


def _remaining(spec: DownloadSpec) -> int:
    """Bytes still to download for ``spec`` (0 when its size is unknown or it is already there)."""
    if spec.size is None or already_there(spec):
        return 0
    part = part_path(spec.dest)
    have = part.stat().st_size if part.is_file() else 0
    return max(0, spec.size - have) if have <= spec.size else spec.size


def free_space_needed(specs: Sequence[DownloadSpec]) -> int:
    """Disk space the downloads still need: the bytes left of each file of known size, plus a small margin."""
    remaining = sum(_remaining(spec) for spec in specs)
    return remaining + SPACE_MARGIN if remaining else 0


def check_space_for(specs: Sequence[DownloadSpec]) -> None:
    """Check free space per file system, for all the files that land on it together."""
    groups: dict[int, list[DownloadSpec]] = {}
    for spec in specs:
        groups.setdefault(device_of(spec.dest.parent), []).append(spec)
    for group in groups.values():
        needed = free_space_needed(group)
        if needed:
            check_free_space(group[0].dest.parent, needed)
