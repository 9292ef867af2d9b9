"""The chat store: conversations, their branching message trees and attachments, kept in one SQLite file.

No Qt: the UI calls it from one dedicated thread (``app.ui.tasks.run_on_db``). Plain frozen dataclasses go in and
out; every failure is a ``StoreError`` whose text is one line fit to show a user.
"""

from __future__ import annotations

from app.store.models import (
    DEFAULT_TITLE,
    AttachmentKind,
    AttachmentRef,
    Conversation,
    ConversationSummary,
    CorruptDatabase,
    Message,
    NotFound,
    Role,
    SchemaTooNew,
    Status,
    StoreError,
)
from app.store.schema import SCHEMA_VERSION
from app.store.store import Store, default_path

__all__ = [
    "DEFAULT_TITLE",
    "SCHEMA_VERSION",
    "AttachmentKind",
    "AttachmentRef",
    "Conversation",
    "ConversationSummary",
    "CorruptDatabase",
    "Message",
    "NotFound",
    "Role",
    "SchemaTooNew",
    "Status",
    "Store",
    "StoreError",
    "default_path",
]
