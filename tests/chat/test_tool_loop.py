"""The conversation core's tool loop with the real engine: the tiny model is forced (by grammar) to write exact
Gemma 4 calls; the loop asks for consent, runs built-in and real MCP tools, gives the model the results and
streams its follow-up answer, all kept in a real chat store."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from app.chat import ChatOptions, ChatSession
from app.chat.request import build_request
from app.chat.tool_loop import DENIED, CallEvent, ToolLoop, drive
from app.chat.tool_steps import steps_from_json
from app.engine import AnswerDelta, EngineEvent, GenerateRequest, SamplingParams
from app.store import Store
from app.tools.consent import ConsentRequest, Decision, chat_permissions
from app.tools.mcp.manager import McpManager
from app.tools.tool_settings import ToolSettings
from app.tools.toolbox import ToolBox
from tests.chat.conftest import Loaded
from tests.chat.tool_grammar import answer_grammar, calls_grammar
from tests.tools.mcp.test_client import DEMO

OPTIONS = ChatOptions(max_tokens=120, sampling=SamplingParams(seed=3))


def settings_with(tmp_path: Path, *keys: tuple[str, str], servers: Sequence[str] = ()) -> ToolSettings:
    settings = ToolSettings(tmp_path / "tools.json")
    for name in servers:
        settings.add_server((name, {"command": sys.executable, "args": [str(DEMO)]}))
    for key in keys:
        settings.set_enabled(key, True)
    return settings


class Script:
    """The engine, with each round's output forced by the next grammar; the requests it was given are kept."""

    def __init__(self, engine: Loaded, *grammars: str) -> None:
        self.engine, self.grammars, self.requests = engine, list(grammars), []

    def __call__(self, request: GenerateRequest) -> tuple[int, Iterator[EngineEvent]]:
        eng, events = self.engine
        grammar = self.grammars.pop(0)
        forced = replace(request, sampling=replace(request.sampling, grammar=grammar))
        self.requests.append(forced)
        request_id = eng.generate(forced)
        return request_id, events.until_done(request_id, timeout=60)


class Answers:
    """The user at the consent prompt: answers in order, and what each prompt showed."""

    def __init__(self, *decisions: Decision) -> None:
        self.decisions, self.asked = list(decisions), []

    def __call__(self, request: ConsentRequest) -> Decision:
        self.asked.append(request)
        return self.decisions.pop(0)


def ask_with(chat: ChatSession, toolbox: ToolBox, limit: int = 10) -> ToolLoop:
    turn = chat.send("What is six times seven?")
    return ToolLoop(chat, turn, OPTIONS, toolbox, toolbox.offer(), limit=limit)


def test_a_call_allowed_once_runs_and_its_result_reaches_the_follow_up(
    chat: ChatSession, engine: Loaded, tmp_path: Path
) -> None:
    chat.new()
    toolbox = ToolBox(settings_with(tmp_path, ("builtin", "calculator")))
    loop = ask_with(chat, toolbox)
    script = Script(engine, calls_grammar('calculator{expression:"6*7"}'), answer_grammar("It is 42."))
    user = Answers("once")
    events = list(drive(loop, script, user))

    assert [(r.tool_name, r.source_label, r.pretty_arguments) for r in user.asked] == [
        ("calculator", "Built-in", '{\n  "expression": "6*7"\n}')
    ]
    statuses = [e.record.status for e in events if isinstance(e, CallEvent)]
    assert statuses == ["pending", "running", "done"]
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == "It is 42."
    # the second round's request carries the call and its result, as the template expects them
    follow_up = script.requests[1].messages
    assert [m.role for m in follow_up[-3:]] == ["user", "assistant", "tool"]
    assert follow_up[-2].tool_calls[0].name == "calculator"
    assert follow_up[-1].parts[0].text == "42" and follow_up[-1].tool_call_id == follow_up[-2].tool_calls[0].id
    assert script.requests[0].tools and script.requests[0].tools[0]["function"]["name"] == "calculator"

    stored = chat.store.get_message(loop.turn.answer.id)
    assert stored.status == "complete" and stored.content == "It is 42."
    (step,) = steps_from_json(stored.tools)
    assert [(c.name, c.status, c.result, c.arguments) for c in step.calls] == [
        ("calculator", "done", "42", {"expression": "6*7"})
    ]
    assert step.calls[0].seconds >= 0


def test_the_rounds_are_sent_again_with_the_next_question(chat: ChatSession, engine: Loaded, tmp_path: Path) -> None:
    conversation = chat.new()
    toolbox = ToolBox(settings_with(tmp_path, ("builtin", "calculator")))
    loop = ask_with(chat, toolbox)
    list(
        drive(
            loop,
            Script(engine, calls_grammar('calculator{expression:"2+2"}'), answer_grammar("Four.")),
            Answers("once"),
        )
    )
    reopened = ChatSession(chat.store)
    reopened.open(conversation.id)
    turn = reopened.send("And twice that?")
    request = build_request(turn.history, turn.conversation, OPTIONS, reopened.attachment_parts)
    assert [m.role for m in request.messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert request.messages[2].parts[0].text == "4"
    assert request.messages[3].parts[0].text == "Four."


def test_deny_tells_the_model_and_nothing_runs(chat: ChatSession, engine: Loaded, tmp_path: Path) -> None:
    chat.new()
    toolbox = ToolBox(settings_with(tmp_path, ("builtin", "calculator")))
    loop = ask_with(chat, toolbox)
    script = Script(engine, calls_grammar('calculator{expression:"6*7"}'), answer_grammar("I cannot."))
    list(drive(loop, script, Answers("deny")))
    told = script.requests[1].messages[-1]
    assert told.role == "tool" and told.parts[0].text == DENIED
    (step,) = steps_from_json(chat.store.get_message(loop.turn.answer.id).tools)
    assert step.calls[0].status == "denied"


def test_a_malformed_call_and_an_unknown_tool_are_shown_not_run(
    chat: ChatSession, engine: Loaded, tmp_path: Path
) -> None:
    chat.new()
    toolbox = ToolBox(settings_with(tmp_path, ("builtin", "calculator")))
    loop = ask_with(chat, toolbox)
    script = Script(engine, calls_grammar("calculator{expression:6*7}", 'rm_rf{path:"/"}'), answer_grammar("Sorry."))
    user = Answers()
    list(drive(loop, script, user))
    assert user.asked == []  # neither reached the user
    (step,) = steps_from_json(chat.store.get_message(loop.turn.answer.id).tools)
    bad, unknown = step.calls
    assert bad.status == "malformed" and "could not be read" in bad.result and bad.raw.startswith("call:calculator{")
    assert unknown.status == "refused" and "no tool called 'rm_rf'" in unknown.result and "calculator" in unknown.result
    told = [m.parts[0].text for m in script.requests[1].messages if m.role == "tool"]
    assert told == [bad.result, unknown.result]


def test_the_limit_of_calls_ends_the_loop(chat: ChatSession, engine: Loaded, tmp_path: Path) -> None:
    chat.new()
    toolbox = ToolBox(settings_with(tmp_path, ("builtin", "calculator")))
    loop = ask_with(chat, toolbox, limit=1)
    again = calls_grammar('calculator{expression:"1+1"}')
    script = Script(engine, calls_grammar('calculator{expression:"1+1"}', 'calculator{expression:"2+2"}'), again)
    user = Answers("chat")
    list(drive(loop, script, user))
    assert len(user.asked) == 1 and loop.limit_reached
    stored = chat.store.get_message(loop.turn.answer.id)
    steps = steps_from_json(stored.tools)
    assert [[c.status for c in s.calls] for s in steps] == [["done", "limit"], ["limit"]]
    assert "limit of 1 tool calls" in steps[0].calls[1].result
    assert stored.status == "complete" and len(script.requests) == 2


def test_mcp_tools_chat_permission_pictures_and_a_crash(chat: ChatSession, engine: Loaded, tmp_path: Path) -> None:
    conversation = chat.new()
    settings = settings_with(tmp_path, ("demo", "add"), ("demo", "picture"), ("demo", "crash"), servers=["demo"])
    configs, problems = settings.server_configs()
    assert problems == []
    with McpManager(configs) as manager:
        toolbox = ToolBox(settings, manager)
        loop = ask_with(chat, toolbox)
        assert sorted(loop.offer.tools) == ["add", "crash", "picture"]
        script = Script(engine, calls_grammar("add{a:2,b:40}", "picture{}", "crash{}"), answer_grammar("Done."))
        user = Answers("chat", "once", "once")
        events = list(drive(loop, script, user))
        assert [r.source_label for r in user.asked] == ["MCP server ‘demo’"] * 3
        chat.allow_tool(conversation.id, ("demo", "add"))
        stored = chat.store.get_message(loop.turn.answer.id)
        (step,) = steps_from_json(stored.tools)
        add, picture, crash = step.calls
        assert (add.status, add.result) == ("done", "42")
        assert picture.status == "done" and picture.images == (0,)
        assert [a.kind for a in stored.attachments] == ["image"]
        assert crash.status == "error" and crash.result.startswith("Error: ")
        vision = script.requests[1].messages[-1]
        assert vision.role == "user" and [p.type for p in vision.parts] == ["text", "image", "text"]
        assert sum(isinstance(e, AnswerDelta) for e in events) > 0

        # the chat permission: the next answer in this chat runs add without asking
        assert chat_permissions(chat.conversation.settings) == {("demo", "add")}
        loop = ToolLoop(chat, chat.send("Again?"), OPTIONS, toolbox, toolbox.offer())
        user = Answers()
        list(drive(loop, Script(engine, calls_grammar("add{a:1,b:1}"), answer_grammar("2.")), user))
        assert user.asked == []


def test_stop_while_a_tool_runs_ends_the_answer_at_once(chat: ChatSession, engine: Loaded, tmp_path: Path) -> None:
    chat.new()
    settings = settings_with(tmp_path, ("demo", "sleepy"), servers=["demo"])
    with McpManager(settings.server_configs()[0]) as manager:
        toolbox = ToolBox(settings, manager, timeout_s=20)
        loop = ask_with(chat, toolbox)
        script = Script(engine, calls_grammar("sleepy{seconds:30}"))
        request_id, events = script(loop.request())
        loop.begin(request_id)
        for event in events:
            loop.feed(event)
        (record,) = loop.take_calls()
        loop.decide(record, "once")
        worker = threading.Thread(target=loop.run, args=(record,), daemon=True)
        worker.start()
        time.sleep(0.5)
        started = time.monotonic()
        loop.stop()
        final = loop.final()
        chat.finish(final)
        assert time.monotonic() - started < 1.0
        stored = chat.store.get_message(loop.turn.answer.id)
        assert stored.status == "stopped"
        (step,) = steps_from_json(stored.tools)
        assert step.calls[0].status == "stopped"


def test_steps_of_the_wrong_shape_read_as_no_calls(tmp_path: Path) -> None:
    with Store.open(tmp_path / "c.sqlite3") as store:
        chat = ChatSession(store)
        chat.new()
        turn = chat.send("hi")
        store.update_message(turn.answer.id, content="x", status="complete", tools=[{"calls": "not a list"}])
        assert steps_from_json(store.get_message(turn.answer.id).tools)[0].calls == []


def test_pictures_from_a_tool_are_left_out_for_a_model_that_cannot_see(
    chat: ChatSession, engine: Loaded, tmp_path: Path
) -> None:
    chat.new()
    settings = settings_with(tmp_path, ("demo", "picture"), servers=["demo"])
    with McpManager(settings.server_configs()[0]) as manager:
        toolbox = ToolBox(settings, manager)
        turn = chat.send("Draw me something.")
        loop = ToolLoop(chat, turn, OPTIONS, toolbox, toolbox.offer(), can_see=False)
        script = Script(engine, calls_grammar("picture{}"), answer_grammar("Here."))
        list(drive(loop, script, Answers("once")))
    stored = chat.store.get_message(turn.answer.id)
    (step,) = steps_from_json(stored.tools)
    assert step.calls[0].status == "done" and step.calls[0].images == ()
    assert "left out: the loaded model cannot see pictures" in step.calls[0].result
    assert stored.attachments == ()
    assert all(part.type == "text" for m in script.requests[1].messages for part in m.parts)


def test_chat_permissions_are_listed_and_revoked(chat: ChatSession) -> None:
    first = chat.new()
    chat.allow_tool(first.id, ("demo", "add"))
    second = chat.new()
    chat.allow_tool(second.id, ("builtin", "calculator"))
    chat.new()  # none
    assert [c.id for c in chat.store.conversations_with_setting("allowed_tools")] == [second.id, first.id]
    chat.allow_tool(first.id, ("demo", "add"), allowed=False)
    found = {c.id: chat_permissions(c.settings) for c in chat.store.conversations_with_setting("allowed_tools")}
    assert found == {second.id: {("builtin", "calculator")}, first.id: set()}
