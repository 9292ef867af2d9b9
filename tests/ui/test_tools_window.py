"""Tool calls in the real window, offscreen, with the real engine and the tiny Gemma 4: each round's output is
forced by a grammar (``ChatController.before_generate``), so the model calls exactly the tool a test needs; the
consent card, the tool blocks, Stop and the stored steps are what a user sees and gets."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QLineEdit, QToolButton
from pytestqt.qtbot import QtBot

from app.chat.tool_loop import DENIED
from app.chat.tool_steps import CallRecord, steps_from_json
from app.engine import GenerateRequest
from app.store import Store
from app.tools.consent import chat_permissions
from app.tools.tool_settings import ToolSettings
from app.ui.chat.consent_card import ConsentCard
from app.ui.chat.message_widget import MessageWidget
from app.ui.chat.tool_block import DISPLAY_CHARS, ToolBlock
from app.ui.shell.main_window import MainWindow
from tests.chat.tool_grammar import answer_grammar, calls_grammar
from tests.tools.mcp.test_client import DEMO
from tests.ui.conftest import WindowFactory
from tests.ui.test_main_window import configure, send, stored_path, wait_idle

pytestmark = pytest.mark.gui

CALC = ("builtin", "calculator")


def tools(home: Path, *keys: tuple[str, str], demo: bool = False, always: tuple[tuple[str, str], ...] = ()) -> None:
    """Write the tool settings the window loads: these tools enabled (and the demo MCP server)."""
    settings = ToolSettings(home / "tools.json")
    if demo:
        settings.add_server(("demo", {"command": sys.executable, "args": [str(DEMO)]}))
    for key in keys:
        settings.set_enabled(key, True)
    for key in always:
        settings.allow_always(key)
    home.mkdir(parents=True, exist_ok=True)
    settings.save()


class Script:
    """Each round the window asks for is forced by the next grammar; the requests are kept."""

    def __init__(self, window: MainWindow, *grammars: str) -> None:
        self.grammars, self.requests = list(grammars), []
        window.controller.before_generate = self

    def __call__(self, request: GenerateRequest) -> GenerateRequest:
        grammar = self.grammars.pop(0) if self.grammars else answer_grammar("Done.")
        forced = replace(request, sampling=replace(request.sampling, grammar=grammar))
        self.requests.append(forced)
        return forced


def answer_widget(window: MainWindow) -> MessageWidget:
    return window.chat.messages[-1]


def card_of(window: MainWindow) -> ConsentCard | None:
    cards = [c for c in answer_widget(window).findChildren(ConsentCard) if c.isVisible()]
    return cards[0] if cards else None


def wait_card(qtbot: QtBot, window: MainWindow) -> ConsentCard:
    qtbot.waitUntil(lambda: len(window.chat.messages) >= 2 and card_of(window) is not None, timeout=30_000)
    card = card_of(window)
    assert card is not None
    return card


def only_block(window: MainWindow) -> ToolBlock:
    (block,) = answer_widget(window).tools.blocks.values()
    return block


def start(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path, *keys: tuple[str, str], **kw
) -> MainWindow:  # type: ignore[no-untyped-def]
    configure(max_tokens=120, context_size=4096)
    tools(home, *keys, **kw)
    return open_window(tiny_model)


def test_allow_once_runs_the_call_and_the_follow_up_streams(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    window = start(qtbot, open_window, tiny_model, home, CALC)
    script = Script(window, calls_grammar('calculator{expression:"6*7"}'), answer_grammar("It is 42."))
    send(qtbot, window, "What is six times seven?")
    card = wait_card(qtbot, window)
    assert "calculator" in card.accessibleName() and "Built-in" in card.accessibleName()
    assert card.arguments.toPlainText() == '{\n  "expression": "6*7"\n}'
    assert not card.allow_once.hasFocus()  # a stray Enter allows nothing
    qtbot.mouseClick(card.allow_once, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)

    assert [m.role for m in script.requests[0].messages] == ["user"]
    assert script.requests[0].tools and script.requests[0].tools[0]["function"]["name"] == "calculator"
    told = script.requests[1].messages[-1]
    assert told.role == "tool" and told.parts[0].text == "42"
    answer = answer_widget(window)
    assert answer.text() == "It is 42."
    block = only_block(window)
    assert "calculator" in block.header.text() and "Built-in" in block.header.text()
    assert block.status.text().startswith("done ·") and ("ms" in block.status.text() or " s" in block.status.text())
    assert not block.expanded
    block.header.click()
    assert block.expanded and block.arguments.isVisible()
    assert '"expression": "6*7"' in block.arguments.toPlainText() and block.result.toPlainText() == "42"
    assert card_of(window) is None

    qtbot.waitUntil(lambda: stored_path(window)[1].status == "complete", timeout=5000)
    (step,) = steps_from_json(stored_path(window)[1].tools)
    assert [(c.name, c.status, c.result) for c in step.calls] == [("calculator", "done", "42")]


def test_deny_tells_the_model_and_the_block_says_so(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    window = start(qtbot, open_window, tiny_model, home, CALC)
    script = Script(window, calls_grammar('calculator{expression:"6*7"}'), answer_grammar("I will not."))
    send(qtbot, window, "What is six times seven?")
    card = wait_card(qtbot, window)
    qtbot.mouseClick(card.deny, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    told = script.requests[1].messages[-1]
    assert told.role == "tool" and told.parts[0].text == DENIED
    block = only_block(window)
    assert block.status.text() == "denied"
    assert answer_widget(window).text() == "I will not."


def test_a_reopened_chat_shows_its_tool_blocks(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    window = start(qtbot, open_window, tiny_model, home, CALC, always=(CALC,))
    Script(window, calls_grammar('calculator{expression:"2+2"}', before="Let me add."), answer_grammar("Four."))
    send(qtbot, window, "Two plus two?")
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "complete", timeout=5000)
    window.close()

    again = open_window()
    qtbot.waitUntil(lambda: len(again.chat.messages) == 2, timeout=5000)
    answer = again.chat.messages[1]
    assert answer.text() == "Four."
    block = only_block(again)
    assert "calculator" in block.header.text() and block.status.text().startswith("done")
    assert block.result.toPlainText() == "4" and '"2+2"' in block.arguments.toPlainText()
    assert [label.text() for label in answer.tools.texts] == ["Let me add."]


def test_stop_while_the_card_waits(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path) -> None:
    window = start(qtbot, open_window, tiny_model, home, CALC)
    Script(window, calls_grammar('calculator{expression:"6*7"}'))
    send(qtbot, window, "What is six times seven?")
    wait_card(qtbot, window)
    started = time.monotonic()
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
    wait_idle(qtbot, window, timeout=1000)
    assert time.monotonic() - started < 1.0
    assert card_of(window) is None and only_block(window).status.text() == "stopped"
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "stopped", timeout=5000)
    (step,) = steps_from_json(stored_path(window)[1].tools)
    assert step.calls[0].status == "stopped"


def test_stop_while_an_mcp_tool_runs_and_the_window_stays_responsive(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    sleepy = ("demo", "sleepy")
    window = start(qtbot, open_window, tiny_model, home, sleepy, demo=True, always=(sleepy,))
    Script(window, calls_grammar("sleepy{seconds:30}"))
    ticks: list[float] = []
    timer = QTimer(window)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    send(qtbot, window, "Sleep.")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2 and bool(answer_widget(window).tools.blocks), timeout=30_000)
    block = only_block(window)
    qtbot.waitUntil(lambda: "running" in block.status.text(), timeout=10_000)
    qtbot.wait(700)  # the tool runs: the GUI thread keeps turning
    recent = [t for t in ticks if t > time.monotonic() - 0.6]
    assert len(recent) >= 10
    started = time.monotonic()
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)
    wait_idle(qtbot, window, timeout=1000)
    assert time.monotonic() - started < 1.0
    assert block.status.text() == "stopped"
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "stopped", timeout=5000)


def test_always_allow_in_this_chat_lets_the_next_call_run_without_asking(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    window = start(qtbot, open_window, tiny_model, home, CALC)
    Script(
        window,
        calls_grammar('calculator{expression:"1+1"}'),
        answer_grammar("Two."),
        calls_grammar('calculator{expression:"2+2"}'),
        answer_grammar("Four."),
    )
    send(qtbot, window, "One plus one?")
    card = wait_card(qtbot, window)
    card.in_chat.trigger()
    wait_idle(qtbot, window)
    conversation = window.controller.conversation
    assert conversation is not None
    with Store.open(window.store_path()) as store:
        assert chat_permissions(store.get_conversation(conversation.id).settings) == {CALC}
    assert not ToolSettings.load(home / "tools.json").always_allowed  # only this chat

    asked: list[ConsentCard] = []
    timer = QTimer(window)
    timer.timeout.connect(lambda: asked.extend([c] if (c := card_of(window)) and c not in asked else []))
    timer.start(10)
    send(qtbot, window, "Two plus two?")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 4, timeout=5000)
    wait_idle(qtbot, window)
    assert asked == []
    assert answer_widget(window).text() == "Four."
    assert only_block(window).result.toPlainText() == "4"


def test_with_no_tool_enabled_the_request_offers_none(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    window = start(qtbot, open_window, tiny_model, home)
    script = Script(window, answer_grammar("Hello."))
    send(qtbot, window, "Hi")
    wait_idle(qtbot, window)
    assert [r.tools for r in script.requests] == [()]
    assert answer_widget(window).text() == "Hello." and not answer_widget(window).tools.isVisible()


def picker_of(window: MainWindow) -> QFileDialog | None:
    found = [d for d in window.findChildren(QFileDialog) if d.isVisible()]
    return found[0] if found else None


def test_the_file_tool_asks_the_user_to_pick_and_cancel_declines(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Pack the blue umbrella.", encoding="utf-8")
    window = start(qtbot, open_window, tiny_model, home, ("builtin", "read_user_file"))
    call = 'read_user_file{kind:"file",reason:"to read your packing notes"}'
    script = Script(
        window, calls_grammar(call), answer_grammar("Umbrella."), calls_grammar(call), answer_grammar("OK.")
    )
    send(qtbot, window, "What did I note?")
    qtbot.waitUntil(lambda: picker_of(window) is not None, timeout=30_000)
    dialog = picker_of(window)
    assert dialog is not None and "to read your packing notes" in dialog.windowTitle()
    assert card_of(window) is None  # picking is the consent
    name = dialog.findChild(QLineEdit, "fileNameEdit")  # the user types the path (Qt's own dialog)
    assert name is not None
    name.setText(str(notes))
    dialog.accept()
    wait_idle(qtbot, window)
    told = script.requests[1].messages[-1]
    assert told.role == "tool" and "Pack the blue umbrella." in told.parts[0].text
    assert only_block(window).status.text().startswith("done")

    send(qtbot, window, "And again?")
    qtbot.waitUntil(lambda: picker_of(window) is not None, timeout=30_000)
    dialog = picker_of(window)
    assert dialog is not None
    dialog.reject()
    wait_idle(qtbot, window)
    told = script.requests[3].messages[-1]
    assert told.role == "tool" and "did not pick" in told.parts[0].text
    assert only_block(window).status.text().startswith("failed")


def test_a_huge_result_is_shown_in_part_until_asked(qtbot: QtBot) -> None:
    record = CallRecord("call_1", "huge", {}, source="demo", tool="huge", status="done", result="x" * 1_000_000)
    started = time.monotonic()
    block = ToolBlock(record)
    qtbot.addWidget(block)
    block.show()
    block.set_expanded(True)
    qtbot.wait(50)
    assert time.monotonic() - started < 1.0
    assert len(block.result.toPlainText()) == DISPLAY_CHARS
    assert block.note.isVisible() and "of 1,000,000 characters" in block.note.text()
    assert "MCP server ‘demo’" in block.header.text() and block.status.text().startswith("done")
    started = time.monotonic()
    qtbot.mouseClick(block.show_all, Qt.MouseButton.LeftButton)
    qtbot.wait(10)
    assert time.monotonic() - started < 3.0  # a megabyte on one line scrolls sideways rather than wrap for minutes
    assert len(block.result.toPlainText()) == 1_000_000 and not block.note.isVisible()


def picture_buttons(block: ToolBlock) -> list[QToolButton]:
    return [b for b in block.body.findChildren(QToolButton) if b.accessibleName().startswith("Picture from the tool")]


def test_a_tools_picture_shows_in_its_block_now_and_when_reopened(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    picture = ("demo", "picture")
    window = start(qtbot, open_window, tiny_model, home, picture, demo=True, always=(picture,))
    old_servers = window.controller.tools.mcp if window.controller.tools else None
    window.toolSettingsChanged.emit()  # Settings → Tools changed: the servers are made again
    assert window.controller.tools is not None and window.controller.tools.mcp is not old_servers
    Script(window, calls_grammar("picture{}"), answer_grammar("A picture."))
    send(qtbot, window, "Draw.")
    wait_idle(qtbot, window)
    block = only_block(window)
    qtbot.waitUntil(lambda: any(not b.icon().isNull() for b in picture_buttons(block)), timeout=5000)
    assert answer_widget(window).attachments == []  # shown in the block, not again above the answer
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "complete", timeout=5000)
    window.close()

    again = open_window()
    qtbot.waitUntil(lambda: len(again.chat.messages) == 2, timeout=5000)
    qtbot.waitUntil(lambda: any(not b.icon().isNull() for b in picture_buttons(only_block(again))), timeout=5000)
