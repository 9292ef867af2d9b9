"""Titles the model writes, in the real window with the real engine and the tiny Gemma 4: after a new chat's first
answer the sidebar shows the model's title (forced with a grammar, so it is known), which never shows in the chat;
the user's own name is never written over; a question sent meanwhile stops the title request and goes first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from app.engine import GenerateRequest
from app.store import Store
from app.ui.shell.main_window import MainWindow
from tests.chat.tool_grammar import answer_grammar
from tests.ui.conftest import WindowFactory
from tests.ui.test_main_window import configure, send, wait_idle

pytestmark = pytest.mark.gui


class Forced:
    """A ``before_generate`` hook: every request it sees is made to write ``text`` (the first, when ``then`` is
    given, a long text, and ``then`` runs as it starts); it keeps them."""

    def __init__(self, text: str, then: Callable[[], None] | None = None) -> None:
        self.text = text
        self.then = then
        self.requests: list[GenerateRequest] = []

    def __call__(self, request: GenerateRequest) -> GenerateRequest:
        self.requests.append(request)
        text = self.text
        if self.then is not None:  # this one runs long (thousands of tokens): the user asks meanwhile
            QTimer.singleShot(0, self.then)
            self.then = None
            text, request = "la " * 3000, replace(request, max_tokens=6000)
        return replace(request, sampling=replace(request.sampling, grammar=answer_grammar(text)))


def _window(open_window: WindowFactory, tiny_model: Path, title: str) -> tuple[MainWindow, Forced]:
    configure(auto_titles=True)
    window = open_window(tiny_model)
    window.controller.before_generate = Forced("The Moon pulls the sea.")
    hook = Forced(title)
    window.chats.titler.before_generate = hook
    return window, hook


def _stored(window: MainWindow) -> tuple[str, str, int]:
    conversation = window.controller.conversation
    assert conversation is not None
    with Store.open(window.store_path()) as store:
        stored = store.get_conversation(conversation.id)
        return stored.title, stored.title_by, len(store.path(conversation.id))


def test_the_model_titles_a_new_chat_after_its_first_answer(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    window, hook = _window(open_window, tiny_model, '"**Tides of the Moon**"\n')
    send(qtbot, window, "how do tides work")
    qtbot.waitUntil(lambda: window.sidebar.titles() == ["how do tides work"], timeout=5_000)  # first words, at once
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: window.sidebar.titles() == ["Tides of the Moon"], timeout=30_000)  # cleaned
    assert window.windowTitle() == "Tides of the Moon — Gemma Desk"
    assert len(hook.requests) == 1 and hook.requests[0].messages[0].plain_text == "how do tides work"
    # Nothing of it in the chat: the question and the answer, as they were.
    assert [m.text() for m in window.chat.messages] == ["how do tides work", "The Moon pulls the sea."]
    assert _stored(window) == ("Tides of the Moon", "model", 2)

    send(qtbot, window, "and on Mars?")  # the model titles a chat once
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: len(window.chat.messages) == 4 and not window.chats.titler.busy, timeout=10_000)
    assert len(hook.requests) == 1 and window.sidebar.titles() == ["Tides of the Moon"]


def test_the_users_name_for_a_chat_is_never_written_over(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    window, hook = _window(open_window, tiny_model, "Model Title")
    send(qtbot, window, "how do tides work")
    qtbot.waitUntil(lambda: window.controller.conversation is not None and bool(window.sidebar.ids()), timeout=5_000)
    conversation = window.controller.conversation
    assert conversation is not None
    window.chats.rename(conversation.id, "My tides homework")  # renamed while the first answer is written
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: window.sidebar.titles() == ["My tides homework"], timeout=5_000)
    send(qtbot, window, "and on Mars?")
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: len(window.chat.messages) == 4, timeout=5_000)
    qtbot.wait(300)  # (time for a title request, were one to be made)
    assert hook.requests == [] and not window.chats.titler.busy
    assert window.sidebar.titles() == ["My tides homework"]
    assert _stored(window)[:2] == ("My tides homework", "user")


def test_a_question_sent_meanwhile_stops_the_title_which_comes_after_the_next_answer(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    window, hook = _window(open_window, tiny_model, "Tides and Mars")
    ends: dict[int, str] = {}
    window.bridge.done.connect(lambda rid, reason: ends.__setitem__(rid, reason))
    rids: list[int] = []
    window.bridge.answerDelta.connect(lambda rid, _t: rids.append(rid) if rid not in rids else None)
    # The user asks again the moment the title request goes to the engine, after the first answer.
    hook.then = lambda: send(qtbot, window, "and on Mars?")
    send(qtbot, window, "how do tides work")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 4, timeout=10_000)
    wait_idle(qtbot, window)
    assert window.chat.messages[3].text() == "The Moon pulls the sea."  # the user's answer came, whole
    qtbot.waitUntil(lambda: window.sidebar.titles() == ["Tides and Mars"], timeout=30_000)
    assert len(hook.requests) == 2  # stopped after the first answer, asked again after the second
    stopped = [rid for rid, reason in ends.items() if reason == "stopped"]
    assert len(stopped) == 1 and stopped[0] not in rids[:2]  # the title's, never one of the answers
    assert _stored(window) == ("Tides and Mars", "model", 4)


def test_no_title_when_the_setting_is_off(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    window, hook = _window(open_window, tiny_model, "Model Title")
    window.settings.set("auto_titles", False)
    send(qtbot, window, "how do tides work")
    wait_idle(qtbot, window)
    qtbot.wait(300)
    assert hook.requests == [] and window.sidebar.titles() == ["how do tides work"]
    assert _stored(window)[:2] == ("how do tides work", "words")
