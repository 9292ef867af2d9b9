"""What goes in and out of the chat store: plain frozen dataclasses, and the store's typed errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant", "system"]
TitleBy = Literal["words", "model", "user"]  # who wrote a conversation's title (see ``Conversation.title_by``)
Status = Literal["complete", "streaming", "stopped", "error"]
AttachmentKind = Literal["image", "audio", "video", "document", "file"]

ROLES: tuple[Role, ...] = ("user", "assistant", "system")
STATUSES: tuple[Status, ...] = ("complete", "streaming", "stopped", "error")
ATTACHMENT_KINDS: tuple[AttachmentKind, ...] = ("image", "audio", "video", "document", "file")

#: The title a conversation starts with; the first user message replaces it.
DEFAULT_TITLE = "New chat"


class StoreError(Exception):
    """The chat store failed: ``str(error)`` is one line fit to show a user."""


class SchemaTooNew(StoreError):
    """The database was written by a newer Gemma Desk; this version must not touch it."""

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported


class CorruptDatabase(StoreError):
    """The file is not a readable SQLite database (random bytes, truncated, damaged pages)."""


class NotFound(StoreError):
    """A conversation or message that does not exist (any more)."""


@dataclass(frozen=True)
class AttachmentRef:
    """A file in the content-addressed attachments folder, as a message refers to it."""

    sha256: str
    kind: AttachmentKind
    name: str  # what the user called it, e.g. "holiday.jpg"
    mime: str
    size: int
    ext: str = ""  # the stored file's extension, e.g. ".jpg" ("" for none)
    choice: str = ""  # a document's page choice (``PageChoice.to_json()``); "" for the default or not a document


@dataclass(frozen=True)
class Message:
    """One message of a conversation's tree; ``sibling_*`` place it among its alternatives ("‹ 2/3 ›")."""

    id: int
    conversation_id: int
    parent_id: int | None
    role: Role
    content: str
    thinking: str
    thinking_seconds: float | None
    status: Status
    error: str | None
    stats: dict[str, Any] | None
    model: str | None
    created_at: float
    updated_at: float
    attachments: tuple[AttachmentRef, ...] = ()
    sibling_index: int = 1  # 1-based, among messages with the same parent and role
    sibling_count: int = 1
    #: The answer's tool steps, each a JSON object the conversation core writes (the store keeps them as they are).
    tools: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Conversation:
    """A conversation's own fields; its messages come from ``Store.path`` or ``Store.export_json``."""

    id: int
    title: str
    created_at: float
    updated_at: float
    system_prompt: str | None
    thinking: bool
    settings: dict[str, Any] = field(default_factory=dict)
    leaf_id: int | None = None
    deleted_at: float | None = None
    pinned: bool = False  # shown on top of the list, in its own group
    #: "words": the first words of the first question (the model may write a title); "model": the model wrote
    #: it (or had its say); "user": the user named the chat, and only the user changes it.
    title_by: TitleBy = "words"


@dataclass(frozen=True)
class ConversationSummary:
    """One row of the sidebar."""

    id: int
    title: str
    created_at: float
    updated_at: float
    pinned: bool = False


#: Longest automatic conversation title, in characters.
TITLE_CHARS = 60


def auto_title(text: str) -> str:
    """A conversation title from a first message: its first line of text, cut to ~60 characters at a word."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("```"):
            continue
        line = " ".join(line.lstrip("#>").split())
        if not line:
            continue
        if len(line) <= TITLE_CHARS:
            return line
        head = line[: TITLE_CHARS + 1]
        cut = head.rsplit(" ", 1)[0].rstrip(" ,.;:-") if " " in head else ""
        if len(cut) < TITLE_CHARS // 2:
            cut = line[:TITLE_CHARS]
        return cut + "…"
    return ""
