"""The window's face of the conversation core: shows ``app.chat``'s conversation in the chat view.

The logic (what is stored, what the model is asked, how an answer ends) is ``app.chat``'s; this adapter
decides threads and draws. Every ``ChatSession`` call that touches the store runs on the store thread
(``run_on_db``), one at a time, and this object keeps copies of what they return (``conversation``,
``path``); building a request (decoding attachments) runs on the task pool; the model on the engine's
worker. While an answer streams its text is batched and drawn at most ~30 times a second, and saved at
least every half second (``AnswerRecorder.save_due``), so a killed app loses well under a second of it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from app.chat import AnswerRecorder, AnswerUpdate, ChatOptions, ChatSession, ChatSetup, Turn
from app.chat.tool_loop import ToolLoop
from app.engine import (
    AnswerDelta,
    ContextTrimmed,
    Done,
    EngineEvent,
    Failed,
    GenerateRequest,
    GenerationStats,
    SamplingParams,
    Stats,
    ThinkingDelta,
)
from app.media.documents import Document, PageChoice
from app.media.intake import PendingAttachment, decode_file
from app.settings import Settings
from app.settings.presets import chat_overrides
from app.store import AttachmentRef, Conversation, Store
from app.store import Message as StoredMessage
from app.tools.tool_settings import ToolSettings
from app.ui.chat.attachment_views import AttachmentView
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.tool_runner import ToolAnswer, ToolRunner, call_limit, show_stored_steps, thumbnail
from app.ui.chat.turn_style import stats_line
from app.ui.chat.view import ChatView
from app.ui.engine_bridge import EngineBridge
from app.ui.tasks import run_in_background, run_on_db

log = logging.getLogger(__name__)

REPAINT_MS = 33  # ~30 repaints a second while streaming…
REPAINT_BUDGET = 0.1  # …unless drawing would take more than a tenth of the time: then less often
REPAINT_MAX_MS = 250
CATCH_UP_CHARS = 1500  # at most this much new text is laid out per frame; the view catches up


@dataclass
class _Stream:
    """One answer being generated, and how much of it is drawn."""

    recorder: AnswerRecorder
    widget: MessageWidget
    dirty: bool = False
    shown: int = 0  # answer characters drawn so far
    tools: ToolAnswer | None = None  # the answer's tool rounds, when tools were offered


def _document_reader(ref: AttachmentRef, path: Path) -> Callable[[], Document]:
    """Reads a stored document as it was sent (its page choice too), for its card in the message (any thread)."""

    def read() -> Document:
        payload = decode_file(path, "document", name=ref.name, choice=PageChoice.from_json(ref.choice)).payload
        assert isinstance(payload, Document)
        return payload

    return read


def chat_options(settings: Settings, conversation: Conversation | None = None) -> ChatOptions:
    """The settings that shape an answer, read once for one request; a chat's preset sampling changes some."""
    v = {**settings.as_dict(), **(chat_overrides(conversation.settings) if conversation is not None else {})}
    seed = int(v["seed"])
    return ChatOptions(
        system=str(v["system_prompt"]) or None,
        max_tokens=int(v["max_tokens"]) or None,
        sampling=SamplingParams(
            temperature=float(v["temperature"]),
            top_p=float(v["top_p"]),
            top_k=int(v["top_k"]),
            repeat_penalty=float(v["repeat_penalty"]),
            seed=None if seed < 0 else seed,
        ),
        speculative="off" if v["speculative"] == "off" else "auto",
    )


class ChatController(QObject):
    """Drives the chat view for the current conversation."""

    # Signals
    generatingChanged = Signal(bool)
    conversationChanged = Signal(object)  # Conversation | None
    playRequested = Signal(object)  # Path of a recording in the conversation
    previewRequested = Signal(object, int)  # MessageWidget, code block index (-1: an unfenced HTML page)
    speakRequested = Signal(object)  # MessageWidget whose Speak button was pressed
    listChanged = Signal()  # titles / order changed: refresh the sidebar
    statsChanged = Signal(object)  # GenerationStats
    notice = Signal(str)
    answerFinished = Signal(str)  # the finished answer's text (for screen readers)

    def __init__(
        self,
        store: Store,
        bridge: EngineBridge,
        view: ChatView,
        settings: Settings,
        tool_settings: ToolSettings | None = None,
    ) -> None:
        super().__init__(view)
        self.store = store
        self.bridge = bridge
        self.view = view
        self.settings = settings
        self.session = ChatSession(store)  # used on the store thread only
        self._conversation: Conversation | None = None
        self.path: list[StoredMessage] = []  # the branch shown (a copy of the session's)
        self._stream: _Stream | None = None
        self._busy = False
        self.thinking_for_new = settings.get_bool("thinking_default")
        #: What a chat started without a set-up of its own begins with (the window's presets give their default).
        self.new_chat_setup: Callable[[bool], ChatSetup] = lambda thinking: ChatSetup(thinking=thinking)
        #: The window's tools (None: answers never offer any).
        self.tools = ToolRunner(tool_settings, self.notice.emit, self) if tool_settings is not None else None
        #: Every request on its way to the engine passes here (tests force each round's output with a grammar).
        self.before_generate: Callable[[GenerateRequest], GenerateRequest] = lambda request: request
        self.offered_tools: tuple[dict[str, Any], ...] = ()  # the last answer's tool declarations (for its title)
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._flush)
        bridge.thinkingDelta.connect(lambda rid, text: self._feed(ThinkingDelta(rid, text)))
        bridge.answerDelta.connect(lambda rid, text: self._feed(AnswerDelta(rid, text)))
        bridge.stats.connect(self._on_stats)
        bridge.failed.connect(lambda rid, message, _kind: self._feed(Failed(rid, message)))
        bridge.toolCall.connect(lambda _rid, event: self._feed(event))
        bridge.done.connect(self._on_done)
        bridge.contextTrimmed.connect(self._on_trimmed)

    # -- conversations ----------------------------------------------------------------------

    @property
    def generating(self) -> bool:
        """True from the moment a message is sent until its answer is finished and saved."""
        return self._busy or self._stream is not None

    @property
    def conversation(self) -> Conversation | None:
        return self._conversation

    @conversation.setter
    def conversation(self, conversation: Conversation | None) -> None:
        """Set to None when the open chat goes away (deleted): the session closes and lets its media go."""
        self._conversation = conversation
        if conversation is None:
            run_on_db(self.session.close, None, self._on_store_error)

    def open_conversation(self, conversation_id: int, done: Callable[[], None] | None = None) -> None:
        def show(result: tuple[Conversation, list[StoredMessage]]) -> None:
            self._conversation, self.path = result
            self._render_path()
            self.conversationChanged.emit(self._conversation)
            if done:
                done()

        run_on_db(lambda: self.session.open(conversation_id), show, self._on_store_error)

    def new_conversation(
        self, done: Callable[[Conversation], None] | None = None, setup: ChatSetup | None = None
    ) -> None:
        s = setup if setup is not None else self.new_chat_setup(self.thinking_for_new)

        def show(conversation: Conversation) -> None:
            self._conversation, self.path = conversation, []
            self.view.clear()
            self.conversationChanged.emit(conversation)
            self.listChanged.emit()
            if done:
                done(conversation)

        run_on_db(lambda: self.session.start(s), show, self._on_store_error)

    def set_thinking(self, on: bool) -> None:
        conversation = self._conversation
        if conversation is None:
            self.thinking_for_new = on  # the toggle before the first message: the new chat takes it
            return
        cid = conversation.id

        def update(c: Conversation) -> None:
            if self._conversation and self._conversation.id == c.id:
                self._conversation = c

        run_on_db(lambda: self.session.set_thinking(cid, on), update, self._on_store_error)

    def _render_path(self) -> None:
        self.view.clear()
        for i, msg in enumerate(self.path):
            self._add_widget(msg, last=i == len(self.path) - 1)
        self.view.scroll_to_bottom()

    def _title_for(self, msg: StoredMessage) -> str:
        if msg.role == "user":
            return "You"
        return msg.model or (self.bridge.model_info.name if self.bridge.model_info else "Gemma")

    def _add_widget(self, msg: StoredMessage, *, last: bool) -> MessageWidget:
        widget = self.view.add_message(msg.role, self._title_for(msg))
        widget.message_id = msg.id
        widget.set_content(msg.content)
        if msg.role == "assistant":
            widget.set_thinking(msg.thinking, msg.thinking_seconds)
            show_stored_steps(widget, msg, self.store)
            if msg.status == "error":
                widget.set_error(msg.error or "The answer failed.")
            elif msg.status == "stopped":
                widget.set_footer("Stopped before the end.")
            elif msg.stats:
                widget.set_footer(stats_line(msg.stats, msg.updated_at))
        widget.set_branch(msg.sibling_index, msg.sibling_count)
        widget.set_can_regenerate(last and msg.role == "assistant")
        widget.regenerateRequested.connect(lambda w=widget: self.regenerate(w))
        widget.editSubmitted.connect(lambda text, w=widget: self.edit_and_resend(w, text))
        widget.branchRequested.connect(lambda d, w=widget: self.switch_branch(w, d))
        widget.playRequested.connect(self.playRequested)
        widget.speakRequested.connect(lambda w=widget: self.speakRequested.emit(w))
        widget.previewRequested.connect(lambda index, w=widget: self.previewRequested.emit(w, index))
        if msg.attachments and not msg.tools:  # an answer's attachments are its tools' pictures
            self._show_attachments(widget, msg.attachments)
        return widget

    def _show_attachments(self, widget: MessageWidget, refs: tuple[AttachmentRef, ...]) -> None:
        paths = [self.store.attachment_path(ref) for ref in refs]

        def view(ref: AttachmentRef, path: Path, image: QImage | None = None) -> AttachmentView:
            load = _document_reader(ref, path) if ref.kind == "document" else None
            return AttachmentView(ref.kind, ref.name, path, image, ref.size, load)

        widget.set_attachments([view(r, p) for r, p in zip(refs, paths, strict=True)])
        if not any(r.kind == "image" for r in refs):
            return

        def thumbs() -> list[QImage | None]:
            return [thumbnail(p) if r.kind == "image" else None for r, p in zip(refs, paths, strict=True)]

        def show(images: list[QImage | None]) -> None:
            with contextlib.suppress(RuntimeError):  # the widget is gone (another chat was opened)
                widget.set_attachments([view(r, p, img) for r, p, img in zip(refs, paths, images, strict=True)])

        run_in_background(thumbs, show)

    # -- sending ------------------------------------------------------------------------------

    def send(self, text: str, attachments: Sequence[object]) -> None:
        """Store the user's message and an empty answer, then generate into it.

        ``attachments`` are the composer's ``PendingAttachment``s (a Qt signal carries them as a plain list)."""
        pending = [a for a in attachments if isinstance(a, PendingAttachment)]
        if len(pending) != len(attachments):
            raise TypeError("send() takes PendingAttachment objects")
        if self.generating:
            return
        if self.bridge.model_info is None and not self.bridge.is_loading:
            self.notice.emit("Load a model first: File → Open model… (Ctrl+L).")
            return
        self._set_generating_soon()
        model = self._model_name()

        def ask(_new: Conversation | None = None) -> None:
            self._ask(lambda: self.session.send(text, pending, model=model), sent=True)

        if self._conversation is None:
            self.new_conversation(ask)
        else:
            ask()

    def regenerate(self, widget: MessageWidget) -> None:
        """A new version of the last answer (the old one stays as a branch)."""
        if self.generating or not self.path or self.path[-1].role != "assistant":
            return
        model = self._model_name()
        self._set_generating_soon()
        self._ask(lambda: self.session.regenerate(model=model), scroll=False)

    def edit_and_resend(self, widget: MessageWidget, text: str) -> None:
        """A new version of a user message, answered afresh (the old one stays as a branch)."""
        message_id = widget.message_id
        if self.generating or widget not in self.view.messages or message_id is None:
            return
        model = self._model_name()
        self._set_generating_soon()
        self._ask(lambda: self.session.edit(message_id, text, model=model))

    def switch_branch(self, widget: MessageWidget, direction: int) -> None:
        message_id = widget.message_id
        if self.generating or message_id is None:
            return

        def shown(path: list[StoredMessage]) -> None:
            self.path = path
            self._render_path()

        run_on_db(lambda: self.session.switch_branch(message_id, direction), shown, self._on_store_error)

    def stop(self) -> None:
        s = self._stream
        if s is not None and (s.tools is None or not s.tools.stop()):
            self.bridge.stop(s.recorder.request_id)

    def _model_name(self) -> str | None:
        return self.bridge.model_info.name if self.bridge.model_info else None

    def _ask(self, write: Callable[[], Turn], *, sent: bool = False, scroll: bool = True) -> None:
        """Run a session action that stores a question on the store thread, show its turn, generate."""

        def shown(turn: Turn) -> None:
            self._conversation, self.path = turn.conversation, list(turn.path)
            if turn.start < len(self.view.messages):
                self.view.remove_from(turn.start)
            if self.view.messages:
                self.view.messages[-1].set_can_regenerate(False)
            for msg in turn.path[turn.start : -1]:
                self._add_widget(msg, last=False)
            widget = self._add_widget(turn.answer, last=True)
            if scroll:
                self.view.scroll_to_bottom()
            if sent:
                self.listChanged.emit()
            self._generate(turn, widget)

        run_on_db(write, shown, self._on_send_failed)

    # -- generation ---------------------------------------------------------------------------

    def _set_generating_soon(self) -> None:
        self._busy = True
        self.generatingChanged.emit(True)

    def _generate(self, turn: Turn, widget: MessageWidget) -> None:
        """Build the request (decoding attachments off the GUI thread), then ask the engine."""
        options = chat_options(self.settings, turn.conversation)
        answer_id = turn.answer.id
        widget.begin_stream()
        widget.set_footer("Waiting for the model to load…" if self.bridge.is_loading else "")
        tools, limit = (self.tools if self.tools is not None and self.tools.active else None), call_limit(self.settings)

        def prepare() -> tuple[GenerateRequest, ToolLoop | None]:
            loop = tools.loop_for(self.session, turn, options, limit) if tools is not None else None
            return (loop.request() if loop else self.session.request_for(turn, options)), loop

        def start(prepared: tuple[GenerateRequest, ToolLoop | None]) -> None:
            request, loop = prepared
            if self.bridge.closed:
                return  # the window closed while the request was being prepared
            self.offered_tools = request.tools
            rid = self.bridge.generate(self.before_generate(request))
            if loop is None:
                self._stream = _Stream(AnswerRecorder(answer_id, rid), widget)
            else:
                loop.begin(rid)
                answer = ToolAnswer(loop, widget, self.store, self._next_round, self._finish, self.notice.emit)
                self._stream = _Stream(loop.recorder, widget, tools=answer)
            self._timer.start(REPAINT_MS)

        def failed(error: BaseException) -> None:
            recorder = AnswerRecorder(answer_id, -1)
            recorder.fail(str(error))
            self._stream = _Stream(recorder, widget)
            self._finish("error")

        run_in_background(prepare, start, failed)

    def _next_round(self, request: GenerateRequest) -> int:
        """The tool loop's next round of the streaming answer: drawn from its start."""
        rid = self.bridge.generate(self.before_generate(request))
        if self._stream is not None:
            self._stream.shown, self._stream.dirty = 0, False
            self._timer.start(REPAINT_MS)
        return rid

    def _feed(self, event: EngineEvent) -> _Stream | None:
        """Give the streaming answer its event; the stream when the event was its own."""
        s = self._stream
        if s is None or not s.recorder.feed(event):
            return None
        if isinstance(event, ThinkingDelta | AnswerDelta):
            s.dirty = True
        return s

    def _on_stats(self, rid: int, stats: GenerationStats) -> None:
        if self._feed(Stats(rid, stats)) is not None:
            self.statsChanged.emit(stats)

    def _on_trimmed(self, rid: int, event: ContextTrimmed) -> None:
        if self._feed(event) is not None:
            self.notice.emit(
                f"This conversation is longer than the model's context: the oldest {event.dropped_messages} "
                "messages were left out of what the model sees."
            )

    def _on_done(self, rid: int, stop_reason: str) -> None:
        s = self._feed(Done(rid, stop_reason))
        if s is not None:
            if s.shown >= len(s.recorder.answer):
                self._finish(stop_reason)
            else:
                s.dirty = True  # finish once the view has caught up

    def _flush(self) -> None:
        """Repaint the streaming answer (timer, ~30 Hz) and save it every half second."""
        s = self._stream
        if s is None or not s.dirty:
            return
        s.dirty = False
        answer = s.recorder.answer
        if len(answer) - s.shown > CATCH_UP_CHARS:
            cut = answer.rfind("\n", s.shown, s.shown + CATCH_UP_CHARS)
            s.shown = cut + 1 if cut > s.shown else s.shown + CATCH_UP_CHARS
            s.dirty = True  # more to draw next frame
        else:
            s.shown = len(answer)
        t0 = time.perf_counter()
        s.widget.stream(s.recorder.thinking or None, answer[: s.shown] or None)
        if s.recorder.done and s.shown >= len(answer):
            self._finish(s.recorder.stop_reason or "")
            return
        cost_ms = (time.perf_counter() - t0) * 1000
        # Keep drawing to ~10 % of the GUI thread so the model (sharing the CPU) keeps its speed.
        self._timer.setInterval(int(min(REPAINT_MAX_MS, max(REPAINT_MS, cost_ms / REPAINT_BUDGET))))
        if s.recorder.save_due():
            self._save(s.recorder.update())

    def _save(self, update: AnswerUpdate) -> None:
        run_on_db(lambda: self.session.save(update), None, self._on_store_error)

    def _finish(self, stop_reason: str) -> None:
        s = self._stream
        if s is None or (s.tools is not None and s.tools.round_ended(stop_reason)):
            return  # (the round ended in tool calls: the answer goes on)
        self._timer.stop()
        self._stream = None
        self._busy = False
        recorder = s.recorder
        if s.tools is not None and s.tools.loop.stopped:
            stop_reason = "stopped"
        if s.dirty or s.shown < len(recorder.answer):
            s.widget.stream(recorder.thinking or None, recorder.answer or None)
        s.widget.end_stream()
        ending = recorder.ending(stop_reason)
        if ending == "error":
            s.widget.set_error(recorder.error or "The answer failed.")
        elif ending == "stopped":  # by the user, or cut off (a remote server gone mid-answer: the error says so)
            s.widget.set_footer(recorder.error or "Stopped.")
        elif ending == "context_full":
            s.widget.set_footer("The context is full: start a new chat, or load the model with a larger context.")
        elif recorder.stats is not None:
            s.widget.set_footer(stats_line(recorder.stats.as_dict(), time.time()))
        update = recorder.final(stop_reason) if s.tools is None else s.tools.loop.final()
        if s.tools is not None:
            s.tools.ended()
        run_on_db(lambda: self.session.finish(update), self._replace_in_path, self._on_store_error)
        self.generatingChanged.emit(False)
        self.listChanged.emit()
        if ending != "error":
            self.answerFinished.emit(recorder.answer)

    def _replace_in_path(self, message: StoredMessage) -> None:
        self.path = [message if m.id == message.id else m for m in self.path]

    def save_now(self) -> None:
        """Write the streaming answer immediately (the window is closing)."""
        if self._stream is not None:
            self._save(self._stream.recorder.update("stopped"))

    # -- errors -------------------------------------------------------------------------------

    def _on_send_failed(self, error: BaseException) -> None:
        self._busy = False
        self.generatingChanged.emit(False)
        self.notice.emit(f"Could not send the message: {error}")

    def _on_store_error(self, error: BaseException) -> None:
        log.error("store call failed", exc_info=error)
        self.notice.emit(str(error))
