"""A whole, small greedy generation with drafts, over the engine's own verify batch: how the MTP tests prove a
drafter's wiring (drafts, rollback of rejected ones) without trusting its guesses — its output must equal plain
greedy decoding token for token. The app's streaming loop is ``app.engine.speculative.SpeculativeLoop``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import llama_cpp as C
import numpy as np

from app.engine.drafting import Drafter
from app.engine.native import NativeContext
from app.engine.speculative import VerifyBatch


@dataclass
class SpecResult:
    """What ``greedy_speculative`` made and how the drafts fared."""

    tokens: list[int] = field(default_factory=list)
    steps: int = 0  # target decodes after the prompt
    drafted: int = 0
    accepted: int = 0
    rollbacks: int = 0  # steps that dropped rejected drafts from the KV cache


def _argmax(ctx: NativeContext, index: int, n_vocab: int) -> int:
    logits: Any = C.llama_get_logits_ith(ctx.ptr, index)
    return int(np.ctypeslib.as_array(logits, shape=(n_vocab,)).argmax())


def greedy_speculative(
    ctx: NativeContext, prompt: Sequence[int], n_new: int, drafter: Drafter | None, *, n_draft_max: int = 4
) -> SpecResult:
    """Greedy-decode ``n_new`` tokens after ``prompt`` (from an empty cache), drafting with ``drafter`` if given."""
    n_vocab = ctx.model.n_vocab
    result = SpecResult()
    ctx.clear()
    if drafter is not None:
        drafter.reset()
    ctx.decode(list(prompt))
    if drafter is not None:
        drafter.prompt_done(ctx, list(prompt), len(prompt))
    n_past = len(prompt)
    history = list(prompt)
    token = _argmax(ctx, -1, n_vocab)
    verify = VerifyBatch(n_draft_max + 1)
    while True:
        result.tokens.append(token)
        history.append(token)
        if len(result.tokens) >= n_new:
            return result
        room = min(n_draft_max, n_new - len(result.tokens) - 1)  # the target adds one more itself
        drafts = drafter.draft(history, room)[:room] if drafter is not None else []
        batch = [token, *drafts]
        if verify.decode(ctx, batch, n_past) != 0:
            raise RuntimeError("llama.cpp could not evaluate the verify batch")
        result.steps += 1
        kept = 0
        while kept < len(drafts) and _argmax(ctx, kept, n_vocab) == drafts[kept]:
            kept += 1
        following = _argmax(ctx, kept, n_vocab)
        if kept < len(drafts):
            result.rollbacks += 1
            if not ctx.truncate(n_past + kept + 1):
                raise RuntimeError("the KV cache could not drop the rejected drafts")
        result.drafted += len(drafts)
        result.accepted += kept
        if drafter is not None:
            drafter.verified(ctx, batch, kept, n_past)  # n_past: where the batch started, as the loop says
        n_past += kept + 1
        for accepted in drafts[:kept]:
            result.tokens.append(accepted)
            history.append(accepted)
        token = following
