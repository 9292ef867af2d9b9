"""Rows to dataclasses: the columns the store reads, its JSON columns, and a message's place among its siblings."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from app.store.models import AttachmentRef, Conversation, Message, StoreError

MESSAGE_COLUMNS = (
    "id, conversation_id, parent_id, role, content, thinking, thinking_seconds, status, error, stats_json, model, "
    "created_at, updated_at, tools_json"
)
CONVERSATION_COLUMNS = (
    "id, title, created_at, updated_at, system_prompt, thinking, settings_json, leaf_id, deleted_at, pinned, title_by"
)


def dump_json(value: Mapping[str, Any]) -> str:
    """A settings or stats mapping as compact JSON; StoreError when it holds something JSON cannot."""
    try:
        return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise StoreError(f"These settings cannot be saved ({error}).") from None


def dump_tools(steps: Sequence[Mapping[str, Any]]) -> str:
    """An answer's tool steps as a compact JSON array; StoreError when a step holds something JSON cannot."""
    try:
        return json.dumps([dict(step) for step in steps], ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise StoreError(f"The answer's tool calls cannot be saved ({error}).") from None


def load_tools(text: object) -> tuple[dict[str, Any], ...]:
    """A ``tools_json`` column read back: its objects, in order; () when it is damaged or not a list."""
    if not isinstance(text, str):
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    return tuple(step for step in value if isinstance(step, dict)) if isinstance(value, list) else ()


def load_json(text: str | None) -> dict[str, Any] | None:
    """A JSON column read back; None when it is empty, damaged or not an object."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def stored_choice(value: object) -> str:
    """An attachment's page choice as its ref holds it: "" for the default (stored as '{}') or anything odd."""
    return value if isinstance(value, str) and value not in ("", "{}") else ""


def conversation_from_row(row: tuple[Any, ...]) -> Conversation:
    cid, title, created, updated, system_prompt, thinking, settings, leaf_id, deleted_at, pinned, title_by = row
    return Conversation(
        cid, title, created, updated, system_prompt, bool(thinking), load_json(settings) or {}, leaf_id, deleted_at,
        bool(pinned), title_by if title_by in ("model", "user") else "words",
    )  # fmt: skip


def message_from_row(row: tuple[Any, ...], attachments: tuple[AttachmentRef, ...]) -> Message:
    mid, cid, parent, role, content, thinking, seconds, status, error, stats, model, created, updated, tools = row
    return Message(
        mid, cid, parent, role, content, thinking, seconds, status, error, load_json(stats), model, created, updated,
        attachments, tools=load_tools(tools),
    )  # fmt: skip


def placed(message: Message, index: int, count: int) -> Message:
    """``message`` as alternative ``index`` (from 1) of ``count``."""
    return replace(message, sibling_index=index, sibling_count=count)
