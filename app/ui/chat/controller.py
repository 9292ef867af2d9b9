"""The chat's logic: send, stream into the view, save as it grows, stop, regenerate, edit, branches.

Store calls run on the store thread (``run_on_db``), media decoding on the
task pool, the model on the engine's worker; this object only ever reacts to
their results on the GUI thread. While an answer streams, text is batched and
shown at most ~30 times a second, and saved at least every half second, so a
killed app loses well under a second of an answer.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from app.engine import GenerateRequest, GenerationStats, SamplingParams
from app.engine.attachments import audio_parts, image_part, parts_for, video_parts
from app.engine.prompt import Message, Part
from app.media import load_audio, load_image, load_video
from app.settings import Settings
from app.store import AttachmentRef, Conversation, Store
from app.store import Message as StoredMessage
from app.store.models import Status
from app.ui.chat.message_widget import AttachmentView, MessageWidget
from app.ui.chat.view import ChatView
from app.ui.engine_bridge import EngineBridge
from app.ui.tasks import run_in_background, run_on_db

log = logging.getLogger(__name__)

REPAINT_MS = 33  # ~30 repaints a second while streaming…
REPAINT_BUDGET = 0.1  # …unless drawing would take more than a tenth of the time: then less often
REPAINT_MAX_MS = 250
CATCH_UP_CHARS = 1500  # at most this much new text is laid out per frame; the view catches up
SAVE_EVERY_S = 0.5  # the streaming answer is written at least this often
THUMB_PX = 192


@dataclass
class _Stream:
    """One answer being generated."""

    request_id: int
    message_id: int
    widget: MessageWidget
    thinking: list[str] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    dirty: bool = False
    last_save: float = 0.0
    stats: GenerationStats | None = None
    error: str = ""
    think_started: float | None = None
    think_seconds: float | None = None
    shown: int = 0  # answer characters drawn so far
    done_reason: str | None = None  # set when the engine finished but the view is still catching up

    def thinking_text(self) -> str:
        return "".join(self.thinking)

    def answer_text(self) -> str:
        return "".join(self.answer)


def _thumbnail(path: Path) -> QImage | None:
    image = QImage(str(path))
    if image.isNull():
        return None
    return image.scaled(
        THUMB_PX, THUMB_PX, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


class ChatController(QObject):
    """Drives the chat view for the current conversation."""

    # Signals
    generatingChanged = Signal(bool)
    conversationChanged = Signal(object)  # Conversation | None
    playRequested = Signal(object)  # Path of a recording in the conversation
    previewRequested = Signal(object, int)  # MessageWidget, code block index (-1: an unfenced HTML page)
    listChanged = Signal()  # titles / order changed: refresh the sidebar
    statsChanged = Signal(object)  # GenerationStats
    notice = Signal(str)
    answerFinished = Signal(str)  # the finished answer's text (for screen readers)

    def __init__(self, store: Store, bridge: EngineBridge, view: ChatView, settings: Settings) -> None:
        super().__init__(view)
        self.store = store
        self.bridge = bridge
        self.view = view
        self.settings = settings
        self.conversation: Conversation | None = None
        self.path: list[StoredMessage] = []
        self._stream: _Stream | None = None
        self._payloads: dict[str, tuple[Part, ...]] = {}  # attachment sha256 → decoded parts
        self.thinking_for_new = settings.get_bool("thinking_default")
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._flush)
        bridge.thinkingDelta.connect(self._on_thinking)
        bridge.answerDelta.connect(self._on_answer)
        bridge.stats.connect(self._on_stats)
        bridge.failed.connect(self._on_failed)
        bridge.done.connect(self._on_done)
        bridge.contextTrimmed.connect(self._on_trimmed)

    # -- conversations ----------------------------------------------------------------------

    @property
    def generating(self) -> bool:
        """True from the moment a message is sent until its answer is finished and saved."""
        return self._busy or self._stream is not None

    _busy = False

    def open_conversation(self, conversation_id: int, done: Callable[[], None] | None = None) -> None:
        def load() -> tuple[Conversation, list[StoredMessage]]:
            return self.store.get_conversation(conversation_id), self.store.path(conversation_id)

        def show(result: tuple[Conversation, list[StoredMessage]]) -> None:
            self.conversation, self.path = result
            self._render_path()
            self.conversationChanged.emit(self.conversation)
            if done:
                done()

        run_on_db(load, show, self._on_store_error)

    def new_conversation(self, done: Callable[[Conversation], None] | None = None) -> None:
        thinking = self.thinking_for_new

        def create() -> Conversation:
            return self.store.create_conversation(thinking=thinking)

        def show(conversation: Conversation) -> None:
            self.conversation, self.path = conversation, []
            self.view.clear()
            self.conversationChanged.emit(conversation)
            self.listChanged.emit()
            if done:
                done(conversation)

        run_on_db(create, show, self._on_store_error)

    def set_thinking(self, on: bool) -> None:
        conversation = self.conversation
        if conversation is None:
            self.thinking_for_new = on  # the toggle before the first message: the new chat takes it
            return
        cid = conversation.id

        def save() -> Conversation:
            self.store.set_thinking(cid, on)
            return self.store.get_conversation(cid)

        def update(c: Conversation) -> None:
            if self.conversation and self.conversation.id == c.id:
                self.conversation = c

        run_on_db(save, update, self._on_store_error)

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
            if msg.status == "error":
                widget.set_error(msg.error or "The answer failed.")
            elif msg.status == "stopped":
                widget.set_footer("Stopped before the end.")
            elif msg.stats:
                widget.set_footer(_stats_line(msg.stats))
        widget.set_branch(msg.sibling_index, msg.sibling_count)
        widget.set_can_regenerate(last and msg.role == "assistant")
        widget.regenerateRequested.connect(lambda w=widget: self.regenerate(w))
        widget.editSubmitted.connect(lambda text, w=widget: self.edit_and_resend(w, text))
        widget.branchRequested.connect(lambda d, w=widget: self.switch_branch(w, d))
        widget.playRequested.connect(self.playRequested)
        widget.previewRequested.connect(lambda index, w=widget: self.previewRequested.emit(w, index))
        if msg.attachments:
            self._show_attachments(widget, msg.attachments)
        return widget

    def _show_attachments(self, widget: MessageWidget, refs: tuple[AttachmentRef, ...]) -> None:
        paths = [self.store.attachment_path(ref) for ref in refs]
        widget.set_attachments([AttachmentView(r.kind, r.name, p) for r, p in zip(refs, paths, strict=True)])

        def thumbs() -> list[QImage | None]:
            return [_thumbnail(p) if r.kind == "image" else None for r, p in zip(refs, paths, strict=True)]

        def show(images: list[QImage | None]) -> None:
            views = [AttachmentView(r.kind, r.name, p, img) for r, p, img in zip(refs, paths, images, strict=True)]
            with contextlib.suppress(RuntimeError):  # the widget is gone (another chat was opened)
                widget.set_attachments(views)

        run_in_background(thumbs, show)

    # -- sending ------------------------------------------------------------------------------

    def send(self, text: str, attachments: list[object]) -> None:
        """Store the user's message and an empty answer, then generate into it."""
        if self.generating:
            return
        if self.bridge.model_info is None and not self.bridge.is_loading:
            self.notice.emit("Load a model first: File → Open model… (Ctrl+L).")
            return
        self._set_generating_soon()
        if self.conversation is None:
            self.new_conversation(lambda _c: self._send_now(text, attachments))
        else:
            self._send_now(text, attachments)

    def _send_now(self, text: str, attachments: list[object]) -> None:
        conversation = self.conversation
        assert conversation is not None
        parent = self.path[-1].id if self.path else None
        model_name = self.bridge.model_info.name if self.bridge.model_info else None
        pending = list(attachments)

        def write() -> tuple[StoredMessage, StoredMessage]:
            refs: list[AttachmentRef] = []
            for att in pending:
                source = att.source_path if att.source_path is not None else att.data  # type: ignore[attr-defined]
                mime = mimetypes.guess_type(att.name)[0] or "application/octet-stream"  # type: ignore[attr-defined]
                ref = self.store.store_attachment_file(source, att.name, att.kind, mime)  # type: ignore[attr-defined]
                self._payloads[ref.sha256] = tuple(parts_for(att.payload))  # type: ignore[attr-defined]
                refs.append(ref)
            user = self.store.add_message(
                conversation.id, parent_id=parent, role="user", content=text, attachments=tuple(refs)
            )
            answer = self.store.add_message(
                conversation.id, parent_id=user.id, role="assistant", status="streaming", model=model_name
            )
            return user, answer

        def shown(result: tuple[StoredMessage, StoredMessage]) -> None:
            user, answer = result
            self.path += [user, answer]
            if self.view.messages:
                self.view.messages[-1].set_can_regenerate(False)
            self._add_widget(user, last=False)
            widget = self._add_widget(answer, last=True)
            self.view.scroll_to_bottom()
            self.listChanged.emit()
            self._generate(self.path[:-1], answer, widget)

        run_on_db(write, shown, self._on_send_failed)

    def regenerate(self, widget: MessageWidget) -> None:
        """A new version of the last answer (the old one stays as a branch)."""
        if self.generating or not self.path or self.path[-1].role != "assistant":
            return
        old = self.path[-1]
        cid = old.conversation_id
        model_name = self.bridge.model_info.name if self.bridge.model_info else None

        def write() -> StoredMessage:
            return self.store.add_message(
                cid, parent_id=old.parent_id, role="assistant", status="streaming", model=model_name
            )

        def shown(answer: StoredMessage) -> None:
            self.path[-1] = answer
            self.view.remove_from(len(self.path) - 1)
            new_widget = self._add_widget(answer, last=True)
            self._generate(self.path[:-1], answer, new_widget)

        self._set_generating_soon()
        run_on_db(write, shown, self._on_send_failed)

    def edit_and_resend(self, widget: MessageWidget, text: str) -> None:
        """A new version of a user message, answered afresh (the old one stays as a branch)."""
        if self.generating or widget not in self.view.messages:
            return
        index = self.view.messages.index(widget)
        old = self.path[index]
        model_name = self.bridge.model_info.name if self.bridge.model_info else None

        def write() -> tuple[StoredMessage, StoredMessage]:
            user = self.store.add_message(
                old.conversation_id, parent_id=old.parent_id, role="user", content=text, attachments=old.attachments
            )
            answer = self.store.add_message(
                old.conversation_id, parent_id=user.id, role="assistant", status="streaming", model=model_name
            )
            return self.store.get_message(user.id), answer

        def shown(result: tuple[StoredMessage, StoredMessage]) -> None:
            user, answer = result
            self.path = [*self.path[:index], user, answer]
            self.view.remove_from(index)
            self._add_widget(user, last=False)
            new_widget = self._add_widget(answer, last=True)
            self.view.scroll_to_bottom()
            self._generate(self.path[:-1], answer, new_widget)

        self._set_generating_soon()
        run_on_db(write, shown, self._on_send_failed)

    def switch_branch(self, widget: MessageWidget, direction: int) -> None:
        if self.generating or widget.message_id is None:
            return
        message_id = widget.message_id

        def switch() -> list[StoredMessage]:
            return self.store.switch_sibling(message_id, direction)

        def shown(path: list[StoredMessage]) -> None:
            self.path = path
            self._render_path()

        run_on_db(switch, shown, self._on_store_error)

    def stop(self) -> None:
        if self._stream is not None:
            self.bridge.stop(self._stream.request_id)

    # -- generation ---------------------------------------------------------------------------

    def _set_generating_soon(self) -> None:
        self._busy = True
        self.generatingChanged.emit(True)

    def _generate(self, history: list[StoredMessage], answer: StoredMessage, widget: MessageWidget) -> None:
        """Decode the history's attachments (off the GUI thread), then ask the engine."""
        conversation = self.conversation
        settings = self.settings
        widget.begin_stream()
        widget.set_footer("Waiting for the model to load…" if self.bridge.is_loading else "")

        def build() -> GenerateRequest:
            messages = [self._engine_message(m) for m in history if m.role != "assistant" or m.content.strip()]
            seed = settings.get_int("seed")
            max_tokens = settings.get_int("max_tokens")
            system = (conversation.system_prompt if conversation else None) or settings.get_str("system_prompt")
            return GenerateRequest(
                messages=tuple(messages),
                system=system or None,
                thinking=bool(conversation and conversation.thinking),
                max_tokens=max_tokens or None,
                sampling=SamplingParams(
                    temperature=settings.get_float("temperature"),
                    top_p=settings.get_float("top_p"),
                    top_k=settings.get_int("top_k"),
                    repeat_penalty=settings.get_float("repeat_penalty"),
                    seed=None if seed < 0 else seed,
                ),
            )

        def start(request: GenerateRequest) -> None:
            if self.bridge.closed:
                return  # the window closed while the request was being prepared
            rid = self.bridge.generate(request)
            self._stream = _Stream(rid, answer.id, widget, last_save=time.monotonic())
            self._timer.start(REPAINT_MS)

        def failed(error: BaseException) -> None:
            self._stream = _Stream(-1, answer.id, widget, error=str(error))
            self._finish("error")

        run_in_background(build, start, failed)

    def _engine_message(self, msg: StoredMessage) -> Message:
        parts: list[Part] = []
        for ref in msg.attachments:
            decoded = self._payloads.get(ref.sha256)
            if decoded is None:
                decoded = _decode_attachment(ref.kind, self.store.attachment_path(ref), ref.name)
                self._payloads[ref.sha256] = decoded
            parts.extend(decoded)
        if msg.content.strip() or not parts:
            parts.append(Part("text", msg.content))
        return Message("user" if msg.role == "user" else "assistant", tuple(parts))

    def _on_thinking(self, rid: int, text: str) -> None:
        s = self._stream
        if s is not None and s.request_id == rid:
            if s.think_started is None:
                s.think_started = time.monotonic()
            s.thinking.append(text)
            s.dirty = True

    def _on_answer(self, rid: int, text: str) -> None:
        s = self._stream
        if s is not None and s.request_id == rid:
            if s.think_started is not None and s.think_seconds is None:
                s.think_seconds = time.monotonic() - s.think_started
            s.answer.append(text)
            s.dirty = True

    def _on_stats(self, rid: int, stats: GenerationStats) -> None:
        s = self._stream
        if s is not None and s.request_id == rid:
            s.stats = stats
            self.statsChanged.emit(stats)

    def _on_failed(self, rid: int, message: str, _kind: str) -> None:
        s = self._stream
        if s is not None and s.request_id == rid:
            s.error = message

    def _on_trimmed(self, rid: int, event: object) -> None:
        s = self._stream
        if s is not None and s.request_id == rid:
            dropped = getattr(event, "dropped_messages", 0)
            self.notice.emit(
                f"This conversation is longer than the model's context: the oldest {dropped} messages "
                "were left out of what the model sees."
            )

    def _on_done(self, rid: int, stop_reason: str) -> None:
        s = self._stream
        if s is not None and s.request_id == rid:
            if s.shown >= len(s.answer_text()):
                self._finish(stop_reason)
            else:
                s.done_reason = stop_reason  # finish once the view has caught up
                s.dirty = True

    def _flush(self) -> None:
        """Repaint the streaming answer (timer, ~30 Hz) and save it every half second."""
        s = self._stream
        if s is None or not s.dirty:
            return
        s.dirty = False
        answer = s.answer_text()
        if len(answer) - s.shown > CATCH_UP_CHARS:
            cut = answer.rfind("\n", s.shown, s.shown + CATCH_UP_CHARS)
            s.shown = cut + 1 if cut > s.shown else s.shown + CATCH_UP_CHARS
            s.dirty = True  # more to draw next frame
        else:
            s.shown = len(answer)
        t0 = time.perf_counter()
        s.widget.stream(s.thinking_text() or None, answer[: s.shown] or None)
        if s.done_reason is not None and s.shown >= len(answer):
            self._finish(s.done_reason)
            return
        cost_ms = (time.perf_counter() - t0) * 1000
        # Keep drawing to ~10 % of the GUI thread so the model (sharing the CPU) keeps its speed.
        self._timer.setInterval(int(min(REPAINT_MAX_MS, max(REPAINT_MS, cost_ms / REPAINT_BUDGET))))
        now = time.monotonic()
        if now - s.last_save >= SAVE_EVERY_S:
            s.last_save = now
            self._save(s, status=None)

    def _save(self, s: _Stream, status: Status | None) -> None:
        content, thinking = s.answer_text(), s.thinking_text()
        stats = s.stats.as_dict() if s.stats is not None else None
        seconds = (
            s.think_seconds
            if s.think_seconds is not None
            else (time.monotonic() - s.think_started if s.think_started is not None else None)
        )
        mid, error = s.message_id, s.error or None

        def write() -> None:
            self.store.update_message(
                mid, content=content, thinking=thinking, thinking_seconds=seconds, status=status, error=error,
                stats=stats,
            )  # fmt: skip

        run_on_db(write, None, self._on_store_error)

    def _finish(self, stop_reason: str) -> None:
        s = self._stream
        if s is None:
            return
        self._timer.stop()
        self._stream = None
        self._busy = False
        if s.dirty or s.shown < len(s.answer_text()):
            s.widget.stream(s.thinking_text() or None, s.answer_text() or None)
        s.widget.end_stream()
        status: Status = (
            "error" if s.error or stop_reason == "error" else "stopped" if stop_reason == "stopped" else "complete"
        )
        if status == "error":
            s.widget.set_error(s.error or "The answer failed.")
        elif status == "stopped":
            s.widget.set_footer("Stopped.")
        elif s.stats is not None:
            s.widget.set_footer(_stats_line(s.stats.as_dict()))
        if stop_reason == "context_full":
            s.widget.set_footer("The context is full: start a new chat, or load the model with a larger context.")
        self._save(s, status=status)
        self._refresh_path_entry(s.message_id)
        self.generatingChanged.emit(False)
        self.listChanged.emit()
        if status != "error":
            self.answerFinished.emit(s.answer_text())

    def _refresh_path_entry(self, message_id: int) -> None:
        def load() -> StoredMessage:
            return self.store.get_message(message_id)

        def update(msg: StoredMessage) -> None:
            for i, m in enumerate(self.path):
                if m.id == msg.id:
                    self.path[i] = msg

        run_on_db(load, update, self._on_store_error)

    def save_now(self) -> None:
        """Write the streaming answer immediately (the window is closing)."""
        if self._stream is not None:
            self._save(self._stream, status="stopped")

    # -- errors -------------------------------------------------------------------------------

    def _on_send_failed(self, error: BaseException) -> None:
        self._busy = False
        self.generatingChanged.emit(False)
        self.notice.emit(f"Could not send the message: {error}")

    def _on_store_error(self, error: BaseException) -> None:
        log.error("store call failed", exc_info=error)
        self.notice.emit(str(error))


def _decode_attachment(kind: str, path: Path, name: str) -> tuple[Part, ...]:
    if kind == "image":
        return (image_part(load_image(path, name=name)),)
    if kind == "audio":
        return tuple(audio_parts(load_audio(path, name=name)))
    return tuple(video_parts(load_video(path, name=name)))


def _stats_line(stats: dict[str, object]) -> str:
    tokens = stats.get("completion_tokens", 0)
    tps = stats.get("decode_tps", 0.0)
    ttft = stats.get("ttft_s", 0.0)
    return f"{tokens} tokens · {float(tps):.1f} tok/s · first token {float(ttft):.2f} s"  # type: ignore[arg-type]
