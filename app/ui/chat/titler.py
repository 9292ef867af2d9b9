"""Titles the model writes for new chats, in the window: asked for in the background once an answer is finished.

What is asked and how the answer becomes a title is the conversation core's (``app.chat.titles``); this adapter
picks the moment and the threads. After an answer finishes, with the setting on and a model loaded, the stored
chat is read on the store thread (only a chat still titled by its first words, ending in a complete answer, is
titled), the request is built on the task pool and handed to the engine, behind nothing: the user is not waiting
for anything then. When the user asks something (sends, regenerates, edits) the title request is stopped at once,
so the answer never waits for a title; the model tries again after the next answer. Its text never reaches the
chat view, which takes only its own request's events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.chat.titles import clean_title, title_request, wants_title
from app.engine import GenerateRequest
from app.store import Conversation
from app.store import Message as StoredMessage
from app.ui.chat.controller import ChatController, chat_options
from app.ui.tasks import run_in_background, run_on_db

log = logging.getLogger(__name__)


class ChatTitler(QObject):
    """Asks the loaded model for a chat's title after its answer, and stores the cleaned title."""

    # Signals
    titled = Signal(int, str)  # conversation id, the title the model wrote

    def __init__(self, controller: ChatController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.bridge = controller.bridge
        #: Every title request on its way to the engine passes here (tests force the title with a grammar).
        self.before_generate: Callable[[GenerateRequest], GenerateRequest] = lambda request: request
        self._preparing = False  # a request is being read or built
        self._cancelled = False  # …and the user asked something meanwhile: it is dropped
        self._rid: int | None = None  # the engine request under way
        self._conversation_id = 0
        self._text: list[str] = []
        controller.answerFinished.connect(self._on_controller_answerFinished)
        controller.generatingChanged.connect(self._on_controller_generatingChanged)
        self.bridge.answerDelta.connect(self._on_bridge_answerDelta)
        self.bridge.done.connect(self._on_bridge_done)

    @property
    def busy(self) -> bool:
        """A title is being asked for (prepared, queued or written)."""
        return self._preparing or self._rid is not None

    def _on_controller_answerFinished(self, _answer: str) -> None:
        c = self.controller
        conversation = c.conversation
        if conversation is None or self.busy or not c.settings.get_bool("auto_titles"):
            return
        if self.bridge.model_info is None or self.bridge.closed:
            return
        cid, tools, options = conversation.id, c.offered_tools, chat_options(c.settings)
        store, parts_of = c.store, c.session.attachment_parts  # (parts: safe from any thread)
        self._preparing, self._cancelled = True, False

        def read() -> tuple[Conversation, list[StoredMessage]] | None:
            stored = store.get_conversation(cid)
            branch = store.path(cid)
            return (stored, branch) if wants_title(stored, branch) else None

        def build(found: tuple[Conversation, list[StoredMessage]] | None) -> None:
            if found is None or self._cancelled:
                self._preparing = False
                return
            stored, branch = found
            run_in_background(lambda: title_request(branch, stored, options, parts_of, tools), start, failed)

        def start(request: GenerateRequest) -> None:
            self._preparing = False
            if self._cancelled or self.bridge.closed or self.bridge.model_info is None or c.generating:
                return
            self._conversation_id, self._text = cid, []
            self._rid = self.bridge.generate(self.before_generate(request))

        def failed(error: BaseException) -> None:
            self._preparing = False
            log.warning("no title for chat %d: %s", cid, error)

        run_on_db(read, build, failed)

    def _on_controller_generatingChanged(self, generating: bool) -> None:
        if not generating:
            return
        self._cancelled = True
        if self._rid is not None:
            self.bridge.stop(self._rid)  # ends within a token; the user's request runs next

    def _on_bridge_answerDelta(self, rid: int, text: str) -> None:
        if rid == self._rid:
            self._text.append(text)

    def _on_bridge_done(self, rid: int, stop_reason: str) -> None:
        if rid != self._rid:
            return
        self._rid = None
        if stop_reason in ("stopped", "error"):
            return  # skipped (the user asked something) or refused: tried again after the next answer
        cid, title = self._conversation_id, clean_title("".join(self._text))
        store = self.controller.store

        def stored(taken: bool) -> None:
            if taken and title:
                self.titled.emit(cid, title)

        run_on_db(lambda: store.set_model_title(cid, title), stored, lambda e: log.warning("title not kept: %s", e))
