"""The attachments folder: each file stored once, named by its SHA-256 (``<root>/<sha[:2]>/<sha><ext>``)."""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

from app.regular_file import NotRegularFile, open_regular
from app.store.models import ATTACHMENT_KINDS, AttachmentKind, AttachmentRef, StoreError
from app.store.schema import os_error

_CHUNK = 1 << 20
_SAFE_EXT = re.compile(r"^\.[a-z0-9]{1,10}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_TEMP_PREFIX = ".incoming-"
#: Extensions for the types the app records itself (``mimetypes`` varies by platform).
_KNOWN_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mpeg": ".mp3",
    "audio/flac": ".flac",
    "audio/ogg": ".ogg",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "text/plain": ".txt",
    "application/pdf": ".pdf",
}


class AttachmentFolder:
    """Content-addressed files: storing the same bytes twice keeps one file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def store(
        self, source: str | os.PathLike[str] | bytes, name: str, kind: AttachmentKind, mime: str
    ) -> AttachmentRef:
        """Copy a file (or bytes) in atomically (temporary file, fsync, rename); raises StoreError."""
        if kind not in ATTACHMENT_KINDS:
            raise StoreError(f"Unknown attachment kind {kind!r}.")
        if not isinstance(source, bytes | bytearray | memoryview):
            name = name or Path(os.fspath(source)).name
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise os_error(error, f"The attachments folder {self.root}") from None
        temp = self.root / f"{_TEMP_PREFIX}{uuid.uuid4().hex}.part"
        try:
            sha, size = self._copy_in(source, name, temp)
            ext = self._existing_ext(sha)
            if ext is None:
                ext = extension_for(name, mime)
                final = self._file(sha, ext)
                final.parent.mkdir(exist_ok=True)
                os.replace(temp, final)
        except OSError as error:
            raise os_error(error, f"The attachments folder {self.root}") from None
        finally:
            with contextlib.suppress(OSError):
                temp.unlink(missing_ok=True)
        return AttachmentRef(sha256=sha, kind=kind, name=name, mime=mime, size=size, ext=ext)

    def path(self, ref: AttachmentRef) -> Path:
        """Where the file lives (it may be missing if someone deleted it by hand)."""
        if not _SHA.match(ref.sha256):
            raise StoreError(f"{ref.name} has no valid content hash.")
        path = self._file(ref.sha256, ref.ext)
        if not path.exists():
            other = self._existing_ext(ref.sha256)
            if other is not None:
                return self._file(ref.sha256, other)
        return path

    def remove(self, hashes: Iterable[str]) -> int:
        """Delete the files for these hashes (callers first make sure no row still needs them); returns a count."""
        removed = 0
        for sha in hashes:
            if not _SHA.match(sha):
                continue
            folder = self.root / sha[:2]
            for path in folder.glob(f"{sha}*"):
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
                except OSError as error:
                    raise os_error(error, str(path)) from None
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        return removed

    def _file(self, sha: str, ext: str) -> Path:
        return self.root / sha[:2] / f"{sha}{ext}"

    def _existing_ext(self, sha: str) -> str | None:
        """The extension of a file already stored for these bytes, or None."""
        for path in (self.root / sha[:2]).glob(f"{sha}*"):
            rest = path.name[len(sha) :]
            if rest == "" or _SAFE_EXT.match(rest):
                return rest
        return None

    @staticmethod
    def _copy_in(source: str | os.PathLike[str] | bytes, name: str, temp: Path) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        with temp.open("wb") as out:
            if isinstance(source, bytes | bytearray | memoryview):
                data = bytes(source)
                digest.update(data)
                out.write(data)
                size = len(data)
            else:
                try:
                    stream, _ = open_regular(source)  # a pipe swapped in since the intake must not block
                except OSError as error:
                    raise _unreadable(error, name) from None
                with stream:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return digest.hexdigest(), size


def extension_for(name: str, mime: str) -> str:
    """A safe lower-case extension from the file name, else from the MIME type, else ""."""
    suffix = Path(name).suffix.lower()
    if _SAFE_EXT.match(suffix):
        return suffix
    kind = mime.split(";")[0].strip().lower()
    guessed = _KNOWN_TYPES.get(kind) or (mimetypes.guess_extension(kind) if kind else None) or ""
    return guessed if _SAFE_EXT.match(guessed) else ""


def _unreadable(error: OSError, name: str) -> StoreError:
    if isinstance(error, NotRegularFile):
        return StoreError(f"{name} is {error.kind}, not a regular file.")
    if isinstance(error, FileNotFoundError):
        return StoreError(f"{name} was not found (it may have been moved or deleted).")
    if isinstance(error, IsADirectoryError):
        return StoreError(f"{name} is a folder, not a file.")
    if isinstance(error, PermissionError):
        return StoreError(f"{name} cannot be read: permission denied.")
    return StoreError(f"{name} cannot be read ({error.strerror or error}).")
