"""Consent for tool calls: what the user is asked, what they can answer, and which standing permissions apply.

Every call is shown with its source, its tool and its full arguments (pretty-printed, never cut) before it runs,
unless the user already allowed that tool: for this chat (kept with the conversation), everywhere (kept in the
tool settings), or, when they turned it on, because the tool says it only reads. The file-reading tool asks
differently: the user picking the file is the consent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from app.tools.tool_settings import ToolKey, ToolSettings
from app.tools.toolbox import OfferedTool

#: The user's answer: run it this once, always in this chat, always everywhere, or refuse.
Decision = Literal["once", "chat", "always", "deny"]

#: Where a standing permission came from, when one let a call run without asking.
Standing = Literal["", "chat", "always", "read_only"]


@dataclass(frozen=True)
class ConsentRequest:
    """One call waiting for the user: everything the prompt shows."""

    call_id: str
    tool: OfferedTool
    arguments: dict[str, Any]

    @property
    def source_label(self) -> str:
        return self.tool.source_label

    @property
    def tool_name(self) -> str:
        return self.tool.spec.name

    @property
    def pretty_arguments(self) -> str:
        """The arguments as indented JSON, whole (``{}`` for none)."""
        return pretty_json(self.arguments)

    @property
    def read_only(self) -> bool:
        return self.tool.spec.read_only


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def standing_permission(tool: OfferedTool, settings: ToolSettings, chat_allowed: Iterable[ToolKey]) -> Standing:
    """Which standing permission lets ``tool`` run without asking ("" when the user must be asked)."""
    key = tool.key
    if key in set(chat_allowed):
        return "chat"
    if key in settings.always_allowed:
        return "always"
    if settings.auto_allow_read_only and tool.spec.read_only:
        return "read_only"
    return ""


CHAT_PERMISSIONS = "allowed_tools"


def chat_permissions(conversation_settings: dict[str, Any]) -> set[ToolKey]:
    """The tools allowed for one chat, from its conversation's settings (a damaged entry allows nothing)."""
    raw = conversation_settings.get(CHAT_PERMISSIONS, [])
    if not isinstance(raw, list):
        return set()
    return {
        (item[0], item[1])
        for item in raw
        if isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item)
    }


def with_chat_permission(conversation_settings: dict[str, Any], key: ToolKey, allowed: bool = True) -> dict[str, Any]:
    """A copy of the conversation's settings with ``key`` allowed (or no longer allowed) in it."""
    keys = chat_permissions(conversation_settings)
    (keys.add if allowed else keys.discard)(key)
    updated = dict(conversation_settings)
    updated[CHAT_PERMISSIONS] = [list(k) for k in sorted(keys)]
    return updated
