"""A conversation as the user drives it: open or start one, send, regenerate, edit, switch branches.

``ChatSession`` does the store writes each action needs and returns what a client shows. It is synchronous
and knows no threads: the window runs its calls on the store thread, one at a time, and keeps copies of
what they return; the command line calls it directly. ``request_for`` alone is safe from any thread (it
reads the ``Turn`` it is given and the thread-safe payload cache), so a client may decode attachments off
its main thread.

Streaming an answer: ``send`` (or ``regenerate``/``edit``) stores the user's message and an empty answer
with status ``streaming`` and returns a ``Turn``; the client asks the engine for ``request_for(turn, …)``,
feeds the events to an ``AnswerRecorder`` and writes its updates with ``save`` as it goes and ``finish`` at
the end (``record`` does all three for a client that reads the events in a loop). An answer left
``streaming`` by a client that was killed keeps the text saved so far and becomes ``stopped`` when a client
next opens the store (``Store.recover_interrupted``).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.chat.answer import AnswerRecorder, AnswerUpdate
from app.chat.payloads import Parts, PayloadCache, cache_key, decode_stored
from app.chat.request import ChatOptions, build_request
from app.engine import EngineEvent, GenerateRequest
from app.engine.attachments import parts_for
from app.media.documents import Document
from app.media.intake import PendingAttachment, decode_image_bytes
from app.store import AttachmentRef, Conversation, Store
from app.store import Message as StoredMessage
from app.tools.consent import with_chat_permission
from app.tools.tool_settings import ToolKey


class ChatError(Exception):
    """An action that does not fit the conversation's state; ``str(error)`` is one line fit to show."""


@dataclass(frozen=True, slots=True)
class Turn:
    """A question put to the model: the branch it answers and the empty answer it streams into."""

    conversation: Conversation
    path: tuple[StoredMessage, ...]  # the whole branch now, ending with the new answer
    start: int  # the first index of ``path`` that is new (a client redraws from here)

    @property
    def answer(self) -> StoredMessage:
        return self.path[-1]

    @property
    def history(self) -> tuple[StoredMessage, ...]:
        """What the answer answers: the branch up to it."""
        return self.path[:-1]


@dataclass(frozen=True, slots=True)
class ChatSetup:
    """How a conversation answers: its own system prompt (None: the client's default), whether the model thinks,
    and what it keeps in its own settings (a client's preset: its name and sampling)."""

    system_prompt: str | None = None
    thinking: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)


class ChatSession:
    """One open conversation on a store, and the decoded attachments it owns."""

    def __init__(self, store: Store, payloads: PayloadCache | None = None) -> None:
        self.store = store
        self.payloads = payloads if payloads is not None else PayloadCache()
        self.conversation: Conversation | None = None
        self.path: list[StoredMessage] = []

    # -- conversations --------------------------------------------------------------------------------

    def open(self, conversation_id: int) -> tuple[Conversation, list[StoredMessage]]:
        """Open a stored conversation: it and its active branch."""
        conversation = self.store.get_conversation(conversation_id)
        path = self.store.path(conversation_id)
        self._show(conversation, path)
        return conversation, list(path)

    def new(
        self, *, thinking: bool = False, system_prompt: str | None = None, settings: Mapping[str, Any] | None = None
    ) -> Conversation:
        """Start a conversation (stored at once, titled by its first message)."""
        conversation = self.store.create_conversation(thinking=thinking, system_prompt=system_prompt, settings=settings)
        self._show(conversation, [])
        return conversation

    def start(self, setup: ChatSetup) -> Conversation:
        """Start a conversation set up as ``setup`` says."""
        return self.new(thinking=setup.thinking, system_prompt=setup.system_prompt, settings=setup.settings)

    def close(self) -> None:
        """No conversation open; its decoded attachments are let go."""
        self.conversation, self.path = None, []
        self.payloads.clear()

    def set_thinking(self, conversation_id: int, on: bool) -> Conversation:
        """Whether the model thinks before answering in that conversation, from its next answer on."""
        self.store.set_thinking(conversation_id, on)
        conversation = self.store.get_conversation(conversation_id)
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.conversation = conversation
        return conversation

    def set_system_prompt(self, conversation_id: int, system_prompt: str | None) -> Conversation:
        """That conversation's own system prompt (None: the client's default), from its next answer on."""
        self.store.set_system_prompt(conversation_id, system_prompt)
        conversation = self.store.get_conversation(conversation_id)
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.conversation = conversation
        return conversation

    def set_setup(self, conversation_id: int, setup: ChatSetup) -> Conversation:
        """That conversation's system prompt, thinking and the settings ``setup`` names, from its next answer on;
        the keys of its settings ``setup`` does not name (tools allowed in it) stay as they are."""
        current = self.store.get_conversation(conversation_id)
        settings = {**current.settings, **setup.settings}
        self.store.set_setup(conversation_id, setup.system_prompt or None, setup.thinking, settings)
        conversation = self.store.get_conversation(conversation_id)
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.conversation = conversation
        return conversation

    def allow_tool(self, conversation_id: int, key: ToolKey, allowed: bool = True) -> Conversation:
        """Let a tool run without asking in that conversation (or no longer); kept with the conversation."""
        conversation = self.store.get_conversation(conversation_id)
        self.store.set_settings(conversation_id, with_chat_permission(conversation.settings, key, allowed))
        conversation = self.store.get_conversation(conversation_id)
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.conversation = conversation
        return conversation

    def keep_tool_pictures(self, message_id: int, pictures: Sequence[tuple[str, bytes]]) -> list[AttachmentRef]:
        """Store pictures a tool returned as attachments of the answer ``message_id`` (safe from any thread),
        their parts cached for the next request; a picture that does not decode raises ``MediaError``."""
        decoded = [decode_image_bytes(data, name) for name, data in pictures]
        refs = []
        for attachment in decoded:
            ref = self.store.store_attachment_file(attachment.data or b"", attachment.name, "image", "image/png")
            self.payloads.put(cache_key(ref), parts_for(attachment.payload))
            refs.append(ref)
        self.store.add_attachments(message_id, refs)
        return refs

    def _show(self, conversation: Conversation, path: list[StoredMessage]) -> None:
        if self.conversation is None or self.conversation.id != conversation.id:
            self.payloads.clear()
        self.conversation, self.path = conversation, list(path)

    # -- asking ---------------------------------------------------------------------------------------

    def send(self, text: str, attachments: Sequence[PendingAttachment] = (), *, model: str | None = None) -> Turn:
        """Store the user's message (and its files) at the end of the branch, and an empty answer to it."""
        conversation = self._open_conversation()
        refs = [self._keep(attachment) for attachment in attachments]
        parent = self.path[-1].id if self.path else None
        user = self.store.add_message(
            conversation.id, parent_id=parent, role="user", content=text, attachments=tuple(refs)
        )
        return self._answer(conversation, [*self.path, user], len(self.path), model)

    def regenerate(self, *, model: str | None = None) -> Turn:
        """A new answer in place of the last one, which stays as a branch."""
        conversation = self._open_conversation()
        if not self.path or self.path[-1].role != "assistant":
            raise ChatError("There is no answer to write again.")
        return self._answer(conversation, self.path[:-1], len(self.path) - 1, model)

    def edit(self, message_id: int, text: str, *, model: str | None = None) -> Turn:
        """A new version of one of the user's messages (same attachments), answered afresh; the old one stays
        as a branch."""
        conversation = self._open_conversation()
        index = next((i for i, m in enumerate(self.path) if m.id == message_id), None)
        if index is None or self.path[index].role != "user":
            raise ChatError("That message is not one of yours in this conversation any more.")
        old = self.path[index]
        user = self.store.add_message(
            conversation.id, parent_id=old.parent_id, role="user", content=text, attachments=old.attachments
        )
        return self._answer(conversation, [*self.path[:index], user], index, model)

    def switch_branch(self, message_id: int, direction: int) -> list[StoredMessage]:
        """Show the previous (-1) or next (+1) version of a message; the new active branch."""
        self._open_conversation()
        self.path = self.store.switch_sibling(message_id, direction)
        return list(self.path)

    def _answer(self, conversation: Conversation, branch: list[StoredMessage], start: int, model: str | None) -> Turn:
        """Store the empty answer to the end of ``branch``; the branch is re-read so each message knows its
        siblings (a new version is "2/2")."""
        self.store.add_message(
            conversation.id, parent_id=branch[-1].id, role="assistant", status="streaming", model=model
        )
        self.conversation = self.store.get_conversation(conversation.id)
        self.path = self.store.path(conversation.id)
        return Turn(self.conversation, tuple(self.path), start)

    def _open_conversation(self) -> Conversation:
        if self.conversation is None:
            raise ChatError("Open or start a conversation first.")
        return self.conversation

    def _keep(self, attachment: PendingAttachment) -> AttachmentRef:
        """Copy an attachment into the store and keep its decoded parts for the request. A document that kept
        its bytes at intake (text) is stored from them, so it is sent as read even if its file is gone now."""
        payload = attachment.payload
        source = attachment.source_path if attachment.source_path is not None else attachment.data
        if isinstance(payload, Document) and attachment.data is not None:
            source = attachment.data
        if source is None:
            raise ChatError(f"{attachment.name} has no file or data to keep.")
        default = "text/plain" if attachment.kind == "document" else "application/octet-stream"
        mime = mimetypes.guess_type(attachment.name)[0] or default
        ref = self.store.store_attachment_file(source, attachment.name, attachment.kind, mime)
        if isinstance(payload, Document):
            choice = payload.choice.to_json()
            ref = replace(ref, choice="" if choice == "{}" else choice)
        self.payloads.put(cache_key(ref), parts_for(payload))
        return ref

    # -- the model's answer ---------------------------------------------------------------------------

    def request_for(self, turn: Turn, options: ChatOptions) -> GenerateRequest:
        """The engine request that answers ``turn``, attachments decoded (safe from any thread; may take a
        while when files must be decoded; raises ``MediaError`` for a file that no longer decodes)."""
        return build_request(turn.history, turn.conversation, options, self.attachment_parts)

    def attachment_parts(self, ref: AttachmentRef) -> Parts:
        """A stored attachment's parts, decoded once while its conversation is open (safe from any thread)."""
        return self.payloads.get_or_decode(
            cache_key(ref), lambda: decode_stored(ref.kind, self.store.attachment_path(ref), ref.name, ref.choice)
        )

    def record(self, recorder: AnswerRecorder, events: Iterable[EngineEvent]) -> Iterator[EngineEvent]:
        """Feed one request's events (up to its ``Done``) to ``recorder`` and yield each for the client to show;
        the answer is saved as it grows and finished after the last event. A client that stops reading early
        leaves it ``streaming``, as a killed one would (``Store.recover_interrupted`` makes it ``stopped``)."""
        for event in events:
            recorder.feed(event)
            yield event
            if recorder.save_due():
                self.save(recorder.update())
        self.finish(recorder.final())

    def save(self, update: AnswerUpdate) -> None:
        """Write a streaming answer as it is so far."""
        self.store.update_message(
            update.message_id,
            content=update.content,
            thinking=update.thinking,
            thinking_seconds=update.thinking_seconds,
            status=update.status,
            error=update.error,
            stats=update.stats,
            tools=update.tools,
        )

    def finish(self, update: AnswerUpdate) -> StoredMessage:
        """Write the answer's last state; the stored message, also put in place in ``path``."""
        self.save(update)
        message = self.store.get_message(update.message_id)
        self.path = [message if m.id == message.id else m for m in self.path]
        return message
