"""The ``Store`` the app uses: opening the chat database (repairing, salvaging or setting it aside when it must),
and the class put together from the parts that each do one job.

One ``Store`` owns one connection. The app calls it from a single thread (``app.ui.tasks.run_on_db``); a lock
guards it anyway. Every write commits at once (WAL, ``synchronous=NORMAL``), so a partial answer survives the app
being killed. Every failure is a ``StoreError`` whose text can be shown as it is.

Where each method lives: the connection, lock and transactions in ``connection``; conversations in
``conversations``; messages in ``messages``; the message tree in ``branches``; searching in ``search``;
the attachments folder in ``attachments``; export formats in ``export``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from app import paths
from app.store import export, repair, salvage, schema
from app.store.attachments import AttachmentFolder
from app.store.branches import BranchesMixin
from app.store.connection import locked
from app.store.conversations import ConversationsMixin
from app.store.messages import MessagesMixin
from app.store.models import AttachmentKind, AttachmentRef, CorruptDatabase, SchemaTooNew, StoreError, auto_title

__all__ = ["Store", "auto_title", "set_aside"]

log = logging.getLogger(__name__)

DB_NAME = "chats.sqlite3"


def default_path() -> Path:
    """``<data dir>/chats.sqlite3``."""
    return paths.data_dir() / DB_NAME


class Store(ConversationsMixin, MessagesMixin, BranchesMixin):
    """Conversations, their message trees and attachments. Open with ``Store.open`` or ``open_or_recover``."""

    # --- opening -----------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        attachments_dir: str | os.PathLike[str] | None = None,
        search_index: bool = True,
        check: bool = True,
    ) -> Store:
        """Open or create the database and bring it to the current schema.

        Raises CorruptDatabase (unreadable file), SchemaTooNew (made by a newer app; left untouched) or StoreError.
        ``check`` reads every page once to catch a damaged file now rather than mid-conversation.
        ``search_index`` False searches by scanning instead of with FTS5.
        """
        db_path = Path(path)
        files = Path(attachments_dir) if attachments_dir is not None else db_path.parent / "attachments"
        schema.inspect(db_path, thorough=check)
        db = schema.connect(db_path)
        try:
            schema.configure(db)
            schema.migrate(db)
            schema.ensure_indexes(db)
            fts = schema.prepare_search_index(db, use_fts=search_index)
        except BaseException as error:
            db.close()
            if isinstance(error, sqlite3.Error | OSError):
                raise schema.translate(error, db_path) from None
            raise
        return cls(db, db_path, AttachmentFolder(files), search_index=fts)

    @classmethod
    def open_default(cls) -> Store:
        """The user's own database, ``<data dir>/chats.sqlite3`` (see ``open_or_recover`` for start-up)."""
        return cls.open(default_path())

    @classmethod
    def open_or_recover(
        cls, path: str | os.PathLike[str] | None = None, *, attachments_dir: str | os.PathLike[str] | None = None
    ) -> tuple[Store, str | None]:
        """Open the database whatever state it is in, with a notice for the user when something was repaired,
        salvaged or set aside.

        - Damaged only in its indexes or search index (every row still reads back): repaired in place.
        - Otherwise damaged: the file is renamed to ``chats.corrupt-YYYYmmdd-HHMMSS.sqlite3`` (never overwritten
          nor deleted) and what can still be read from it is salvaged into a fresh database in its place
          (``salvage.salvage``: bounded in time, so a huge file cannot hold up the start for long).
        - Made by a newer Gemma Desk: left exactly as it is, so the newer app still finds it; this version keeps
          its chats beside it in ``chats.v<N>.sqlite3`` (and its own attachments folder).
        """
        db_path = Path(path) if path is not None else default_path()
        files = Path(attachments_dir) if attachments_dir is not None else db_path.parent / "attachments"
        try:
            return cls._open_or_set_aside(db_path, files)
        except SchemaTooNew as error:
            version = schema.SCHEMA_VERSION
            side = db_path.with_name(f"{db_path.stem}.v{version}{db_path.suffix}")
            store, side_notice = cls._open_or_set_aside(side, files.with_name(f"{files.name}.v{version}"))
            notice = (
                f"Your chats in {db_path} were saved by a newer version of Gemma Desk (database version "
                f"{error.found}; this one reads up to {version}). They were left unchanged for that version; "
                f"chats you make now are kept separately in {side}."
            )
            return store, notice + (" " + side_notice if side_notice else "")

    @classmethod
    def _open_or_set_aside(cls, path: Path, files: Path) -> tuple[Store, str | None]:
        try:
            return cls.open(path, attachments_dir=files), None
        except CorruptDatabase as error:
            log.warning("%s", error)
        repaired = repair.repair_indexes(path)
        if repaired is not None:
            with contextlib.suppress(CorruptDatabase):
                return cls.open(path, attachments_dir=files), repaired.notice()
        kept = set_aside(path, "corrupt")
        notice = f"Your chat database could not be read; a copy was kept at {kept}."
        try:
            notice = salvage.salvage(kept, path, AttachmentFolder(files)).notice(kept)
        except StoreError:
            raise  # the new file cannot be written (disk full, read-only folder): neither can a fresh one
        except Exception:  # a bug in the salvage must not keep the app from starting; the damaged file is kept
            log.exception("salvaging %s failed", kept)
        return cls.open(path, attachments_dir=files), notice

    # --- attachments and export ------------------------------------------------------------------------

    def store_attachment_file(
        self, source: str | os.PathLike[str] | bytes, name: str, kind: AttachmentKind, mime: str
    ) -> AttachmentRef:
        """Copy a file (or bytes) into the attachments folder, once per content; pass the ref to add_message."""
        ref = self.files.store(source, name, kind, mime)
        with self._lock:
            self._stored_now.add(ref.sha256)
        return ref

    def attachment_path(self, ref: AttachmentRef) -> Path:
        return self.files.path(ref)

    @locked
    def export_markdown(self, conversation_id: int, folder: str | os.PathLike[str]) -> Path:
        """Write ``<title>.md`` (the active branch; pictures copied into ``<title>_files/``) and return its path."""
        conversation = self.get_conversation(conversation_id)
        return export.write_markdown(conversation, self.path(conversation_id), self.files.path, Path(folder))

    @locked
    def export_json(self, conversation_id: int) -> dict[str, Any]:
        """The whole conversation, every branch, as plain JSON data."""
        conversation = self.get_conversation(conversation_id)
        active = [m.id for m in self.path(conversation_id)]
        return export.to_json(conversation, self.all_messages(conversation_id), active)

    @locked
    def export_json_file(self, conversation_id: int, path: str | os.PathLike[str]) -> Path:
        return export.write_json(self.export_json(conversation_id), Path(path))


def set_aside(path: Path, label: str) -> Path:
    """Rename a database (and its -wal/-shm/-journal files) to ``<stem>.<label>-YYYYmmdd-HHMMSS<suffix>``.

    An existing name is never reused: ``-2``, ``-3``, … are added instead.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    companions = ("", "-wal", "-shm", "-journal")
    number = 1
    while True:
        tail = "" if number == 1 else f"-{number}"
        target = path.with_name(f"{path.stem}.{label}-{stamp}{tail}{path.suffix}")
        if not any(os.path.lexists(f"{target}{c}") for c in companions):
            break
        number += 1
    try:
        for companion in companions:
            source = Path(f"{path}{companion}")
            if source.exists():
                os.rename(source, f"{target}{companion}")
    except OSError as error:
        raise schema.os_error(error, f"The damaged chat database {path}") from None
    return target
