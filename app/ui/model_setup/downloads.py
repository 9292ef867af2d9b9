"""Model downloads for the window: a Qt face on ``app.models.download``.

``DownloadJob`` runs ``download_many`` for one catalog variant (the model and
its projector) on a worker thread and reports through queued signals;
``Downloads`` holds the jobs of the window, one per variant, so the welcome
page and the model manager show the same download and a second click on
"Download" finds the running one instead of starting another.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.models.download import (
    Control,
    DownloadCancelled,
    DownloadError,
    DownloadOptions,
    DownloadPaused,
    Progress,
    discard_partial,
    download_many,
)
from app.models.variants import Variant, download_specs

log = logging.getLogger(__name__)

#: Job states, in the order a job goes through them.
IDLE, RUNNING, PAUSED, DONE, FAILED, CANCELLED = "idle", "running", "paused", "done", "failed", "cancelled"


class DownloadJob(QObject):
    """Download one variant's files; pause keeps the ``.part``, cancel deletes it."""

    # Signals
    progressed = Signal(object)  # Progress (aggregated over the files)
    stateChanged = Signal(str)
    finished = Signal(object)  # list[Path]: the model, then the projector
    failed = Signal(str)  # one line for people
    _ended = Signal(str, object)  # from the worker: the final state and its result

    def __init__(
        self,
        variant: Variant,
        folder: Path,
        *,
        endpoint: str = "",
        token: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.variant = variant
        self.folder = Path(folder)
        self._bad_setting = ""  # a download server setting that cannot work: the job fails at once, saying so
        try:
            self.specs = download_specs(variant, self.folder, endpoint)
        except DownloadError as exc:
            self.specs, self._bad_setting = [], str(exc)
        self.token = token or None
        self.state = IDLE
        self.last_progress: Progress | None = None
        self.error = ""
        self.paths: list[Path] = []
        self._control = Control()
        self._thread: threading.Thread | None = None
        self.progressed.connect(self._on_progressed)
        self._ended.connect(self._on_ended)

    @property
    def active(self) -> bool:
        return self.state in (RUNNING, PAUSED)

    def start(self) -> None:
        """Start, or resume after a pause or a failure (from the ``.part`` left on disk)."""
        if self.state == RUNNING:
            return
        if self._bad_setting:
            self._on_ended(FAILED, self._bad_setting)
            return
        self._control.resume()
        if self._control.cancelled:
            self._control = Control()
        self.error = ""
        self._set_state(RUNNING)
        self._thread = threading.Thread(target=self._run, name=f"download-{self.variant.ref}", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        if self.state == RUNNING:
            self._control.pause()

    def cancel(self) -> None:
        """Stop and delete what was downloaded of the unfinished file (finished files are kept)."""
        if self.state == RUNNING:
            self._control.cancel()
        elif self.state in (PAUSED, FAILED, IDLE):
            self._discard()
            self._set_state(CANCELLED)

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until the worker ends (tests, closing the window). True when it did."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            options = DownloadOptions(token=self.token)
            paths = download_many(self.specs, options=options, control=self._control, progress=self.progressed.emit)
        except DownloadPaused:
            self._ended.emit(PAUSED, None)
        except DownloadCancelled:
            self._ended.emit(CANCELLED, None)
        except DownloadError as exc:
            self._ended.emit(FAILED, str(exc))
        except Exception as exc:  # a bug, not the network: still a message, never a dead button
            log.exception("download of %s failed", self.variant.ref)
            self._ended.emit(FAILED, f"The download failed unexpectedly: {exc}")
        else:
            self._ended.emit(DONE, paths)

    def _discard(self) -> None:
        for spec in self.specs:
            try:
                discard_partial(spec)
            except DownloadError as exc:
                log.warning("could not discard %s: %s", spec.name, exc)

    # -- GUI thread -------------------------------------------------------------------------

    def _on_progressed(self, p: Progress) -> None:
        self.last_progress = p

    def _on_ended(self, state: str, result: object) -> None:
        if state == FAILED:
            self.error = str(result)
        elif state == DONE and isinstance(result, list):
            self.paths = result
        self._set_state(state)
        if state == FAILED:
            self.failed.emit(self.error)
        elif state == DONE:
            self.finished.emit(self.paths)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.stateChanged.emit(state)


class Downloads(QObject):
    """The window's downloads, one job per variant."""

    # Signals
    jobAdded = Signal(object)  # DownloadJob
    modelReady = Signal(object, object)  # Variant, list[Path]

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: dict[str, DownloadJob] = {}

    def job(self, variant: Variant) -> DownloadJob | None:
        return self._jobs.get(variant.ref)

    def start(self, variant: Variant, folder: Path, *, endpoint: str = "", token: str | None = None) -> DownloadJob:
        """Start (or resume) the download of ``variant``; the running job if there is one."""
        job = self._jobs.get(variant.ref)
        if job is None or job.state in (DONE, CANCELLED) or job.folder != Path(folder):
            job = DownloadJob(variant, folder, endpoint=endpoint, token=token, parent=self)
            job.finished.connect(lambda paths, j=job: self.modelReady.emit(j.variant, paths))
            self._jobs[variant.ref] = job
            self.jobAdded.emit(job)
        job.start()
        return job

    def pause_all(self, timeout: float = 10.0) -> None:
        """Pause every running download and wait for the workers (closing the window keeps the .part files)."""
        running = [j for j in self._jobs.values() if j.state == RUNNING]
        for job in running:
            job.pause()
        for job in running:
            job.wait(timeout)
