"""Streaming answers: cheap durable updates, and a partial answer that survives the app being killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.store import NotFound, Store, StoreError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "chats.sqlite3") as opened:
        yield opened


def test_update_message_changes_only_what_it_is_given(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", status="streaming", model="gemma-4-e4b")
    assert a.status == "streaming" and a.content == ""
    store.update_message(a.id, thinking="Let me think", thinking_seconds=1.5)
    store.update_message(a.id, content="The answer")
    store.update_message(a.id, status="complete", stats={"tokens": 12, "tokens_per_s": 41.5})
    done = store.get_message(a.id)
    assert (done.content, done.thinking, done.thinking_seconds, done.status, done.model) == (
        "The answer",
        "Let me think",
        1.5,
        "complete",
        "gemma-4-e4b",
    )
    assert done.stats == {"tokens": 12, "tokens_per_s": 41.5}
    assert done.updated_at >= done.created_at
    store.update_message(a.id, status="error", error="The model ran out of memory.")
    failed = store.get_message(a.id)
    assert (failed.status, failed.error, failed.content) == ("error", "The model ran out of memory.", "The answer")
    with pytest.raises(NotFound, match=r"^That message no longer exists\.$"):
        store.update_message(9999, content="x")
    with pytest.raises(StoreError, match="status"):
        store.update_message(a.id, status="finished")  # type: ignore[arg-type]


def test_finishing_a_stream_moves_the_conversation_up(store: Store) -> None:
    one, two = store.create_conversation("one"), store.create_conversation("two")
    q = store.add_message(one.id, parent_id=None, role="user", content="Q")
    a = store.add_message(one.id, parent_id=q.id, role="assistant", status="streaming")
    store.add_message(two.id, parent_id=None, role="user", content="later")
    assert store.list_conversations()[0].title != "one"
    store.update_message(a.id, content="done", status="complete")
    assert store.list_conversations()[0].title == "one"


def test_recover_interrupted_stops_streaming_messages_and_keeps_their_text(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", status="streaming")
    store.update_message(a.id, content="half an ans", thinking="hmm")
    assert store.recover_interrupted() == 1
    stopped = store.get_message(a.id)
    assert (stopped.status, stopped.content, stopped.thinking) == ("stopped", "half an ans", "hmm")
    assert store.recover_interrupted() == 0
    assert [c.id for c in store.list_conversations("half an")] == [chat.id]  # now searchable


def test_many_small_updates_are_cheap(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", status="streaming")
    text = ""
    start = time.perf_counter()
    for i in range(2000):
        text += f"token{i} "
        store.update_message(a.id, content=text)
    elapsed = time.perf_counter() - start
    store.update_message(a.id, status="complete")
    assert store.get_message(a.id).content == text
    assert elapsed < 10, f"2000 streaming updates took {elapsed:.1f} s"  # ~0.1 s here; generous for slow CI


_WRITER = textwrap.dedent(
    """
    import sys, time
    from app.store import Store

    store = Store.open(sys.argv[1])
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Tell me a long story")
    a = store.add_message(chat.id, parent_id=q.id, role="assistant", status="streaming")
    print("ready", flush=True)
    text = ""
    i = 0
    while True:
        text += f"word{i} "
        store.update_message(a.id, content=text)
        print(len(text), flush=True)  # committed
        i += 1
        time.sleep(0.05)
    """
)


def _expected_text(length: int) -> str:
    words: list[str] = []
    total = 0
    i = 0
    while total < length:
        words.append(f"word{i} ")
        total += len(words[-1])
        i += 1
    return "".join(words)


def test_a_partial_answer_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)
    finally:
        child.send_signal(signal.SIGKILL)
        rest = child.communicate(timeout=10)[0]
    assert child.returncode == -signal.SIGKILL
    committed = [int(line) for line in rest.split() if line.isdigit()]
    assert len(committed) >= 3, "the writer made too little progress to test anything"

    with Store.open(path) as store:
        (summary,) = store.list_conversations()
        question, answer = store.path(summary.id)
        assert (question.role, question.content) == ("user", "Tell me a long story")
        assert answer.role == "assistant" and answer.status == "streaming"
        assert answer.content, "the partial answer was lost"
        assert answer.content == _expected_text(len(answer.content))[: len(answer.content)]
        assert len(answer.content) >= committed[-1]  # nothing acknowledged was lost
        assert store.recover_interrupted() == 1
        recovered = store.get_message(answer.id)
        assert (recovered.status, recovered.content) == ("stopped", answer.content)


def test_calls_from_several_threads_are_serialised(store: Store) -> None:
    chat = store.create_conversation()
    q = store.add_message(chat.id, parent_id=None, role="user", content="Q")

    def answer(n: int) -> int:
        a = store.add_message(chat.id, parent_id=q.id, role="assistant", status="streaming")
        for i in range(50):
            store.update_message(a.id, content=f"answer {n} part {i}")
        store.update_message(a.id, status="complete")
        return a.id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(answer, range(8)))
    answers = [m for m in store.all_messages(chat.id) if m.role == "assistant"]
    assert sorted(m.id for m in answers) == sorted(ids)
    assert {m.content for m in answers} == {f"answer {n} part 49" for n in range(8)}
    assert all(m.status == "complete" and m.sibling_count == 8 for m in answers)
