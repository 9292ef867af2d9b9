"""The download entry points: one file (``download``), files that belong together (``download_many``), discard.

``download`` takes the ``.part``'s lock, returns at once when the file is
already there, runs a ``FileDownload`` and reports how it ended (done, paused,
cancelled, failed) through the progress callback.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

from app.models.download.control import Control
from app.models.download.errors import DownloadCancelled, DownloadError, DownloadPaused
from app.models.download.http import check_token
from app.models.download.job import FileDownload
from app.models.download.lock import PartLock
from app.models.download.partfile import part_path
from app.models.download.progress import Combined, ProgressCallback, Reporter
from app.models.download.space import check_space_for
from app.models.download.spec import DownloadOptions, DownloadSpec, already_there
from app.units import format_size

log = logging.getLogger(__name__)


def download(
    spec: DownloadSpec,
    *,
    options: DownloadOptions | None = None,
    control: Control | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Download ``spec.url`` to ``spec.dest`` (resuming a ``.part`` left earlier) and return ``dest``.

    Raises DownloadPaused / DownloadCancelled when ``control`` asks, DownloadError
    for anything else a user must act on (its ``str()`` says what to do).
    """
    control = control if control is not None else Control()
    reporter = Reporter(spec.name, progress)
    reporter.total = spec.size
    job = FileDownload(spec, control, reporter, options if options is not None else DownloadOptions())
    try:
        verified = _run_locked(job)
    except DownloadCancelled:
        reporter.emit("cancelled", 0)
        raise
    except DownloadPaused:
        reporter.emit("paused", job.offset)
        raise
    except DownloadError as exc:
        log.warning("download of %s failed: %s", spec.name, exc)
        reporter.emit("failed", job.offset)
        raise
    if verified is None:
        log.info("%s is already downloaded", spec.name)
        reporter.emit("done", spec.dest.stat().st_size, verified=False)
    else:
        log.info("downloaded %s (%s, %s)", spec.name, format_size(job.offset), "SHA-256" if verified else "size only")
        reporter.emit("done", job.offset, verified=verified)
    return spec.dest


def _run_locked(job: FileDownload) -> bool | None:
    """Run ``job`` holding the .part's lock; None when ``dest`` was already there."""
    spec = job.spec
    check_token(job.token)
    try:
        spec.dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"Cannot create the folder {spec.dest.parent}: {exc.strerror or exc}.") from exc
    with PartLock(job.part.path, spec.name):
        if already_there(spec):  # checked under the lock: another download may just have finished it
            return None
        try:
            return job.run()
        except DownloadCancelled:
            job.part.delete()
            raise
        except OSError as exc:  # trouble with a local file that no step above turned into a message
            raise DownloadError(f"Could not download {spec.name}: {exc.strerror or exc}.") from exc
        finally:
            job.part.close(sync=False)


def download_many(
    specs: Sequence[DownloadSpec],
    *,
    options: DownloadOptions | None = None,
    control: Control | None = None,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Download several files that belong together (a model and its projector), one after another.

    Free space is checked for all of them first. Progress is aggregated: ``done``
    and ``total`` count every file (``total`` is None unless all sizes are known),
    ``label`` names the file being fetched, and ``"done"`` comes once, after the
    last one (``verified`` only when every file's SHA-256 was checked). Files
    finished before a failure or pause are kept as they are.
    """
    check_space_for(specs)
    sizes = [spec.size for spec in specs]
    combined = Combined(progress, sum(s for s in sizes if s is not None) if None not in sizes else None, len(specs))
    paths: list[Path] = []
    for spec in specs:
        path = download(spec, options=options, control=control, progress=combined)
        paths.append(path)
        combined.base += path.stat().st_size
    return paths


def discard_partial(spec: DownloadSpec) -> None:
    """Delete the ``.part`` of a paused or failed download (DownloadError if it is being downloaded now)."""
    part = part_path(spec.dest)
    with PartLock(part, spec.name), contextlib.suppress(FileNotFoundError):
        part.unlink()
