"""Gemma 4's MTP assistant on the real llama.cpp: drafts flow, rejected drafts roll back, greedy output is unchanged.

The tiny Gemma 4 and a tiny random assistant made for it (``tests.fixtures.tiny_gemma4_assistant``): the
assistant's guesses are noise, so almost every draft is rejected — which is what proves the rollback — and an
"oracle" drafter that replays the known answer proves the accepting side, through the same verify step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from app.engine.gguf_file import GGUFInfo, read_gguf_info
from app.engine.mtp import MAX_DRAFT, MtpDrafter
from app.engine.mtp_native import mtp_available
from app.engine.native import NativeContext, NativeModel, Sampler
from tests.engine.spec_harness import greedy_speculative
from tests.fixtures.tiny_gemma4_assistant import write_tiny_gemma4_assistant

PROMPT = "<|turn>user\nHello world, what is the weather like in the city today?<turn|>\n<|turn>model\n"
N_NEW = 72  # past the tiny model's 32-token sliding window


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gemma4_assistant(tmp_path_factory.mktemp("mtp") / "tiny-assistant.gguf")


@pytest.fixture(scope="module")
def target(tiny_model: Path) -> Iterator[tuple[NativeModel, GGUFInfo]]:
    model = NativeModel(tiny_model, n_gpu_layers=0)
    yield model, read_gguf_info(tiny_model)
    model.close()


def _context(model: NativeModel, *, swa_full: bool = True) -> NativeContext:
    return NativeContext(model, n_ctx=512, n_batch=64, n_threads=1, n_threads_batch=1, swa_full=swa_full)


def _drafter(path: Path, gguf: GGUFInfo, ctx: NativeContext) -> MtpDrafter:
    return MtpDrafter.load(path, gguf, ctx, n_gpu_layers=0, n_threads=1, n_threads_batch=1)


def _plain_greedy(ctx: NativeContext, prompt: list[int], n_new: int) -> list[int]:
    """The app's own one-token loop (``decode_one`` + a greedy sampler chain): the reference."""
    ctx.clear()
    ctx.decode(prompt)
    sampler = Sampler(temperature=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0, seed=0)
    out: list[int] = []
    try:
        while True:
            out.append(sampler.sample(ctx))
            if len(out) == n_new:
                return out
            assert ctx.decode_one(out[-1]) == 0
    finally:
        sampler.close()


def test_this_llama_cpp_exports_the_mtp_calls() -> None:
    assert mtp_available()


@pytest.mark.parametrize("swa_full", [True, False], ids=["swa-full", "swa-window"])
def test_drafts_flow_and_greedy_output_is_unchanged(
    target: tuple[NativeModel, GGUFInfo], assistant: Path, swa_full: bool
) -> None:
    model, gguf = target
    prompt = model.tokenize(PROMPT, add_special=True)
    ctx = _context(model, swa_full=swa_full)
    try:
        expected = _plain_greedy(ctx, prompt, N_NEW)
        drafter = _drafter(assistant, gguf, ctx)
        try:
            got = greedy_speculative(ctx, prompt, N_NEW, drafter)
        finally:
            drafter.close()
    finally:
        ctx.close()
    assert got.tokens == expected
    assert got.drafted >= N_NEW // 2  # the assistant proposed tokens on (nearly) every step
    assert got.rollbacks > 0  # and the target threw some away: the cache was rolled back and stayed right
    assert drafter.n_draft == 1  # a drafter whose guesses fail drafts as little as it can


def test_after_rollbacks_the_next_decode_matches_a_fresh_evaluation(
    target: tuple[NativeModel, GGUFInfo], assistant: Path
) -> None:
    model, gguf = target
    prompt = model.tokenize(PROMPT, add_special=True)
    ctx, fresh = _context(model, swa_full=False), _context(model, swa_full=False)
    drafter = _drafter(assistant, gguf, ctx)
    try:
        got = greedy_speculative(ctx, prompt, 40, drafter)
        # everything but the last token is in the cache, nothing rejected is left behind
        assert ctx.pos_max() == len(prompt) + len(got.tokens) - 2
        assert ctx.decode_one(got.tokens[-1]) == 0
        fresh.decode(prompt + got.tokens)
        greedy = Sampler(temperature=0.0, top_p=1.0, top_k=0, min_p=0.0, repeat_penalty=1.0, seed=0)
        try:
            assert greedy.sample(ctx) == greedy.sample(fresh)
        finally:
            greedy.close()
    finally:
        drafter.close()
        fresh.close()
        ctx.close()


class OracleOverMtp:
    """Proposes the known greedy answer (then one wrong token every third step), while the MTP drafter behind
    it sees every ``prompt_done`` / ``draft`` / ``verified`` call: its kept-row reads go past row 0."""

    name = "oracle"

    def __init__(self, inner: MtpDrafter, answer: Sequence[int], n_prompt: int) -> None:
        self.inner = inner
        self.answer = list(answer)
        self.n_prompt = n_prompt
        self.calls = 0
        self.inner_proposed = 0

    def reset(self) -> None:
        self.inner.reset()

    def prompt_done(self, ctx: NativeContext, tokens: Sequence[int | None], n_past: int) -> None:
        self.inner.prompt_done(ctx, tokens, n_past)

    def draft(self, history: Sequence[int], n_max: int) -> list[int]:
        self.inner_proposed += len(self.inner.draft(history, n_max))
        self.calls += 1
        done = len(history) - self.n_prompt
        drafts = self.answer[done : done + n_max]
        if self.calls % 3 == 0 and drafts:
            drafts[-1] = (drafts[-1] + 1) % self.inner.model.n_vocab
        return drafts

    def verified(self, ctx: NativeContext, batch: Sequence[int], n_accepted: int, n_past: int) -> None:
        self.inner.verified(ctx, batch, n_accepted, n_past)


def test_accepted_drafts_and_partial_rejections(target: tuple[NativeModel, GGUFInfo], assistant: Path) -> None:
    model, gguf = target
    prompt = model.tokenize(PROMPT, add_special=True)
    ctx = _context(model, swa_full=False)
    try:
        expected = _plain_greedy(ctx, prompt, N_NEW)
        inner = _drafter(assistant, gguf, ctx)
        try:
            oracle = OracleOverMtp(inner, expected, len(prompt))
            got = greedy_speculative(ctx, prompt, N_NEW, oracle)
            assert got.tokens == expected
            assert got.accepted > N_NEW // 2  # most of the answer came from drafts
            assert 0 < got.rollbacks < got.steps  # some steps kept everything, some dropped their last draft
            assert got.steps < N_NEW // 2  # fewer target decodes than tokens
            assert inner.acceptance > 0.5  # the MTP drafter counted what the target kept
            assert oracle.inner_proposed > 0  # the MTP drafter kept drafting from the states it was handed
            assert 1 <= inner.n_draft <= MAX_DRAFT
        finally:
            inner.close()
    finally:
        ctx.close()


def test_close_frees_and_the_target_keeps_working(target: tuple[NativeModel, GGUFInfo], assistant: Path) -> None:
    model, gguf = target
    prompt = model.tokenize(PROMPT, add_special=True)
    ctx = _context(model)
    try:
        drafter = _drafter(assistant, gguf, ctx)
        drafter.close()
        drafter.close()  # twice is harmless
        assert _plain_greedy(ctx, prompt, 8) == greedy_speculative(ctx, prompt, 8, None).tokens
    finally:
        ctx.close()
