"""The local side of a model download: free space, the ``.part`` lock, hashing and write errors.

``app.models.download`` re-exports what callers need (``DownloadError``,
``check_free_space``); this module holds the parts that touch only the disk.

The lock is ``<dest>.part.lock`` holding the downloader's PID, but what
excludes a second downloader is an OS lock on that file (``flock`` on POSIX,
``msvcrt.locking`` on Windows), not the file's existence: the kernel drops it
when the process dies, so a lock left by a killed app is never "stale", and a
PID reused after a reboot cannot block a download forever.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: Kept free beyond the bytes still to download (file-system metadata, the app's own database and logs).
SPACE_MARGIN = 64 * 1024 * 1024

#: Write errors that mean "the disk (or the user's quota) is full".
NO_SPACE_ERRNOS = frozenset(code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if code is not None)


class DownloadError(Exception):
    """A download failed; ``str()`` is one line a user can act on."""


def part_path(dest: Path) -> Path:
    """Where the download of ``dest`` is written until it is complete and verified."""
    return dest.with_name(dest.name + ".part")


def format_size(size: int) -> str:
    """``5.1 GB``, ``300.0 MB``, ``12.0 KB``, ``512 bytes`` (decimal units, as disks are sold)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(size) >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def format_duration(seconds: float) -> str:
    """``45 s``, ``2 min 18 s``, ``1 h 5 min`` (a download's time left)."""
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


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


# ---------------------------------------------------------------------------------------------- the lock

_held_lock = threading.Lock()
_held: set[str] = set()  # lock files this process holds: a belt for file systems where flock is per process


def _os_lock(fd: int) -> None:
    """Take the OS lock on ``fd`` without waiting; OSError if another holder has it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 1 << 30, os.SEEK_SET)  # lock a byte past the PID, so others can still read who holds it
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        os.lseek(fd, 0, os.SEEK_SET)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class PartLock:
    """Only one download writes a given ``.part`` at a time, across threads and processes.

    ``acquire()`` raises DownloadError at once when another download holds it
    (the UI shows that rather than waiting on a hidden download).
    """

    def __init__(self, part: Path, name: str) -> None:
        self.path = part.with_name(part.name + ".lock")
        self._name = name
        self._fd: int | None = None

    def _busy(self) -> DownloadError:
        holder = ""
        try:
            pid = self.path.read_text(encoding="ascii").strip()
            holder = f" (by process {pid})" if pid.isdigit() and int(pid) != os.getpid() else ""
        except (OSError, UnicodeDecodeError):
            pass
        return DownloadError(
            f"{self._name} is already being downloaded{holder}. Wait for that download to finish or stop it."
        )

    def acquire(self) -> None:
        key = str(self.path.absolute())
        with _held_lock:
            if key in _held:
                raise self._busy()
            _held.add(key)
        try:
            self._acquire_os_lock()
        except BaseException:
            with _held_lock:
                _held.discard(key)
            raise

    def _acquire_os_lock(self) -> None:
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise DownloadError(f"Cannot write to {self.path.parent}: {exc.strerror or exc}.") from exc
            try:
                _os_lock(fd)
            except OSError:
                os.close(fd)
                raise self._busy() from None
            # The previous holder may have removed the file between our open() and our lock:
            # then we hold a lock on a file nobody else can see; open the current one again.
            try:
                st = os.stat(self.path)
                fst = os.fstat(fd)
                current = (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)
            except FileNotFoundError:
                current = False
            if current:
                os.ftruncate(fd, 0)
                os.write(fd, str(os.getpid()).encode("ascii"))
                self._fd = fd
                return
            os.close(fd)
        raise self._busy()

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if sys.platform == "win32":  # an open file cannot be removed there: close first
            os.close(fd)
            _remove_quietly(self.path)
        else:  # remove while still holding the lock, so no one locks a file that is about to vanish
            _remove_quietly(self.path)
            os.close(fd)
        with _held_lock:
            _held.discard(str(self.path.absolute()))

    def __enter__(self) -> PartLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
