"""Documents through the conversation core, with a real store and the real engine (tiny Gemma 4): the prompt
holds each as a fenced block headed by its name, reopening sends it byte for byte (the prefix cache still
matches), a text file deleted after the drop is still sent, exports carry documents, and a document that does
not fit is never cut: older turns go first, and a newest turn too long is refused with one line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.chat import AnswerRecorder, ChatOptions, ChatSession, Turn
from app.engine import (
    ContextTrimmed,
    Engine,
    EngineEvent,
    EventQueue,
    Failed,
    LoadRequest,
    MediaCost,
    ModelLoaded,
    Part,
    SamplingParams,
)
from app.engine.session import ModelSession
from app.media.documents import Document, PageChoice
from app.media.intake import PendingAttachment, decode_file, decode_text
from app.store import Store, StoreError
from tests.chat.conftest import OPTIONS, Loaded, answer, picture

SOURCE = 'def greet(name: str) -> str:\n    """Say hello."""\n    return f"Hello, {name}!"\n'
SMALL_CTX = 1024
Small = tuple[Engine, EventQueue, ModelSession]  # the tiny model with a small context: engine and session


def _document(path: Path, text: str) -> PendingAttachment:
    path.write_text(text, encoding="utf-8")
    return decode_file(path, "document")


def _rows(count: int, word: str) -> str:
    return "".join(f"{word} {i}: the quick brown fox jumps over the lazy dog {i * 7} times\n" for i in range(count))


def test_a_document_goes_to_the_model_as_a_fenced_block_headed_by_its_name(
    chat: ChatSession, engine: Loaded, tmp_path: Path
) -> None:
    code = _document(tmp_path / "greet.py", SOURCE)
    chat.new()
    turn = chat.send("What does it do?", [code])
    [ref] = turn.path[0].attachments
    assert (ref.kind, ref.name, ref.mime, ref.choice) == ("document", "greet.py", "text/x-python", "")
    assert chat.store.attachment_path(ref).read_bytes() == SOURCE.encode()  # kept content-addressed
    request = chat.request_for(turn, OPTIONS)
    [user] = request.messages
    block, question = user.parts
    assert block.text == f"greet.py (Python):\n```python\n{SOURCE.rstrip()}\n```\n"
    assert block.media_id == code.media_id and question.text == "What does it do?"
    recorder = answer(chat, engine, turn)
    assert recorder.stats is not None and recorder.stats.prompt_tokens > 40 and recorder.answer


def test_reopening_sends_the_document_byte_for_byte_and_the_cache_still_matches(
    store: Store, engine: Loaded, tmp_path: Path
) -> None:
    chat = ChatSession(store)
    table = _document(tmp_path / "trips.csv", "town,km\n" + "".join(f"town {i},{i * 3}\n" for i in range(80)))
    conversation = chat.new()
    first = chat.send("Which town is farthest?", [table])
    before = chat.request_for(first, OPTIONS)
    answer(chat, engine, first)
    (tmp_path / "trips.csv").unlink()  # the store's copy is what is read from now on

    reopened = ChatSession(store)  # a new session: nothing decoded yet
    reopened.open(conversation.id)
    follow_up = reopened.send("And the nearest?")
    after = reopened.request_for(follow_up, OPTIONS)
    assert after.messages[0] == before.messages[0]  # the same parts: text, media ids, order
    assert after.messages[0].parts[0].text == before.messages[0].parts[0].text
    recorder = answer(reopened, engine, follow_up)
    assert recorder.stats is not None
    document_tokens = _measure(engine, before.messages[0].parts[0])
    assert document_tokens > 400
    assert recorder.stats.reused_tokens > document_tokens  # the document was not read again


def _measure(engine: Loaded, part: Part) -> int:
    eng, events = engine
    rid = eng.measure([part])
    [cost] = [e for e in events.until_done(rid, timeout=30) if isinstance(e, MediaCost)]
    [(_id, tokens)] = cost.costs
    return tokens


def test_a_text_file_deleted_between_drop_and_send_is_still_sent(
    chat: ChatSession, engine: Loaded, tmp_path: Path
) -> None:
    notes = _document(tmp_path / "notes.md", "# Plan\n\n- pack\n- leave at nine\n")
    (tmp_path / "notes.md").unlink()
    chat.new()
    turn = chat.send("When do we leave?", [notes])
    assert (
        chat.store.attachment_path(turn.path[0].attachments[0]).read_bytes() == b"# Plan\n\n- pack\n- leave at nine\n"
    )
    assert "- leave at nine" in chat.request_for(turn, OPTIONS).messages[0].parts[0].text
    assert answer(chat, engine, turn).answer


def test_a_picture_deleted_between_drop_and_send_is_refused_by_name(
    chat: ChatSession, photo: Path, tmp_path: Path
) -> None:
    pending = picture(photo)
    photo.unlink()
    chat.new()
    with pytest.raises(StoreError, match=r"^photo\.png was not found \(it may have been moved or deleted\)\.$"):
        chat.send("What is it?", [pending])


def test_pasted_text_is_kept_and_read_back_the_same(store: Store, tmp_path: Path) -> None:
    text = "Minutes of the meeting\n" + _rows(40, "item")
    chat = ChatSession(store)
    conversation = chat.new()
    turn = chat.send("Summarise", [decode_text(text)])
    [ref] = turn.path[0].attachments
    assert (ref.name, ref.mime) == ("Pasted text.txt", "text/plain")
    sent = chat.request_for(turn, OPTIONS).messages[0].parts[0]
    again = ChatSession(store)
    again.open(conversation.id)
    assert again.attachment_parts(ref)[0] == sent and sent.text.startswith("Pasted text.txt (text):\n```\nMinutes")


def test_a_documents_page_choice_is_stored_and_read_back_with_it(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    path.write_text("# Report\n\nAll is well.\n")
    read = decode_file(path, "document")
    assert isinstance(read.payload, Document)
    choice = PageChoice(pages=(1,))
    chosen = replace(read, payload=replace(read.payload, choice=choice))
    chat = ChatSession(store)
    chat.new()
    turn = chat.send("Is all well?", [chosen])
    [ref] = turn.path[0].attachments
    assert ref.choice == '{"pages":[1]}' and PageChoice.from_json(ref.choice) == choice
    sent = chat.request_for(turn, OPTIONS).messages[0].parts[0]
    assert ChatSession(store).attachment_parts(ref) == (sent,)  # decoded again from the store, with its choice


def test_exports_carry_documents(store: Store, tmp_path: Path) -> None:
    chat = ChatSession(store)
    conversation = chat.new()
    code = _document(tmp_path / "greet.py", SOURCE)
    chat.send("Review this", [code])
    target = store.export_markdown(conversation.id, tmp_path / "out")
    markdown = target.read_text()
    assert "[greet.py](<Review this_files/greet.py>)" in markdown
    assert (tmp_path / "out" / "Review this_files" / "greet.py").read_text() == SOURCE
    data = store.export_json(conversation.id)
    [attachment] = data["messages"][0]["attachments"]
    assert (attachment["kind"], attachment["name"], attachment["choice"]) == ("document", "greet.py", {})
    json.dumps(data)  # plain JSON


# --- long documents never overflow silently -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tiny_model: Path) -> Iterator[Small]:
    """The tiny model with a 1,024-token context: as an engine (events) and as a session (prompt text)."""
    events = EventQueue()
    eng = Engine(events)
    loaded = list(events.until_done(eng.load(LoadRequest(tiny_model, n_ctx=SMALL_CTX)), timeout=60))
    assert any(isinstance(e, ModelLoaded) for e in loaded), loaded
    session, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=SMALL_CTX))
    yield eng, events, session
    session.close()
    eng.close()


def _ask(
    chat: ChatSession, small: Small, text: str, document: PendingAttachment
) -> tuple[Turn, ChatOptions, AnswerRecorder, list[EngineEvent]]:
    """Send ``text`` with ``document`` and record the small-context engine's answer; what happened."""
    eng, events, _session = small
    turn = chat.send(text, [document])
    options = ChatOptions(max_tokens=8, sampling=SamplingParams(seed=1))
    recorder = AnswerRecorder(turn.answer.id, eng.generate(chat.request_for(turn, options)))
    seen = list(chat.record(recorder, events.until_done(recorder.request_id, timeout=60)))
    return turn, options, recorder, seen


def test_an_older_turns_document_is_dropped_before_the_newest_is_cut(
    chat: ChatSession, small: Small, tmp_path: Path
) -> None:
    _eng, _events, session = small
    older = _rows(10, "alpha")  # about 420 tokens with the tiny model's vocabulary
    newer = _rows(14, "omega")  # about 590: together (with the answers) more than the context holds
    chat.new()
    _turn, _options, first, seen = _ask(chat, small, "Read the first file.", _document(tmp_path / "first.txt", older))
    assert first.error == "" and not any(isinstance(e, ContextTrimmed) for e in seen)
    turn, options, recorder, seen = _ask(chat, small, "Now the second.", _document(tmp_path / "second.txt", newer))
    [trimmed] = [e for e in seen if isinstance(e, ContextTrimmed)]
    assert trimmed.dropped_messages == 2 and trimmed.n_ctx == SMALL_CTX  # the first question and its answer
    assert recorder.error == "" and recorder.answer
    plan = session.prepare(chat.request_for(turn, options))
    try:
        prompt = plan.text
    finally:
        plan.close()
    assert newer.rstrip() in prompt  # the newest document whole …
    assert "alpha" not in prompt  # … and nothing of the older one, not even a piece


def test_a_newest_document_larger_than_the_context_is_refused_in_one_line(
    chat: ChatSession, small: Small, tmp_path: Path
) -> None:
    chat.new()
    huge = _document(tmp_path / "book.txt", _rows(120, "chapter"))
    turn, _options, recorder, seen = _ask(chat, small, "Summarise the book.", huge)
    [failed] = [e for e in seen if isinstance(e, Failed)]
    pattern = (
        r"^The newest message alone is [\d,]+ tokens and the context holds 1,024; "
        r"shorten it, attach less, or load the model with a larger context\.$"
    )
    assert re.match(pattern, failed.message), failed.message
    stored = chat.store.get_message(turn.answer.id)
    assert (stored.status, stored.content) == ("error", "")  # nothing was answered from a cut document
    assert stored.error == failed.message and recorder.answer == ""
