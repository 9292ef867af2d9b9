"""One speculative step over the C API, and a greedy generator built from it (tests and benchmarks).

``verify_decode`` evaluates ``[last token, draft 1, …, draft k]`` in one ``llama_decode`` with logits on every
position — what a drafter's ``verified`` expects. ``greedy_speculative`` is a whole, small greedy generation:
draft, verify, keep the longest agreeing prefix plus the target's own next token, roll the KV cache back past
the rejected drafts. Its output must equal plain greedy decoding token for token, which is how the tests
prove a drafter's wiring (including the rollback) without trusting its guesses. The app's streaming loop
(sampling, stop, events) lives in ``app.engine.session`` / ``app.engine.speculative``, not here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import llama_cpp as C
import numpy as np

from app.engine.native import NativeContext

__all__ = ["DraftSource", "SpecResult", "VerifyBatch", "greedy_speculative"]


class DraftSource(Protocol):
    """The part of the speculative ``Drafter`` protocol this module drives."""

    def reset(self) -> None: ...
    def prompt_done(self, ctx: NativeContext, tokens: Sequence[int | None], n_past: int) -> None: ...
    def draft(self, history: Sequence[int], n_max: int) -> list[int]: ...
    def verified(self, ctx: NativeContext, batch: Sequence[int], n_accepted: int, n_past: int) -> None: ...


class VerifyBatch:
    """A reusable ``llama_batch`` of up to ``capacity`` tokens of sequence 0, every one with logits."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._batch = C.llama_batch_init(capacity, 0, 1)
        self._closed = False

    def decode(self, ctx: NativeContext, tokens: Sequence[int], pos0: int) -> int:
        """Decode ``tokens`` at positions ``pos0…``; llama.cpp's return code (0: done)."""
        n = len(tokens)
        if not 0 < n <= self.capacity:
            raise ValueError(f"a verify batch holds 1 to {self.capacity} tokens, not {n}")
        b = self._batch
        for i, token in enumerate(tokens):
            b.token[i] = token
            b.pos[i] = pos0 + i
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
            b.logits[i] = 1
        b.n_tokens = n
        return int(C.llama_decode(ctx.ptr, b))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            C.llama_batch_free(self._batch)


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
    ctx: NativeContext, prompt: Sequence[int], n_new: int, drafter: DraftSource | None, *, n_draft_max: int = 4
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
    try:
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
            n_past += kept + 1
            if kept < len(drafts):
                result.rollbacks += 1
                if not ctx.truncate(n_past):
                    raise RuntimeError("the KV cache could not drop the rejected drafts")
            result.drafted += len(drafts)
            result.accepted += kept
            if drafter is not None:
                drafter.verified(ctx, batch, kept, n_past)
            for accepted in drafts[:kept]:
                result.tokens.append(accepted)
                history.append(accepted)
            token = following
    finally:
        verify.close()
