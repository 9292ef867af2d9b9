"""What the model is asked: a stored branch of a conversation and the chat options, as a ``GenerateRequest``.

Which stored messages the model sees: every message of the branch, in order, except an exchange that
failed (an answer whose status is ``error`` is left out together with the message it answered, so a turn
the engine refused is not sent again) and an answer stopped before it said anything. A user message is its
attachments' parts, then its text. An answer that used tools is its rounds (``app.chat.tool_steps``): each an
assistant message with its ``tool_calls`` and thinking, then a ``tool`` message per call with what the model was
told, then (when tools returned pictures) a user message holding those pictures for its vision input; then the
last round's text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from app.chat.tool_steps import CallRecord, ToolStep, steps_from_json
from app.engine import GenerateRequest, Message, Part, SamplingParams
from app.engine.tool_calls import ToolCall
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
    speculative: Literal["auto", "off"] = "auto"  # draft ahead (speculative decoding) while it measures faster


def sent_history(branch: Sequence[StoredMessage]) -> list[StoredMessage]:
    """The messages of ``branch`` the model sees (see the module's docstring)."""
    kept: list[StoredMessage] = []
    for message in branch:
        if message.role == "assistant":
            if message.status == "error":
                if kept and kept[-1].id == message.parent_id:
                    kept.pop()
                continue
            if message.status == "stopped" and not message.content.strip() and not message.tools:
                continue
        kept.append(message)
    return kept


def engine_message(message: StoredMessage, parts_of: PartsOf) -> Message:
    """A stored message as the engine takes it; its attachments come decoded from ``parts_of`` (an answer's
    tool rounds are not in it: see ``engine_messages``)."""
    if message.role == "assistant":
        return Message("assistant", (Part("text", message.content),), thinking=message.thinking)
    parts = [part for ref in message.attachments for part in parts_of(ref)]
    if message.content.strip() or not parts:
        parts.append(Part("text", message.content))
    return Message("user", tuple(parts))


def engine_messages(message: StoredMessage, parts_of: PartsOf) -> list[Message]:
    """A stored message as the engine's messages: one, or an answer's tool rounds and then its text."""
    steps = steps_from_json(message.tools) if message.role == "assistant" else []
    if not steps:
        return [engine_message(message, parts_of)]
    pictures = [part for ref in message.attachments for part in parts_of(ref)] if message.attachments else []
    messages = round_messages(steps, pictures)
    if message.content.strip() or message.thinking.strip():
        messages.append(Message("assistant", (Part("text", message.content),), thinking=message.thinking))
    return messages


def round_messages(steps: Sequence[ToolStep], pictures: Sequence[Part] = ()) -> list[Message]:
    """The rounds of an answer that called tools: each round's call message, then the results (``pictures``:
    the answer's attachments' parts, which calls name by position)."""
    messages: list[Message] = []
    for step in steps:
        text = (Part("text", step.text),) if step.text.strip() else ()
        calls = tuple(_engine_call(call) for call in step.calls)
        messages.append(Message("assistant", text, thinking=step.thinking, tool_calls=calls))
        shown: list[Part] = []
        for call in step.calls:
            messages.append(Message.tool_result(_engine_call(call), call.result))
            found = [pictures[i] for i in call.images if i < len(pictures)]
            if found:
                shown += [Part("text", f"Pictures returned by {call.name}:\n"), *found, Part("text", "\n")]
        if shown:
            messages.append(Message("user", tuple(shown)))
    return messages


def _engine_call(call: CallRecord) -> ToolCall:
    """A recorded call as the model wrote it (a malformed one under the name it seemed to give, no arguments)."""
    arguments = call.arguments if call.status != "malformed" else {}
    return ToolCall(call.name or "unknown", dict(arguments), call.raw, call.id)


def build_request(
    branch: Sequence[StoredMessage], conversation: Conversation, options: ChatOptions, parts_of: PartsOf
) -> GenerateRequest:
    """The request that answers the last message of ``branch``."""
    messages = tuple(em for m in sent_history(branch) for em in engine_messages(m, parts_of))
    system = conversation.system_prompt or options.system
    return GenerateRequest(
        messages=messages,
        system=system or None,
        thinking=conversation.thinking,
        max_tokens=options.max_tokens,
        sampling=options.sampling,
        speculative=options.speculative,
    )
