"""Pictures and clips are prepared by libmtmd once: follow-up turns plan from what the projector keeps.

Real llama.cpp and libmtmd on the tiny Gemma 4: the counters are those of ``Projector.media`` (every
``mtmd_tokenize`` call and every freed native list goes through it), and a double free would crash the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.attachments import image_part
from app.engine.events import GenerateRequest, LoadRequest, SamplingParams
from app.engine.media_chunks import MediaCacheStats
from app.engine.projector import Projector
from app.engine.prompt import Message, Part
from app.engine.session import ModelSession
from tests.engine.test_multimodal import assistant, picture, run, tone, user

GREEDY = SamplingParams(temperature=0.0, seed=3)


def load(tiny_model: Path, tiny_mmproj: Path, budget: int = 280) -> ModelSession:
    s, _ = ModelSession.load(LoadRequest(tiny_model, mmproj_path=tiny_mmproj, n_ctx=4096, vision_budget=budget))
    return s


@pytest.fixture
def session(tiny_model: Path, tiny_mmproj: Path) -> Iterator[ModelSession]:
    s = load(tiny_model, tiny_mmproj)
    yield s
    s.close()


def projector_of(session: ModelSession) -> Projector:
    assert session.projector is not None
    return session.projector


def media_stats(session: ModelSession) -> MediaCacheStats:
    return projector_of(session).media.stats


def test_follow_up_turns_do_not_prepare_history_media_again(session: ModelSession) -> None:
    stats = media_stats(session)
    history = [user(image_part(picture(40)), *tone(2.0), "What is this?")]
    answer, first, _ = run(session, history)
    assert stats.tokenized == 2 and first.media_encoded == 2
    for question in ("And the colours?", "Anything else?", "Thanks. One more?"):
        history += [assistant(answer), user(question)]
        answer, st, _ = run(session, history)
        assert st.media_encoded == 0 and st.reused_tokens > first.media_tokens
    assert stats.tokenized == 2  # neither the picture nor the clip went through mtmd_tokenize again
    assert stats.layout_hits == 6


def test_measured_media_is_not_prepared_again_when_sent(session: ModelSession) -> None:
    img = image_part(picture(41))
    [(_, cost)] = session.measure([img])
    assert media_stats(session).tokenized == 1
    _, st, _ = run(session, [user(img, "Describe it.")])
    assert st.media_tokens == cost and st.media_encoded == 1
    assert media_stats(session).tokenized == 1


def test_a_picture_evaluated_again_uses_its_kept_chunks(session: ModelSession) -> None:
    """A new chat with the same picture: the KV cache cannot help, the kept native chunks do."""
    stats = media_stats(session)
    img = image_part(picture(42))
    run(session, [user(img, "What is it?")])
    session.reset_cache()
    _, st, _ = run(session, [user("Another chat."), assistant("Sure."), user(img, "What is it?")])
    assert st.evaluated_tokens == st.prompt_tokens and st.media_encoded == 0  # decoded again, from kept embeddings
    assert stats.tokenized == 1 and stats.native_hits == 1


def test_a_changed_vision_budget_prepares_the_picture_again(tiny_model: Path, tiny_mmproj: Path) -> None:
    big = image_part(picture(43, size=(1600, 1200)))
    seen: dict[int, tuple[int, int]] = {}
    for budget in (70, 560):
        s = load(tiny_model, tiny_mmproj, budget)
        try:
            _, st, _ = run(s, [user(big, "Read it.")])
            _, again, _ = run(s, [user(big, "Read it."), assistant("Done."), user("Again.")])
            seen[budget] = (media_stats(s).tokenized, st.media_tokens)
            assert again.media_encoded == 0
        finally:
            s.close()
    assert seen[70][0] == seen[560][0] == 1  # each budget prepared it once
    assert seen[70][1] < seen[560][1]  # and at its own size


def test_eviction_frees_only_what_no_plan_still_uses(session: ModelSession) -> None:
    projector = projector_of(session)
    projector.media.max_native = 1
    stats = projector.media.stats
    first = session.prepare(GenerateRequest(messages=(user(image_part(picture(44)), "One."),)))
    try:
        second = session.prepare(GenerateRequest(messages=(user(image_part(picture(45)), "Two."),)))
        assert projector.media.native_count == 1  # the first picture's chunks left the cache …
        assert stats.freed == 0  # … but its plan still uses them
        second.close()
        assert stats.freed == 0  # the second picture's chunks stay cached
    finally:
        first.close()
    assert stats.freed == 1 and stats.live == 1
    # The evicted picture's layout is still known; evaluating it again prepares it again, from its payload.
    _, st, _ = run(session, [user(image_part(picture(44)), "One.")])
    assert st.media_encoded == 1 and stats.layout_hits == 1 and stats.tokenized == 3
    assert stats.live == 1 and stats.freed == 2


def test_unloading_frees_every_native_list(tiny_model: Path, tiny_mmproj: Path) -> None:
    s = load(tiny_model, tiny_mmproj)
    stats = media_stats(s)
    run(s, [user(image_part(picture(46)), *tone(1.0), "What is it?")])
    held = s.prepare(GenerateRequest(messages=(user(image_part(picture(47)), "And this?"),)))
    assert stats.live == 3
    s.close()
    assert stats.live == 1  # the open plan keeps its picture's chunks past the unload …
    held.close()
    held.close()  # (closing twice frees nothing twice)
    assert stats.live == 0 and stats.freed == stats.tokenized == 3  # … and frees them when it closes


def test_answers_are_the_same_with_kept_chunks_and_with_fresh_ones(tiny_model: Path, tiny_mmproj: Path) -> None:
    img, clip = image_part(picture(48)), tone(1.5, freq=220.0)
    edited = [user("Before anything:"), assistant("Yes?"), user(img, *clip, "Describe both.")]
    turns = [[user(img, *clip, "Describe both.")], edited, [*edited, assistant("Ok."), user("More")]]
    answers: dict[bool, list[str]] = {}
    for keep in (True, False):
        s = load(tiny_model, tiny_mmproj)
        media = projector_of(s).media
        try:
            if not keep:
                media.max_native = 0
            answers[keep] = []
            for messages in turns:
                if not keep:
                    media.clear()  # every turn prepares every picture and clip afresh
                answer, _, _ = run(s, messages, max_tokens=16, sampling=GREEDY)
                answers[keep].append(answer)
            assert media.stats.tokenized == (2 if keep else 6)
        finally:
            s.close()
    assert answers[True] == answers[False]
    assert all(answers[True])


def test_a_text_only_chat_never_prepares_media(session: ModelSession) -> None:
    run(session, [Message("user", (Part("text", "Hello"),))])
    assert media_stats(session) == MediaCacheStats()


def test_a_picture_whose_layout_was_dropped_is_laid_out_from_its_kept_list(session: ModelSession) -> None:
    """Layouts and native lists have bounds of their own: when a picture's layout goes and its native list stays,
    the kept list serves it (never a second list for the same picture, leaked or counted twice)."""
    cache = projector_of(session).media
    a, b = image_part(picture(50)), image_part(picture(51))
    [(_, cost)] = session.measure([a])
    cache.max_layout_positions = cost  # room for one picture's layout
    session.measure([b])  # b's layout pushes a's out; both native lists stay
    assert cache.native_count == 2 and cache.stats.tokenized == 2
    [(_, again)] = session.measure([a])
    assert again == cost and cache.stats.tokenized == 2  # no mtmd_tokenize: a's kept list was used
    assert cache.native_count == 2 and cache.stats.native_hits >= 1
    cache.clear()
    assert cache.stats.live == 0  # every list freed, none leaked
