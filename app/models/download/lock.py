"""The ``.part`` file's lock: only one download writes a given file at a time, across threads and processes.

The lock is ``<dest>.part.lock`` holding the downloader's PID, but what
excludes a second downloader is an OS lock on that file (``flock`` on POSIX,
``msvcrt.locking`` on Windows), not the file's existence: the kernel drops it
when the process dies, so a lock left by a killed app is never "stale", and a
PID reused after a reboot cannot block a download forever.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

from app.models.download.errors import DownloadError

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
