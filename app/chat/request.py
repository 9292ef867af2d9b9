"""What the model is asked: a stored branch of a conversation and the chat options, as a ``GenerateRequest``.

Which stored messages the model sees: every message of the branch, in order, except an exchange that
failed (an answer whose status is ``error`` is left out together with the message it answered, so a turn
the engine refused is not sent again) and an answer stopped before it said anything. A user message is its
attachments' parts, then its text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.engine import GenerateRequest, Message, Part, SamplingParams
from app.store import AttachmentRef, Conversation
from app.store import Message as StoredMessage

#: The decoded parts of a stored attachment (``ChatSession`` answers from its payload cache).
PartsOf = Callable[[AttachmentRef], Sequence[Part]]


@dataclass(frozen=True, slots=True)
class ChatOptions:
    """How answers are made, read once per request: a client turns its own settings or flags into one."""

    system: str | None = None  # the system prompt of conversations that have none of their own
    max_tokens: int | None = None  # None: until the model stops or the context is full
    sampling: SamplingParams = field(default_factory=SamplingParams)


def sent_history(branch: Sequence[StoredMessage]) -> list[StoredMessage]:
    """The messages of ``branch`` the model sees (see the module's docstring)."""
    kept: list[StoredMessage] = []
    for message in branch:
        if message.role == "assistant":
            if message.status == "error":
                if kept and kept[-1].id == message.parent_id:
                    kept.pop()
                continue
            if message.status == "stopped" and not message.content.strip():
                continue
        kept.append(message)
    return kept


def engine_message(message: StoredMessage, parts_of: PartsOf) -> Message:
    """A stored message as the engine takes it; its attachments come decoded from ``parts_of``."""
    parts = [part for ref in message.attachments for part in parts_of(ref)]
    if message.content.strip() or not parts:
        parts.append(Part("text", message.content))
    if message.role == "user":
        return Message("user", tuple(parts))
    return Message("assistant", tuple(parts), thinking=message.thinking)


def build_request(
    branch: Sequence[StoredMessage], conversation: Conversation, options: ChatOptions, parts_of: PartsOf
) -> GenerateRequest:
    """The request that answers the last message of ``branch``."""
    messages = tuple(engine_message(m, parts_of) for m in sent_history(branch))
    system = conversation.system_prompt or options.system
    return GenerateRequest(
        messages=messages,
        system=system or None,
        thinking=conversation.thinking,
        max_tokens=options.max_tokens,
        sampling=options.sampling,
    )
