"""Conversations: creating, finding, renaming, pinning and configuring them, deleting with undo, and purging for
good."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from typing import Any, cast

from app.store.connection import StoreConnection, locked
from app.store.models import DEFAULT_TITLE, Conversation, ConversationSummary, NotFound
from app.store.rows import CONVERSATION_COLUMNS, conversation_from_row, dump_json
from app.store.search import find_conversations, unindex_conversations


class ConversationsMixin(StoreConnection):
    """The ``Store``'s conversation methods."""

    @locked
    def create_conversation(
        self,
        title: str = DEFAULT_TITLE,
        system_prompt: str | None = None,
        thinking: bool = False,
        settings: Mapping[str, Any] | None = None,
    ) -> Conversation:
        """A new conversation; one given a title of its own keeps it (as if the user had renamed it)."""
        now = time.time()
        title = title.strip() or DEFAULT_TITLE
        title_by = "words" if title == DEFAULT_TITLE else "user"
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO conversations(title, created_at, updated_at, system_prompt, thinking, settings_json, "
                "title_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (title, now, now, system_prompt, int(thinking), dump_json(settings or {}), title_by),
            )
            conversation_id = cast(int, cursor.lastrowid)
        return self.get_conversation(conversation_id)

    @locked
    def get_conversation(self, conversation_id: int) -> Conversation:
        row = self._db.execute(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise NotFound("That conversation no longer exists.")
        return conversation_from_row(row)

    @locked
    def list_conversations(self, search: str = "") -> list[ConversationSummary]:
        """Pinned ones first, then newest first, without deleted ones; ``search`` keeps those whose title or
        messages hold every word."""
        return find_conversations(self._db, search, indexed=self._fts)

    @locked
    def rename(self, conversation_id: int, title: str) -> None:
        """The user's name for the chat: from now on the model never writes its title."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE conversations SET title = ?, title_by = 'user' WHERE id = ?",
                (title.strip() or DEFAULT_TITLE, conversation_id),
            )
            if cursor.rowcount == 0:
                raise NotFound("That conversation no longer exists.")

    @locked
    def set_model_title(self, conversation_id: int, title: str) -> bool:
        """The title the model wrote, taken only while the title is still the first words (never over the user's
        name, nor a second time); "" keeps the first words but still counts as the model's say. Whether it was
        taken."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE conversations SET title = CASE WHEN ? != '' THEN ? ELSE title END, title_by = 'model' "
                "WHERE id = ? AND title_by = 'words'",
                (title.strip(), title.strip(), conversation_id),
            )
            return cursor.rowcount > 0

    @locked
    def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        """Pin the chat to the top of the list (or no longer); its place in time is left as it was."""
        self._set(conversation_id, "pinned", int(pinned))

    @locked
    def set_thinking(self, conversation_id: int, thinking: bool) -> None:
        self._set(conversation_id, "thinking", int(thinking))

    @locked
    def set_system_prompt(self, conversation_id: int, system_prompt: str | None) -> None:
        self._set(conversation_id, "system_prompt", system_prompt)

    @locked
    def set_setup(
        self, conversation_id: int, system_prompt: str | None, thinking: bool, settings: Mapping[str, Any]
    ) -> None:
        """A conversation's system prompt, thinking and own settings, written together."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE conversations SET system_prompt = ?, thinking = ?, settings_json = ? WHERE id = ?",
                (system_prompt, int(thinking), dump_json(settings), conversation_id),
            )
            if cursor.rowcount == 0:
                raise NotFound("That conversation no longer exists.")

    @locked
    def set_settings(self, conversation_id: int, settings: Mapping[str, Any]) -> None:
        self._set(conversation_id, "settings_json", dump_json(settings))

    @locked
    def conversations_with_setting(self, key: str) -> list[Conversation]:
        """The conversations (not deleted, newest first) whose own settings hold ``key``, e.g. the tools allowed
        in them, for Settings to list."""
        rows = self._db.execute(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE deleted_at IS NULL "
            "AND json_valid(settings_json) AND json_type(settings_json, '$.' || json_quote(?)) IS NOT NULL "
            "ORDER BY updated_at DESC",
            (key,),
        ).fetchall()
        return [conversation_from_row(row) for row in rows]

    @locked
    def delete(self, conversation_id: int) -> None:
        """Hide the conversation (``undo_delete`` brings it back; ``purge_deleted`` removes it for good)."""
        self._set(conversation_id, "deleted_at", time.time())

    @locked
    def undo_delete(self, conversation_id: int) -> None:
        self._set(conversation_id, "deleted_at", None)

    @locked
    def purge_deleted(self, older_than_s: float = 0) -> int:
        """Really delete conversations deleted at least ``older_than_s`` ago, and their now-unused files."""
        doomed = "SELECT id FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?"
        cutoff = (time.time() - older_than_s,)
        with self._write() as db:
            hashes = [
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT a.sha256 FROM attachments a JOIN messages m ON m.id = a.message_id "
                    f"WHERE m.conversation_id IN ({doomed})",
                    cutoff,
                )
            ]
            if self._fts:
                unindex_conversations(db, doomed, cutoff)
            db.execute(f"UPDATE conversations SET leaf_id = NULL WHERE id IN ({doomed})", cutoff)
            db.execute(f"DELETE FROM messages WHERE conversation_id IN ({doomed})", cutoff)
            count = db.execute(f"DELETE FROM conversations WHERE id IN ({doomed})", cutoff).rowcount
            unused = [
                sha
                for sha in hashes
                if sha not in self._stored_now
                and db.execute("SELECT 1 FROM attachments WHERE sha256 = ? LIMIT 1", (sha,)).fetchone() is None
            ]
        self.files.remove(unused)
        return count

    def _set(self, conversation_id: int, column: str, value: object) -> None:
        with self._write() as db:
            cursor = db.execute(f"UPDATE conversations SET {column} = ? WHERE id = ?", (value, conversation_id))
            if cursor.rowcount == 0:
                raise NotFound("That conversation no longer exists.")


def conversation_title(db: sqlite3.Connection, conversation_id: int) -> str:
    """The conversation's title; NotFound when it no longer exists."""
    row = db.execute("SELECT title FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    if row is None:
        raise NotFound("That conversation no longer exists.")
    return cast(str, row[0])
