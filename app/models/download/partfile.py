"""The ``.part`` file a download writes into: resuming it, appending and hashing, and the final rename.

``<dest>.part`` holds the bytes received so far, all of them hashed as they are
written. A ``.part`` left by an earlier run (also after the app was killed) is
re-hashed and resumed unless it is longer than the file or does not start like
a GGUF. Only a complete, verified ``.part`` is renamed to ``dest``, in one step.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path
from typing import BinaryIO

from app.models.download.control import Control
from app.models.download.errors import DownloadError, write_error
from app.models.download.progress import Reporter
from app.models.download.verify import hash_file

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"


def part_path(dest: Path) -> Path:
    """Where the download of ``dest`` is written until it is complete and verified."""
    return dest.with_name(dest.name + ".part")


class PartFile:
    """The open ``.part`` of ``dest``: ``offset`` bytes in it, ``digest`` their SHA-256 so far."""

    def __init__(self, dest: Path, name: str, reporter: Reporter, chunk: int) -> None:
        self.dest = dest
        self.path = part_path(dest)
        self.name = name
        self.report = reporter
        self.chunk = chunk
        self.file: BinaryIO | None = None
        self.digest = hashlib.sha256()
        self.offset = 0  # bytes in the .part, all of them hashed

    def open(self, expected_size: int | None, want_gguf: bool, control: Control) -> None:
        """Open (or create) the ``.part`` and keep what an earlier download left in it, if it can be ours."""
        existing = self.path.stat().st_size if self.path.exists() else 0
        try:
            self.file = open(self.path, "r+b" if self.path.exists() else "w+b", buffering=0)  # noqa: SIM115
        except OSError as exc:
            raise write_error(exc, self.path, self.name) from exc
        if existing and expected_size is not None and existing > expected_size:
            existing = 0  # longer than the file: not ours
        if existing:
            self.report.emit("verifying", 0)
            digest, hashed = hash_file(
                self.path,
                limit=existing,
                chunk=self.chunk,
                on_progress=lambda n: self.report.emit("verifying", n),
                should_stop=control.check,
            )
            head = self.file.read(len(GGUF_MAGIC))
            if hashed == existing and (not want_gguf or head == GGUF_MAGIC[: len(head)]):
                self.digest, self.offset = digest, existing
                log.info("resuming %s from %d bytes", self.name, existing)
        self.reset(self.offset)

    def reset(self, offset: int = 0) -> None:
        """Truncate the .part to ``offset`` (0: start over)."""
        assert self.file is not None
        if offset == 0:
            self.digest = hashlib.sha256()
            self.report.restart()
        self.offset = offset
        try:
            self.file.seek(offset)
            if os.fstat(self.file.fileno()).st_size > offset:
                self.file.truncate()
        except OSError as exc:
            raise write_error(exc, self.path, self.name) from exc

    def write(self, data: bytes) -> None:
        assert self.file is not None
        view = memoryview(data)
        try:
            while view:
                n = self.file.write(view)
                if not n:
                    raise OSError(0, "the file accepted no data")
                view = view[n:]
        except OSError as exc:
            raise write_error(exc, self.path, self.name) from exc
        self.digest.update(data)
        self.offset += len(data)

    def close(self, *, sync: bool) -> None:
        file, self.file = self.file, None
        if file is None:
            return
        try:
            if sync:
                os.fsync(file.fileno())
        except OSError as exc:
            raise write_error(exc, self.path, self.name) from exc
        finally:
            file.close()

    def delete(self) -> None:
        self.close(sync=False)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def fail_and_delete(self, message: str) -> DownloadError:
        """Delete the ``.part`` (it is not the file) and return the error to raise."""
        self.delete()
        return DownloadError(message)

    def commit(self) -> None:
        """Make the complete ``.part`` the downloaded file ``dest``, durably, in one step."""
        self.close(sync=True)
        os.replace(self.path, self.dest)
        _sync_folder(self.dest.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX; a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
