"""The real llama.cpp on the tiny Gemma 4: load, template, streaming, stop, stats, reuse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.errors import ContextError, ModelFileError, ModelLoadError, RequestError
from app.engine.events import (
    AnswerDelta,
    GenerateRequest,
    LoadRequest,
    SamplingParams,
    Stats,
    ThinkingDelta,
)
from app.engine.prompt import Message, TemplateError
from app.engine.session import ModelSession
from tests.engine.test_prompt import SANDBOX_ESCAPE
from tests.fixtures.tiny_gemma4 import write_tiny_gemma4


@pytest.fixture(scope="module")
def session(tiny_model: Path) -> Iterator[ModelSession]:
    s, notice = ModelSession.load(LoadRequest(tiny_model, n_ctx=1024))
    assert notice == ""
    yield s
    s.close()


def ask(text: str, **kw: object) -> GenerateRequest:
    kw.setdefault("sampling", SamplingParams(seed=7))
    return GenerateRequest(messages=(Message.text("user", text),), **kw)  # type: ignore[arg-type]


def stats_of(events: list[object]) -> Stats:
    last = events[-1]
    assert isinstance(last, Stats)
    return last


def test_load_reports_progress_and_model_facts(tiny_model: Path) -> None:
    seen: list[float] = []
    s, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=512), progress=seen.append)
    try:
        assert seen and seen[-1] == pytest.approx(1.0)
        assert seen == sorted(seen)
        assert s.info.architecture == "gemma4"
        assert s.info.n_ctx == 512
        assert s.info.n_ctx_train == 8192
        assert s.info.backend == "CPU"
        assert s.info.chat_template_source == "model"
    finally:
        s.close()


def test_streams_answer_and_stats(session: ModelSession) -> None:
    events = list(session.generate(ask("Hello there", max_tokens=24), request_id=5))
    answer = "".join(e.text for e in events if isinstance(e, AnswerDelta))
    assert answer.strip()
    assert all(e.request_id == 5 for e in events)  # type: ignore[attr-defined]
    s = stats_of(events).stats
    assert s.completion_tokens == 24
    assert s.stop_reason == "max_tokens"
    assert s.prompt_tokens == len(session.prepare(ask("Hello there")).tokens)
    assert s.ttft_s > 0 and s.decode_tps > 0
    assert s.n_ctx == 1024 and 0 < s.context_used <= 1024
    assert s.backend == "CPU"


def test_prompt_uses_the_models_template_with_thinking_switch(session: ModelSession) -> None:
    off = session.prepare(ask("Hi", thinking=False)).text
    on = session.prepare(ask("Hi", thinking=True)).text
    assert off.endswith("<|turn>model\n<|channel>thought\n<channel|>")
    assert "<|think|>" in on and on.endswith("<|turn>model\n")
    tokens = session.prepare(ask("Hi")).tokens
    assert tokens[0] == session.model.bos and tokens.count(session.model.bos) == 1


def test_system_prompt_goes_in_the_system_turn(session: ModelSession) -> None:
    text = session.prepare(ask("Hi", system="Answer in French.")).text
    assert text.startswith("<bos><|turn>system\nAnswer in French.<turn|>")


def test_same_seed_same_answer(session: ModelSession) -> None:
    def answer() -> str:
        session.reset_cache()
        events = session.generate(ask("Tell me a story", max_tokens=20))
        return "".join(e.text for e in events if isinstance(e, AnswerDelta))

    assert answer() == answer()


def test_stop_ends_within_one_token(session: ModelSession) -> None:
    produced = 0

    def should_stop() -> bool:
        return produced >= 5

    events = []
    for event in session.generate(ask("Go on and on", max_tokens=500), should_stop=should_stop):
        events.append(event)
        if isinstance(event, (AnswerDelta, ThinkingDelta)):
            produced += 1
    s = stats_of(events).stats
    assert s.stop_reason == "stopped"
    assert s.completion_tokens <= 6


def test_answer_until_the_context_is_full(tiny_model: Path) -> None:
    s, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=128))
    try:
        events = list(s.generate(ask("Fill it up")))
        st = stats_of(events).stats
        assert st.stop_reason == "context_full"
        assert st.context_used == st.n_ctx == s.info.n_ctx  # llama.cpp pads 128 up to 256
        assert st.completion_tokens == st.n_ctx - st.prompt_tokens + 1
    finally:
        s.close()


def test_follow_up_turn_reuses_the_cached_prefix(session: ModelSession) -> None:
    session.reset_cache()
    first = list(session.generate(ask("What is the weather like today", max_tokens=8)))
    answer = "".join(e.text for e in first if isinstance(e, AnswerDelta))
    follow = GenerateRequest(
        messages=(
            Message.text("user", "What is the weather like today"),
            Message.text("assistant", answer),
            Message.text("user", "And tomorrow"),
        ),
        max_tokens=8,
        sampling=SamplingParams(seed=1),
    )
    s = stats_of(list(session.generate(follow))).stats
    # The template re-renders the last model turn (it drops the empty thought channel
    # that was pre-filled), so the cache is reused up to the start of that turn.
    first_text = session.prepare(ask("What is the weather like today")).text
    before_model_turn = first_text[: first_text.rindex("<|channel>")]
    expected = len(session.model.tokenize(before_model_turn, add_special=False))
    assert s.reused_tokens == expected
    assert s.evaluated_tokens == s.prompt_tokens - s.reused_tokens


def test_conversation_longer_than_the_context(tiny_model: Path) -> None:
    s, _ = ModelSession.load(LoadRequest(tiny_model, n_ctx=64))
    try:
        with pytest.raises(ContextError, match=f"context holds {s.info.n_ctx}"):
            list(s.generate(ask("word " * 1000)))
    finally:
        s.close()


def test_empty_prompt(session: ModelSession) -> None:
    with pytest.raises(RequestError, match="empty"):
        list(session.generate(ask("   ")))


def test_context_larger_than_the_model_supports(tiny_model: Path) -> None:
    with pytest.raises(ContextError, match="at most 8,192"):
        ModelSession.load(LoadRequest(tiny_model, n_ctx=100_000))


def test_unknown_architecture(tmp_path: Path) -> None:
    path = write_tiny_gemma4(tmp_path / "odd.gguf", arch="gemma99")
    with pytest.raises(ModelLoadError, match="architecture 'gemma99'"):
        ModelSession.load(LoadRequest(path))


def test_unsafe_template_is_refused_at_load(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = SANDBOX_ESCAPE.replace("marker", repr(str(marker)))
    path = write_tiny_gemma4(tmp_path / "evil.gguf", chat_template=evil)
    with pytest.raises(TemplateError, match="unsafe"):
        ModelSession.load(LoadRequest(path))
    assert not marker.exists()


def test_base_model_without_template_uses_the_plain_gemma4_format(tiny_base_model: Path) -> None:
    s, notice = ModelSession.load(LoadRequest(tiny_base_model, n_ctx=256))
    try:
        assert "no chat template" in notice
        assert s.info.chat_template_source == "fallback: Gemma 4 turns"
        assert s.prepare(ask("Hi")).text == "<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>"
        events = list(s.generate(ask("Hi", max_tokens=4)))
        assert stats_of(events).stats.completion_tokens == 4
    finally:
        s.close()


def test_projector_passed_as_a_model(tiny_mmproj: Path) -> None:
    with pytest.raises(ModelFileError, match="projector"):
        ModelSession.load(LoadRequest(tiny_mmproj))


def test_thinking_streams_as_thinking_events_through_llama_cpp(tmp_path: Path) -> None:
    # A template whose generation prompt opens the thought channel: everything the
    # real model then writes is thinking until it closes the channel.
    from tests.fixtures.tiny_gemma4 import GEMMA4_CHAT_TEMPLATE

    template = GEMMA4_CHAT_TEMPLATE + (
        "{%- if add_generation_prompt and enable_thinking -%}{{ '<|channel>thought\\n' }}{%- endif -%}"
    )
    path = write_tiny_gemma4(tmp_path / "thinker.gguf", chat_template=template)
    s, _ = ModelSession.load(LoadRequest(path, n_ctx=512))
    try:
        assert s.prepare(ask("Hi", thinking=True)).text.endswith("<|turn>model\n<|channel>thought\n")
        events = list(s.generate(ask("Hi", thinking=True, max_tokens=12)))
        thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
        assert thinking.strip()
        assert not any(isinstance(e, AnswerDelta) for e in events)
        assert "<|channel>" not in thinking
    finally:
        s.close()


def test_a_repeat_penalty_changes_the_answer_and_never_breaks_it(session: ModelSession) -> None:
    """The window's "Repeat penalty" setting and the server's ``repeat_penalty``: a sampler llama.cpp builds with
    the vocabulary's size (a call without it once failed every answer whose penalty was not 1.0)."""
    plain = list(session.generate(ask("Count", max_tokens=32, sampling=SamplingParams(temperature=0.0))))
    penalised = list(
        session.generate(ask("Count", max_tokens=32, sampling=SamplingParams(temperature=0.0, repeat_penalty=1.8)))
    )
    assert stats_of(penalised).stats.completion_tokens == 32
    text = [
        "".join(e.text for e in events if isinstance(e, (AnswerDelta, ThinkingDelta))) for events in (plain, penalised)
    ]
    assert text[0] != text[1]  # greedy on random weights repeats itself; the penalty steers away
