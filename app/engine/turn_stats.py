"""The numbers of one turn — token counts and timings of the prompt and the answer — and the stats built from them."""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.engine.drafting import DraftCounts
from app.engine.events import GenerationStats, ModelInfo
from app.engine.prefix_cache import PromptPlan


@dataclass(slots=True)
class PromptWork:
    """What putting the prompt into the KV cache took; counted as it goes."""

    started: float  # perf_counter when the turn began (before the prompt was planned)
    reused: int = 0  # positions kept from the previous turn
    evaluated: int = 0  # positions evaluated now
    encoded: int = 0  # pictures and clips encoded now (not found in the embedding cache)
    encode_s: float = 0.0  # of that, the seconds the projector spent encoding
    stopped: bool = False  # the caller stopped the turn while the prompt was evaluated
    finished: float = 0.0  # perf_counter when the prompt was in the cache


@dataclass(frozen=True, slots=True)
class AnswerWork:
    """What the token loop did."""

    tokens: int  # tokens generated (an end-of-generation token not counted)
    first_at: float  # perf_counter when the first token was sampled (0.0: none was)
    last_at: float  # perf_counter when the last token was sampled
    stop_reason: str
    drafting: DraftCounts | None = None  # None: decoded one token at a time, without a drafter


def generation_stats(
    plan: PromptPlan, prompt: PromptWork, answer: AnswerWork, *, n_ctx: int, context_used: int, info: ModelInfo
) -> GenerationStats:
    """The turn's ``GenerationStats``; call it when the turn is over (no first token: TTFT runs until now)."""
    n_gen = answer.tokens
    decode_s = (answer.last_at - answer.first_at) if n_gen > 1 else 0.0
    decode_tps = round((n_gen - 1) / decode_s, 3) if decode_s > 0 else 0.0
    drafts = answer.drafting or DraftCounts()
    return GenerationStats(
        prompt_tokens=plan.n_pos,
        reused_tokens=prompt.reused,
        evaluated_tokens=prompt.evaluated,
        media_encoded=prompt.encoded,
        media_encode_s=round(prompt.encode_s, 6),
        completion_tokens=n_gen,
        ttft_s=round((answer.first_at or time.perf_counter()) - prompt.started, 6),
        prompt_eval_s=round(prompt.finished - prompt.started, 6),
        decode_s=round(decode_s, 6),
        decode_tps=decode_tps,
        n_ctx=n_ctx,
        context_used=context_used,
        backend=info.backend,
        gpu_layers=info.gpu_layers,
        stop_reason=answer.stop_reason,
        media_tokens=plan.media_positions,
        dropped_messages=plan.dropped_messages,
        drafter=drafts.drafter,
        draft_tokens=drafts.drafted,
        draft_accepted=drafts.accepted,
        draft_acceptance=round(drafts.accepted / drafts.drafted, 4) if drafts.drafted else 0.0,
        draft_speedup=round(decode_tps * drafts.plain_s_per_token, 3) if drafts.drafted else 0.0,
    )
