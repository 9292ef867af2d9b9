"""The conversation core with the real engine and a real store: send, stream, save as it goes, recover a killed
answer, regenerate, edit, switch branches."""

from __future__ import annotations

from pathlib import Path

from app.chat import AnswerRecorder, ChatOptions, ChatSession
from app.engine import Done, SamplingParams
from app.store import Store
from tests.chat.conftest import OPTIONS, Loaded, answer, picture


def test_send_streams_the_answer_into_the_store(chat: ChatSession, engine: Loaded) -> None:
    conversation = chat.new()
    turn = chat.send("Hello there", model="Tiny Gemma 4")
    assert [(m.role, m.status) for m in turn.path] == [("user", "complete"), ("assistant", "streaming")]
    assert turn.start == 0 and turn.conversation.title == "Hello there"
    assert chat.store.get_message(turn.answer.id).status == "streaming"
    recorder = answer(chat, engine, turn)
    stored = chat.store.path(conversation.id)
    assert stored[-1].content == recorder.answer != ""
    assert (stored[-1].status, stored[-1].model) == ("complete", "Tiny Gemma 4")
    assert stored[-1].stats is not None and stored[-1].stats["completion_tokens"] == 8
    assert chat.path[-1] == stored[-1]  # the session's branch shows the finished answer


def test_a_follow_up_sends_the_whole_conversation(chat: ChatSession, engine: Loaded, photo: Path) -> None:
    chat.new()
    first = answer(chat, engine, chat.send("What is in the picture?", [picture(photo)]))
    turn = chat.send("What colour is it?")
    request = chat.request_for(turn, OPTIONS)
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]
    assert request.messages[1].plain_text == first.answer
    second = answer(chat, engine, turn)
    assert second.stats is not None and second.stats.media_tokens == 80  # the picture went along again
    assert second.stats.media_encoded == 0 and second.stats.reused_tokens > 80  # …from the engine's cache


def test_the_answer_is_saved_as_it_streams_and_a_killed_one_is_recovered_as_stopped(
    tmp_path: Path, engine: Loaded
) -> None:
    eng, events = engine
    db = tmp_path / "chats.sqlite3"
    store = Store.open(db)
    chat = ChatSession(store)
    conversation = chat.new()
    turn = chat.send("Write forever")
    recorder = AnswerRecorder(turn.answer.id, eng.generate(chat.request_for(turn, ChatOptions())), save_every_s=0.05)
    seen: list[str] = []
    with Store.open(db) as reader:  # another connection, as another process would read the file
        for _event in chat.record(recorder, events.until_done(recorder.request_id, timeout=60)):
            saved = reader.get_message(turn.answer.id).content
            if saved and (not seen or saved != seen[-1]):
                seen.append(saved)
            if len(seen) >= 3:
                break  # the client dies here: no more saves, no last write
    eng.stop(recorder.request_id)
    assert isinstance(list(events.until_done(recorder.request_id, timeout=30))[-1], Done)  # the engine is free
    store.close()
    assert len(seen) == 3 and all(recorder.answer.startswith(text) for text in seen)  # growing prefixes

    with Store.open(db) as reopened:
        assert reopened.get_message(turn.answer.id).status == "streaming"
        assert reopened.recover_interrupted() == 1
        again = ChatSession(reopened)
        _conversation, path = again.open(conversation.id)
        assert path[-1].status == "stopped" and path[-1].content == seen[-1]
        follow_up = again.send("Go on")
        assert again.request_for(follow_up, OPTIONS).messages[1].plain_text == seen[-1]  # what was kept is sent


def test_regenerate_makes_a_sibling_answer_and_switching_branches_shows_either(
    chat: ChatSession, engine: Loaded
) -> None:
    chat.new()
    first = answer(chat, engine, chat.send("Tell me a joke"))
    old_id = chat.path[-1].id
    turn = chat.regenerate()
    assert turn.start == 1 and len(turn.path) == 2 and turn.answer.id != old_id
    assert (turn.answer.sibling_index, turn.answer.sibling_count) == (2, 2)
    different = ChatOptions(max_tokens=8, sampling=SamplingParams(seed=2))
    second = answer(chat, engine, turn, different)
    assert second.answer != first.answer

    path = chat.switch_branch(turn.answer.id, -1)
    assert path[-1].id == old_id and path[-1].content == first.answer and path[-1].sibling_index == 1
    path = chat.switch_branch(old_id, +1)
    assert path[-1].content == second.answer and chat.path == path


def test_edit_makes_a_new_branch_from_that_message_and_keeps_its_attachments(
    chat: ChatSession, engine: Loaded, photo: Path
) -> None:
    chat.new()
    answer(chat, engine, chat.send("What is it?", [picture(photo)]))
    answer(chat, engine, chat.send("And then?"))
    original = [m.id for m in chat.path]
    turn = chat.edit(original[0], "What is this picture, really?")
    assert turn.start == 0 and [m.role for m in turn.path] == ["user", "assistant"]
    edited = turn.path[0]
    assert edited.content == "What is this picture, really?" and (edited.sibling_index, edited.sibling_count) == (2, 2)
    assert edited.attachments == chat.store.get_message(original[0]).attachments != ()
    recorder = answer(chat, engine, turn)
    assert recorder.stats is not None and recorder.stats.media_tokens == 80

    back = chat.switch_branch(edited.id, -1)
    assert [m.id for m in back] == original  # the old branch, whole


def test_a_failed_answer_is_stored_with_its_reason_and_the_next_turn_leaves_it_out(
    chat: ChatSession, engine: Loaded
) -> None:
    chat.new()
    too_long = "word " * 6000  # more than the 4096-token context by itself
    recorder = answer(chat, engine, chat.send(too_long))
    assert recorder.ending() == "error"
    stored = chat.store.get_message(chat.path[-1].id)
    assert stored.status == "error" and stored.error and "context" in stored.error
    turn = chat.send("Hello")
    assert [m.plain_text for m in chat.request_for(turn, OPTIONS).messages] == ["Hello"]
    assert answer(chat, engine, turn).ending() == "complete"
