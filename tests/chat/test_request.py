"""What the model is asked: a stored branch and the options, as a ``GenerateRequest`` (real store, no engine)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.chat import ChatOptions, ChatSession, build_request, sent_history
from app.engine import Part, SamplingParams
from app.store import AttachmentRef, Status, Store
from app.store import Message as StoredMessage
from tests.chat.conftest import picture


def no_attachments(ref: AttachmentRef) -> Sequence[Part]:
    raise AssertionError(f"{ref.name} should not be decoded")


def exchange(store: Store, cid: int, parent: int | None, ask: str, answer: str, status: Status = "complete") -> int:
    user = store.add_message(cid, parent_id=parent, role="user", content=ask)
    reply = store.add_message(cid, parent_id=user.id, role="assistant", content=answer)
    store.update_message(reply.id, status=status, error="It failed." if status == "error" else None)
    return reply.id


def texts(branch: list[StoredMessage]) -> list[str]:
    return [m.content for m in sent_history(branch)]


def test_a_failed_exchange_is_left_out_with_the_message_it_answered(store: Store) -> None:
    cid = store.create_conversation().id
    last = exchange(store, cid, None, "Hello", "Hi!")
    last = exchange(store, cid, last, "A question the engine refused", "half an ans", status="error")
    store.add_message(cid, parent_id=last, role="user", content="Another try")
    assert texts(store.path(cid)) == ["Hello", "Hi!", "Another try"]


def test_an_answer_stopped_before_it_said_anything_is_left_out_but_an_empty_complete_one_is_kept(
    store: Store,
) -> None:
    cid = store.create_conversation().id
    last = exchange(store, cid, None, "One", "", status="stopped")
    last = exchange(store, cid, last, "Two", "cut sh", status="stopped")
    last = exchange(store, cid, last, "Three", "", status="complete")
    store.add_message(cid, parent_id=last, role="user", content="Four")
    assert texts(store.path(cid)) == ["One", "Two", "cut sh", "Three", "", "Four"]


def test_answering_again_after_a_failure_still_sends_the_question(store: Store) -> None:
    cid = store.create_conversation().id
    exchange(store, cid, None, "Hello", "", status="error")
    question = store.path(cid)[:-1]  # what a regenerated answer answers
    assert texts(question) == ["Hello"]


def test_the_request_takes_the_conversation_s_prompt_and_thinking_and_the_options(store: Store) -> None:
    conversation = store.create_conversation(thinking=True, system_prompt="Be brief.")
    store.add_message(conversation.id, parent_id=None, role="user", content="Hi")
    options = ChatOptions(system="Default prompt", max_tokens=12, sampling=SamplingParams(temperature=0.5, seed=7))
    request = build_request(store.path(conversation.id), conversation, options, no_attachments)
    assert (request.system, request.thinking, request.max_tokens, request.sampling) == (
        "Be brief.",
        True,
        12,
        SamplingParams(temperature=0.5, seed=7),
    )
    plain = store.create_conversation()
    store.add_message(plain.id, parent_id=None, role="user", content="Hi")
    request = build_request(store.path(plain.id), plain, options, no_attachments)
    assert (request.system, request.thinking) == ("Default prompt", False)
    assert build_request(store.path(plain.id), plain, ChatOptions(system=""), no_attachments).system is None


def test_a_message_is_its_attachments_then_its_text(chat: ChatSession, photo: Path) -> None:
    chat.new()
    turn = chat.send("What is it?", [picture(photo)])
    [message] = chat.request_for(turn, ChatOptions()).messages
    assert [p.type for p in message.parts] == ["image", "text"]
    assert message.parts[0].media_id == picture(photo).media_id
    assert message.parts[1].text == "What is it?"
    turn = chat.send("   ", [picture(photo)])  # blank text next to a picture: the picture alone
    assert [p.type for p in chat.request_for(turn, ChatOptions()).messages[-1].parts] == ["image"]
