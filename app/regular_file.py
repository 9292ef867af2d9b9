"""Opening a user's file only when it is a regular file: a named pipe blocks ``open`` for ever, a device never ends.

Used wherever a path the user chose is read: attachments (``app.media``), the store's copy of them, model files.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class NotRegularFile(OSError):
    """The path is a folder, a named pipe, a device or a socket; ``kind`` says which, for messages."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a regular file")
        self.kind = kind
        self.is_folder = kind == "a folder"


def special_kind(mode: int) -> str | None:
    """What a non-regular file is ("a named pipe", …); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode):
        return "a device"
    if stat.S_ISBLK(mode):
        return "a disk device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def open_regular(path: str | os.PathLike[str]) -> tuple[BinaryIO, os.stat_result]:
    """Open ``path`` for reading if it is a regular file; returns the stream and its ``fstat``.

    Checked before ``open`` and again on the open file (the path could be swapped in between); the open
    itself never blocks. Raises ``NotRegularFile`` or the ``OSError`` of the failed ``stat``/``open``.
    """
    name = os.fspath(path)
    kind = special_kind(os.stat(name).st_mode)
    if kind is not None:
        raise NotRegularFile(name, kind)
    fd = os.open(name, os.O_RDONLY | _O_NONBLOCK | _O_BINARY | _O_CLOEXEC)
    try:
        info = os.fstat(fd)
        kind = special_kind(info.st_mode)
        if kind is not None:
            raise NotRegularFile(name, kind)
        if _O_NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), info
    except BaseException:
        os.close(fd)
        raise
