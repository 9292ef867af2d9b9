"""One answer that may call tools: generate, run the calls the user allows, give the model the results, repeat.

``ToolLoop`` holds the state and makes every decision; it does no threading, so both clients drive it their own
way. The command line calls ``drive`` (a plain loop). The window drives the same steps from its threads:

1. ``request()`` is the engine request for the first round (history, the offered tools); once the engine took
   it, ``begin(request_id)``; its events go to ``feed`` (and the answer to the store through ``recorder``'s
   updates, as for any answer).
2. After the round's ``Done``, ``take_calls()`` turns the calls the model wrote into ``CallRecord``s. Calls that
   cannot run are settled at once, and the model will be told why: one it wrote wrongly (``malformed``), a name
   that was not offered (``refused``), one past the answer's limit of calls (``limit``).
3. For each call still ``pending``: ``consent_needed`` says whether the user must be asked (there is no
   standing permission); ``decide`` takes the answer; ``run`` (blocking: a worker thread) runs an allowed call.
4. ``next_request()`` is the next round's request (then ``begin`` again), or None when the answer is over:
   the model wrote no call, the user pressed Stop (``stop``, at any step), or it kept calling past the limit.
5. ``final()`` is the answer's last write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from app.chat.answer import AnswerRecorder, AnswerUpdate
from app.chat.conversation import ChatSession, Turn
from app.chat.request import ChatOptions, round_messages
from app.chat.tool_steps import CallRecord, ToolStep
from app.engine import Done, EngineEvent, GenerateRequest, ToolCall
from app.media.errors import MediaError
from app.store import AttachmentRef
from app.tools.consent import ConsentRequest, Decision, chat_permissions, standing_permission
from app.tools.tool_settings import ToolKey, ToolSettings
from app.tools.toolbox import Offer, OfferedTool, Picker, ToolBox

#: The calls one answer may make when the client does not say (the window's setting defaults to it too).
DEFAULT_CALL_LIMIT = 10

DENIED = "The user declined this call, so it was not run. Answer without it, or ask the user."
STOPPED = "Not run: the user stopped the answer."


@dataclass(frozen=True)
class CallEvent:
    """A call changed (found, allowed, ran, settled): for a client that prints calls as they happen. ``record``
    is a copy, as the call was at that moment."""

    record: CallRecord

    @classmethod
    def of(cls, record: CallRecord) -> CallEvent:
        return cls(replace(record))


class ToolLoop:
    """The tool calls of the answer ``turn`` streams into; ``offer`` is what the model may call."""

    def __init__(
        self,
        session: ChatSession,
        turn: Turn,
        options: ChatOptions,
        toolbox: ToolBox,
        offer: Offer,
        *,
        limit: int = DEFAULT_CALL_LIMIT,
        can_see: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.turn = turn
        self.options = options
        self.toolbox = toolbox
        self.offer = offer
        self.limit = max(1, limit)
        self.can_see = can_see  # the loaded model takes pictures (else a tool's pictures are left out, said so)
        self.recorder = AnswerRecorder(turn.answer.id, -1)
        self.round: list[CallRecord] = []  # the calls of the round that just ended
        self.made = 0  # calls the model made in this answer, counted against ``limit``
        self._refs: list[AttachmentRef] = []  # the answer's attachments: pictures tools returned, in order
        self._allowed: set[ToolKey] = set()  # allowed for the chat or everywhere during this answer
        self._stopped = threading.Event()
        self._clock = clock

    @property
    def settings(self) -> ToolSettings:
        return self.toolbox.settings

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @property
    def pictures(self) -> tuple[AttachmentRef, ...]:
        """The answer's attachments so far: the pictures tools returned (a record's ``images`` index these)."""
        return tuple(self._refs)

    # -- a round --------------------------------------------------------------------------------------

    def request(self) -> GenerateRequest:
        """The engine request for the round about to be generated (decodes attachments: may take a while)."""
        base = self.session.request_for(self.turn, self.options)
        pictures = [part for ref in self._refs for part in self.session.attachment_parts(ref)]
        rounds = round_messages(self.recorder.steps, pictures)
        return replace(base, messages=base.messages + tuple(rounds), tools=self.offer.declarations())

    def begin(self, request_id: int) -> None:
        """The engine took this round's request under ``request_id``: its events are this answer's."""
        self.recorder.request_id = request_id

    def feed(self, event: EngineEvent) -> bool:
        return self.recorder.feed(event)

    def take_calls(self) -> list[CallRecord]:
        """The round's calls as records: those that cannot run are settled here, the rest wait (``pending``)."""
        self.round = []
        for event in self.recorder.calls:
            self.made += 1
            self.round.append(self._record(event, f"call_{self.made}"))
        return list(self.round)

    def _record(self, event: ToolCall, call_id: str) -> CallRecord:
        record = CallRecord(call_id, event.name, dict(event.arguments), event.raw, error=event.error)
        tool = self.offer.find(event.name)
        if tool is not None:
            record.source, record.tool = tool.source, tool.spec.name
        if self.stopped:
            self._settle(record, "stopped", STOPPED)
        elif self.made > self.limit:  # first: a model that keeps writing bad calls is bounded too
            self._settle(
                record,
                "limit",
                f"Not run: this answer has reached its limit of {self.limit} tool calls. "
                "Answer the user with what you have.",
            )
        elif event.error:
            self._settle(
                record,
                "malformed",
                f"Your tool call could not be read ({event.error}), so nothing was run. "
                "Write the call again in the exact tool-call format, or answer without it.",
            )
        elif tool is None:
            names = ", ".join(self.offer.tools) or "none"
            self._settle(
                record,
                "refused",
                f"There is no tool called {event.name!r} here, so nothing was run. The tools you can call: {names}.",
            )
        return record

    @staticmethod
    def _settle(record: CallRecord, status: str, told: str) -> None:
        record.status = status  # type: ignore[assignment]
        record.result = told

    # -- consent and running --------------------------------------------------------------------------

    def tool_for(self, record: CallRecord) -> OfferedTool | None:
        return self.offer.find(record.name)

    def consent_needed(self, record: CallRecord) -> ConsentRequest | None:
        """What to ask the user before ``record`` runs; None when a standing permission (or, for the file
        tool, the user's own pick at call time) covers it."""
        tool = self.tool_for(record)
        if tool is None or record.finished or tool.needs_picker:
            return None
        if tool.key in self._allowed:
            return None
        chat = chat_permissions(self.turn.conversation.settings)
        if standing_permission(tool, self.settings, chat):
            return None
        return ConsentRequest(record.id, tool, record.arguments)

    def decide(self, record: CallRecord, decision: Decision) -> None:
        """The user's answer for ``record``. Keeping "chat" and "always" permissions is the client's
        (``ChatSession.allow_tool``; ``ToolSettings.allow_always`` and save); this answer honours them at once."""
        tool = self.tool_for(record)
        if decision == "deny":
            self._settle(record, "denied", DENIED)
        elif decision in ("chat", "always") and tool is not None:
            self._allowed.add(tool.key)

    def run(self, record: CallRecord, pick: Picker | None = None) -> CallRecord:
        """Run an allowed call (blocking: from a worker thread); the tool's pictures become the answer's
        attachments. A call settled already, or stopped meanwhile, is left as it is."""
        tool = self.tool_for(record)
        if record.finished or tool is None:
            return record
        if self.stopped:
            self._settle(record, "stopped", STOPPED)
            return record
        record.status = "running"
        started = self._clock()
        result = self.toolbox.run(tool, record.arguments, pick)
        record.seconds = self._clock() - started
        if self.stopped:
            self._settle(record, "stopped", "Stopped by the user while it ran; its result was not used.")
            return record
        text = result.text if result.text.strip() or result.images else "(the tool returned nothing)"
        notes = self._keep_pictures(record, result.images)
        self._settle(record, "error" if result.is_error else "done", ("Error: " if result.is_error else "") + text)
        if notes:
            record.result += "\n" + "\n".join(notes)
        return record

    def _keep_pictures(self, record: CallRecord, images: Iterable[bytes]) -> list[str]:
        found = [(f"{record.tool or record.name}-{i + 1}{_suffix(data)}", data) for i, data in enumerate(images)]
        if not found:
            return []
        if not self.can_see:
            return [f"[{len(found)} picture(s) left out: the loaded model cannot see pictures]"]
        try:
            refs = self.session.keep_tool_pictures(self.turn.answer.id, found)
        except MediaError as error:
            return [f"[pictures left out: {error}]"]
        start = len(self._refs)
        self._refs += refs
        record.images = tuple(range(start, start + len(refs)))
        return []

    def fail(self, record: CallRecord, error: BaseException | str) -> None:
        """A call whose run broke down outside the tool (a bug, a worker that died): the model is told it failed."""
        self._settle(record, "error", f"Error: {error}")

    def stop(self) -> None:
        """Stop at whatever step the answer is: waiting calls are not run, a running one's result is dropped."""
        self._stopped.set()
        for record in self.round:
            if not record.finished and record.status != "running":
                self._settle(record, "stopped", STOPPED)

    # -- the next round, and the end ------------------------------------------------------------------

    def next_request(self) -> GenerateRequest | None:
        """Keep the round just settled and return the next round's request; None when the answer is over."""
        if not self.round:
            return None
        if any(not record.finished for record in self.round):
            raise RuntimeError("every call must be settled before the next round")
        self.recorder.next_round(ToolStep(calls=list(self.round)))
        go_on = not self.stopped and any(r.status not in ("limit", "stopped") for r in self.round)
        self.round = []
        return self.request() if go_on else None

    @property
    def limit_reached(self) -> bool:
        return self.made > self.limit

    def final(self) -> AnswerUpdate:
        """The answer's last write (its unfinished round, if Stop came during one, kept as a step)."""
        if self.round:
            for record in self.round:
                if not record.finished:
                    self._settle(record, "stopped", STOPPED)
            self.recorder.next_round(ToolStep(calls=list(self.round)))
            self.round = []
        return self.recorder.final("stopped" if self.stopped else None)


def _suffix(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data.startswith(b"\xff\xd8"):
        return ".jpg"
    if data.startswith(b"GIF8"):
        return ".gif"
    return ".webp" if data[8:12] == b"WEBP" else ".png"


# -- a plain driver (the command line, tests) ---------------------------------------------------------


def drive(
    loop: ToolLoop,
    generate: Callable[[GenerateRequest], tuple[int, Iterable[EngineEvent]]],
    ask: Callable[[ConsentRequest], Decision],
    *,
    pick: Picker | None = None,
) -> Iterator[EngineEvent | CallEvent]:
    """Run the whole answer on this thread. ``generate`` hands a request to the engine and returns its id and
    its events (up to its ``Done``). Each round's events and each call's changes are yielded as they happen;
    the answer is saved as it grows and finished at the end (stopped, when the caller stops reading early)."""
    session = loop.session
    request: GenerateRequest | None = loop.request()
    finished = False
    try:
        while request is not None:
            request_id, events = generate(request)
            loop.begin(request_id)
            for event in events:
                loop.feed(event)
                yield event
                if loop.recorder.save_due():
                    session.save(loop.recorder.update())
                if isinstance(event, Done) and event.request_id == request_id:
                    break
            if loop.recorder.ending() in ("error", "stopped"):
                break
            yield from _settle_round(loop, ask, pick)
            session.save(loop.recorder.update())
            request = loop.next_request()
        finished = True
    finally:
        if not finished:
            loop.stop()
        session.finish(loop.final())


def _settle_round(
    loop: ToolLoop, ask: Callable[[ConsentRequest], Decision], pick: Picker | None
) -> Iterator[CallEvent]:
    for record in loop.take_calls():
        yield CallEvent.of(record)
        if record.finished:
            continue
        consent = loop.consent_needed(record)
        if consent is not None:
            loop.decide(record, ask(consent))
        if not record.finished:
            record.status = "running"
            yield CallEvent.of(record)
        loop.run(record, pick)
        yield CallEvent.of(record)
