"""The window's side of the tool loop (``app.chat.tool_loop``): which thread does what while an answer calls tools.

``ToolRunner`` belongs to the window: the tool settings, the MCP servers (an ``McpManager`` made from them,
made again when they change, closed on a worker when the window closes; a server starts when an answer first
offers its tools, which happens off the GUI thread) and the ``ToolBox``. With no tool enabled it is idle and an
answer is asked exactly as before, without tools.

``ToolAnswer`` drives one answer's loop on the GUI thread, never blocking it: when a round of generation ends in
calls, it shows a block per call, asks the user inline (``ConsentCard``) where no standing permission covers a
call, runs each allowed call on a worker (the file tool's picker is a dialog on the GUI thread that the worker
waits for), then builds the next round's request on a worker and hands it to the engine. Stop ends the answer at
whatever step it is: a waiting card goes, a running tool's late result is dropped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from app.chat import ChatOptions, ChatSession, Turn
from app.chat.tool_loop import DEFAULT_CALL_LIMIT, ToolLoop
from app.chat.tool_steps import CallRecord, steps_from_json
from app.engine import GenerateRequest
from app.settings import Settings
from app.store import Message as StoredMessage
from app.store import Store
from app.tools.consent import ConsentRequest
from app.tools.mcp.manager import McpManager
from app.tools.tool_settings import ToolSettings
from app.tools.toolbox import ToolBox
from app.ui.chat.consent_card import ConsentCard
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.tool_block import ToolBlock
from app.ui.tasks import run_in_background, run_on_db, run_on_gui

THUMB_PX = 192


def call_limit(settings: Settings) -> int:
    """The calls one answer may make (Settings → Tools; the loop's default where the setting is not declared)."""
    try:
        return settings.get_int("tool_calls_per_answer")
    except (KeyError, AssertionError):
        return DEFAULT_CALL_LIMIT


def thumbnail(path: Path) -> QImage | None:
    image = QImage(str(path))
    if image.isNull():
        return None
    return image.scaled(
        THUMB_PX, THUMB_PX, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def show_pictures(block: ToolBlock, found: list[tuple[str, Path]]) -> None:
    """A call's pictures in its block: names at once, thumbnails when a worker has made them."""
    block.set_pictures([(name, path, None) for name, path in found])

    def show(images: list[QImage | None]) -> None:
        with contextlib.suppress(RuntimeError):  # the block is gone (another chat was opened)
            block.set_pictures([(n, p, img) for (n, p), img in zip(found, images, strict=True)])

    run_in_background(lambda: [thumbnail(path) for _, path in found], show)


def show_stored_steps(widget: MessageWidget, message: StoredMessage, store: Store) -> None:
    """A stored answer's tool steps in its message (a chat opened again), pictures from its attachments."""
    steps = steps_from_json(message.tools)
    if not steps:
        return
    widget.tools.set_steps(steps)
    refs = message.attachments
    for call in (call for step in steps for call in step.calls):
        block = widget.tools.blocks.get(call.id)
        found = [(refs[i].name, store.attachment_path(refs[i])) for i in call.images if i < len(refs)]
        if found and block is not None:
            show_pictures(block, found)


class ToolRunner(QObject):
    """The window's tools: settings, MCP servers and the toolbox; makes each answer's loop."""

    def __init__(self, settings: ToolSettings, notice: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.notice = notice
        self.mcp: McpManager | None = None
        self.toolbox = ToolBox(settings)
        self.reload(settings)

    @property
    def active(self) -> bool:
        """Any tool enabled (else answers are asked without tools, as before)."""
        return any(self.settings.is_enabled(key) for key in self.settings.enabled)

    def reload(self, settings: ToolSettings | None = None) -> None:
        """The tool settings changed: new servers from them (the old ones stop on a worker)."""
        if settings is not None:
            self.settings = settings
        old = self.mcp
        configs, problems = self.settings.server_configs()
        try:
            self.mcp = McpManager(configs)
        except Exception as error:  # two servers of one name: none of them
            self.mcp, problems = None, [*problems, str(error)]
        self.toolbox = ToolBox(self.settings, self.mcp)
        for problem in problems:
            QTimer.singleShot(0, partial(self.notice, problem))  # (at start: once the window listens)
        if old is not None:
            run_in_background(old.close)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the MCP servers (the window closes): on a worker, waited for at most ``timeout`` seconds."""
        mcp, self.mcp = self.mcp, None
        if mcp is not None:
            worker = threading.Thread(target=mcp.close, name="mcp-close", daemon=True)
            worker.start()
            worker.join(timeout)

    def loop_for(self, session: ChatSession, turn: Turn, options: ChatOptions, limit: int) -> ToolLoop | None:
        """The loop for one answer, None when no tool could be offered (a worker: servers may start here)."""
        toolbox = self.toolbox
        offer = toolbox.offer()
        for notice in offer.notices:
            run_on_gui(partial(self.notice, notice))
        return ToolLoop(session, turn, options, toolbox, offer, limit=limit) if offer else None


class ToolAnswer(QObject):
    """One answer's tool rounds in the window (GUI thread), from the end of a round to the start of the next.

    ``generate(request)`` hands a round to the engine and returns its request id; ``finish(stop_reason)`` ends
    the answer (the controller's usual ending, which writes ``loop.final()``)."""

    def __init__(
        self,
        loop: ToolLoop,
        widget: MessageWidget,
        store: Store,
        generate: Callable[[GenerateRequest], int],
        finish: Callable[[str], None],
        notice: Callable[[str], None],
    ) -> None:
        super().__init__(widget)
        self.loop = loop
        self.widget = widget
        self.store = store
        self._generate = generate
        self._finish = finish
        self._notice = notice
        self.phase = "generating"  # "calls", "preparing", "ended"
        self.card: ConsentCard | None = None
        self.picker: QFileDialog | None = None

    # -- the end of a round ---------------------------------------------------------------------------

    def round_ended(self, stop_reason: str) -> bool:
        """The round's ``Done`` came: True when it ended in calls and the answer goes on here."""
        recorder = self.loop.recorder
        if self.loop.stopped or recorder.ending(stop_reason) != "complete" or not recorder.calls:
            return False
        records = self.loop.take_calls()
        self.phase = "calls"
        self.widget.tools.add_step(recorder.thinking, recorder.answer, records)
        self.widget.next_round()
        self._next()
        return True

    def _block(self, record: CallRecord) -> ToolBlock | None:
        return self.widget.tools.blocks.get(record.id)

    def _show(self, record: CallRecord) -> None:
        block = self._block(record)
        if block is not None:
            block.update_record(record)
            if record.images:
                self._show_pictures(block, record)

    def _next(self) -> None:
        """Settle the round's next waiting call, or go on to the next round when all are settled."""
        if self.phase != "calls":
            return
        for record in self.loop.round:
            if record.finished or record.status == "running":
                self._show(record)
                continue
            consent = self.loop.consent_needed(record)
            if consent is not None:
                self._ask(record, consent)
            else:
                self._run(record)
            return
        self._advance()

    # -- consent --------------------------------------------------------------------------------------

    def _ask(self, record: CallRecord, consent: ConsentRequest) -> None:
        block = self._block(record)
        if block is None:
            self.loop.decide(record, "deny")
            self._next()
            return
        card = ConsentCard(consent, block)
        card.decided.connect(lambda decision: self._decided(record, consent, decision))
        block.consent_slot.addWidget(card)
        self.card = card
        self.widget.heightChanged.emit()
        card.focus()

    def _decided(self, record: CallRecord, consent: ConsentRequest, decision: str) -> None:
        self._drop_card()
        if self.phase != "calls":
            return
        self.loop.decide(record, decision)  # type: ignore[arg-type]
        key = consent.tool.key
        if decision == "chat":
            conversation_id = self.loop.turn.conversation.id
            session = self.loop.session
            run_on_db(lambda: session.allow_tool(conversation_id, key), None, lambda e: self._notice(str(e)))
        elif decision == "always":
            settings = self.loop.settings
            settings.allow_always(key)
            snapshot = settings.copy()
            run_in_background(snapshot.save, None, lambda e: self._notice(f"Could not save the tool settings: {e}"))
        self._show(record)
        if record.finished:
            self._next()
        else:
            self._run(record)

    def _drop_card(self) -> None:
        card, self.card = self.card, None
        if card is not None:
            card.hide()
            card.deleteLater()
            self.widget.heightChanged.emit()

    # -- running --------------------------------------------------------------------------------------

    def _run(self, record: CallRecord) -> None:
        record.status = "running"
        self._show(record)
        loop = self.loop

        def done(_ran: CallRecord) -> None:
            if self.phase == "calls":
                self._show(record)
                self._next()

        def failed(error: BaseException) -> None:
            loop.fail(record, error)
            done(record)

        run_in_background(lambda: loop.run(record, self._pick), done, failed)

    def _pick(self, kind: str, reason: str) -> Path | None:
        """Worker: ask the user on the GUI thread and wait for the answer (None: declined or stopped)."""
        chosen: list[Path | None] = []
        answered = threading.Event()

        def show() -> None:
            if self.phase != "calls":
                answered.set()
                return
            self.picker = _picker(self.widget.window(), kind, reason, chosen, answered)
            self.picker.open()

        run_on_gui(show)
        while not answered.wait(0.1):
            if self.loop.stopped:
                return None
        return chosen[0] if chosen else None

    def _show_pictures(self, block: ToolBlock, record: CallRecord) -> None:
        refs = self.loop.pictures
        show_pictures(
            block, [(refs[i].name, self.store.attachment_path(refs[i])) for i in record.images if i < len(refs)]
        )

    # -- the next round, and Stop ---------------------------------------------------------------------

    def _advance(self) -> None:
        """Every call is settled: the next round's request is built on a worker (it may decode pictures)."""
        self.phase = "preparing"
        loop = self.loop

        def go(request: GenerateRequest | None) -> None:
            if self.phase != "preparing":
                return
            if request is None or loop.stopped:
                self.phase = "ended"
                self._finish("stopped" if loop.stopped else "")
                return
            update, session = loop.recorder.update(), loop.session  # the round's calls and results, kept now
            run_on_db(lambda: session.save(update), None, lambda e: self._notice(str(e)))
            self.phase = "generating"
            loop.begin(self._generate(request))

        def failed(error: BaseException) -> None:
            loop.recorder.fail(str(error))
            self.phase = "ended"
            self._finish("error")

        run_in_background(loop.next_request, go, failed)

    def stop(self) -> bool:
        """Stop the answer; True when it ended here (no round is being generated to wait for)."""
        self.loop.stop()
        picker, self.picker = self.picker, None
        if picker is not None:
            with contextlib.suppress(RuntimeError):  # already closed (and deleted)
                picker.reject()
        if self.phase == "calls":
            self.phase = "ended"
            self._drop_card()
            self._finish("stopped")
            return True
        return self.phase != "generating"

    def ended(self) -> None:
        """The answer was written: every block shows how its call ended."""
        self.phase = "ended"
        self._drop_card()
        for step in self.loop.recorder.steps:
            for record in step.calls:
                self._show(record)


def _picker(
    parent: QWidget, kind: str, reason: str, chosen: list[Path | None], answered: threading.Event
) -> QFileDialog:
    """The file (or folder) dialog for the file tool, titled with the model's reason; answers ``answered``."""
    what = "folder" if kind == "folder" else "file"
    dialog = QFileDialog(parent, f"The model asks to read a {what}: {reason}"[:300])
    dialog.setFileMode(QFileDialog.FileMode.Directory if kind == "folder" else QFileDialog.FileMode.ExistingFile)
    dialog.setLabelText(QFileDialog.DialogLabel.Accept, f"Share this {what}")
    dialog.setLabelText(QFileDialog.DialogLabel.Reject, "Decline")
    dialog.setAccessibleDescription(reason)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished(result: int) -> None:
        files = dialog.selectedFiles()
        if result == QFileDialog.DialogCode.Accepted and files:
            chosen.append(Path(files[0]))
        answered.set()

    dialog.finished.connect(finished)
    return dialog
