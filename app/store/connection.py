"""The store's one SQLite connection: the lock every call takes, errors worded for the user, write transactions.

``StoreConnection`` holds what every part of the ``Store`` shares; the parts (conversations, messages,
branches) build on it, and ``locked`` wraps each of their public methods.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Concatenate, ParamSpec, Self, TypeVar

from app.store import schema
from app.store.attachments import AttachmentFolder
from app.store.models import StoreError

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="StoreConnection")


def locked(fn: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """Run a method under the store's lock, turning sqlite3 and OS errors into StoreError."""

    @functools.wraps(fn)
    def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            if self._closed:
                raise StoreError("The chat database is closed.")
            try:
                return fn(self, *args, **kwargs)
            except (sqlite3.Error, OSError) as error:
                raise schema.translate(error, self.db_path) from None

    return wrapper


class StoreConnection:
    """The connection, its lock, the attachments folder, and whether searches use the FTS5 index."""

    def __init__(self, db: sqlite3.Connection, path: Path, files: AttachmentFolder, *, search_index: bool) -> None:
        self._db = db
        self._lock = threading.RLock()
        self._closed = False
        self._fts = search_index
        self.db_path = path
        self.files = files
        self._stored_now: set[str] = set()  # files stored this session: maybe in a draft, so never purged

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA optimize")
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def search_indexed(self) -> bool:
        """Whether searches use the FTS5 index (False: a plain scan)."""
        return self._fts

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed at the end (rolled back on any error)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
