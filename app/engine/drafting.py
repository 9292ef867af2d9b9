"""What speculative decoding plugs into: the ``Drafter`` interface, the adaptive draft length, and the pace check
that keeps drafting on only while it makes answers faster.

A drafter guesses the next few tokens cheaply; the target model checks all of them in one batch
(``app.engine.speculative``) and keeps the longest prefix it agrees with, plus one token of its own. Drafters:
``app.engine.prompt_lookup.PromptLookup`` (n-grams of the conversation itself); an MTP head plugs in the same way.

``DraftPace`` is the "on only where it measures faster" rule, per answer: it times plain steps (one token per
decode) and drafting steps in the same answer, compares time per emitted token, and pauses drafting when it does
not pay — for 32 steps, then 64, 128, … (a pause, not an end: a chat answer that opens with prose and then copies
code pays again once the copying starts; each retry costs a few steps, so free text stays at plain speed).
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.engine.native import NativeContext

#: The longest draft checked in one batch that a caller may ask for.
MAX_DRAFT = 16

#: The engine's default: drafts of up to 8 tokens, the length adapting to what is accepted. Measured on Gemma 3
#: 270M Q4_K_M, two cores: a verify batch of 1, 2, 3, 4, 8 positions costs 13, 26, 32, 37, 48 ms (llama.cpp's CPU
#: kernels read the weights once per row below 4 rows), so short drafts barely pay and 8 does (code copy 1.16x,
#: where drafts of 2 gave 1.04x). Each emitted token is the model's own choice given the batch it was checked in,
#: but llama.cpp computes a batch of several positions with other kernels than a single one (tinyBLAS from 2
#: columns, repacked GEMM from 4), which round differently (logits differ by up to ~1 at a depth of 300 tokens):
#: a greedy answer can part from the plain one where two tokens are nearly tied. Quick drafts: Off is exact.
DEFAULT_DRAFT = 8


class Drafter(Protocol):
    """Proposes tokens for the target model to verify. Owned by the engine thread, like the context.

    The engine calls, per turn: ``prompt_done`` once the prompt is in the KV cache, then for every step of the
    answer ``draft`` (when drafting is on) and ``verified`` after the step's decode — a plain one-token decode
    too (``batch`` is then ``[token]`` and ``n_accepted`` 0). ``reset`` when the KV cache was cleared.
    """

    name: str  # shown in the stats: "prompt lookup", "MTP"

    def reset(self) -> None:
        """Forget everything: the KV cache was cleared (or a new model was loaded)."""

    def prompt_done(self, ctx: NativeContext, tokens: Sequence[int | None], n_past: int) -> None:
        """The prompt is evaluated: ``tokens`` are the KV cache's positions 0..n_past-1 (``None``: a picture's
        or a clip's position). Whatever the drafter kept past the prompt's common prefix is stale."""

    def draft(self, history: Sequence[int], n_max: int) -> list[int]:
        """Up to ``n_max`` tokens that may follow ``history`` (the prompt's text tokens, then the answer so far,
        ending with the token just sampled, not yet decoded). An empty list: no guess, decode one token."""
        ...

    def verified(self, ctx: NativeContext, batch: Sequence[int], n_accepted: int, n_past: int) -> None:
        """After each decode of the answer: ``batch`` (the sampled token, then the drafts) was evaluated at
        positions ``n_past``…; the first ``n_accepted`` drafts were kept, the KV cache holds
        ``n_past + 1 + n_accepted`` positions now (the rest were removed)."""


class AdaptiveLength:
    """How many tokens to draft: doubles after a fully accepted draft (while the longer batch is measured to emit
    tokens faster), drops to one more than was kept after a rejection, never below ``floor`` — on a CPU a batch
    of two or three positions costs nearly what two or three single decodes do, so a one-token draft rarely pays
    (measured: Gemma 3 270M, one thread, 1 → 23 ms, 2 → 91 ms, 4 → 137 ms, 8 → 165 ms, 16 → 314 ms)."""

    def __init__(self, n_max: int = MAX_DRAFT, start: int = 8, floor: int = 4) -> None:
        self.n_max = max(1, n_max)
        self.floor = max(1, min(floor, self.n_max))
        self.n = max(self.floor, min(start, self.n_max))
        #: Seconds per emitted token of fully accepted drafts, by draft length (a running average).
        self._cost: dict[int, float] = {}

    def update(self, n_drafted: int, n_accepted: int, seconds: float = 0.0) -> None:
        if n_drafted <= 0:
            return
        if n_accepted < n_drafted:
            self.n = max(self.floor, min(self.n, n_accepted + 1))
            return
        if seconds > 0.0:
            per_token = seconds / (n_drafted + 1)
            old = self._cost.get(n_drafted)
            self._cost[n_drafted] = per_token if old is None else 0.7 * old + 0.3 * per_token
        if n_drafted < self.n:
            return  # the drafter had fewer to offer: no news about longer drafts
        here = self._cost.get(self.n)
        shorter = self._cost.get(self.n // 2)
        if self.n // 2 >= self.floor and here is not None and shorter is not None and shorter < here:
            self.n //= 2  # the shorter drafts emitted faster
            return
        longer = min(self.n_max, self.n * 2)
        there = self._cost.get(longer)
        if here is None or there is None or there < here:
            self.n = longer


@dataclass(slots=True)
class DraftCounts:
    """What drafting did in one answer (``GenerationStats`` reports it)."""

    drafter: str = ""
    drafted: int = 0  # draft tokens sent to the target model
    accepted: int = 0  # of them, kept
    draft_steps: int = 0  # decodes that carried drafts
    plain_steps: int = 0  # decodes of one token
    plain_s_per_token: float = 0.0  # median seconds per token of the plain steps (0.0: none measured)
    pauses: int = 0  # times the pace check paused drafting


class DraftPace:
    """Per answer: this step's draft length (0: a plain step), from the measured speed of both kinds of step."""

    def __init__(
        self,
        n_max: int = MAX_DRAFT,
        *,
        warmup: int = 3,
        probe_every: int = 16,
        trials: int = 4,
        pause: int = 32,
    ) -> None:
        """``pause``: steps without drafts after the first judgement against them (0: never pause)."""
        self.length = AdaptiveLength(n_max)
        self.counts = DraftCounts()
        self._warmup = warmup  # plain steps measured before the first draft
        self._probe_every = probe_every  # a plain step now and then keeps the plain speed current
        self._trials = trials  # drafting steps measured before judging
        self._pause = pause  # steps without drafts after a judgement against; doubles each time
        self._plain: deque[float] = deque(maxlen=32)  # seconds of recent plain steps (one token each)
        self._spec: deque[tuple[float, int]] = deque(maxlen=8)  # (seconds, tokens emitted) of recent drafting steps
        self._step = 0
        self._paused_until = 0

    def want(self) -> int:
        """How many tokens to draft in the next step (0: decode one token plainly)."""
        self._step += 1
        step = self._step
        if step <= self._paused_until or len(self._plain) < self._warmup or step % self._probe_every == 0:
            return 0
        return self.length.n

    def plain(self, seconds: float) -> None:
        """A step that decoded one token took ``seconds``."""
        self._plain.append(seconds)
        self.counts.plain_steps += 1

    def drafted(self, n_drafted: int, n_accepted: int, seconds: float) -> None:
        """A step verified ``n_drafted`` drafts, kept ``n_accepted`` (it emitted ``n_accepted + 1`` tokens)."""
        counts = self.counts
        counts.drafted += n_drafted
        counts.accepted += n_accepted
        counts.draft_steps += 1
        self.length.update(n_drafted, n_accepted, seconds)
        self._spec.append((seconds, n_accepted + 1))
        if self._pause and len(self._spec) >= self._trials and not self.pays():
            self._paused_until = self._step + self._pause
            self._pause *= 2
            self._spec.clear()
            counts.pauses += 1

    def pays(self) -> bool:
        """Whether the recent drafting steps emitted tokens faster than plain steps do."""
        if not self._plain or not self._spec:
            return True
        seconds = sum(s for s, _ in self._spec)
        tokens = sum(n for _, n in self._spec)
        return seconds / tokens <= statistics.median(self._plain)

    def finish(self) -> DraftCounts:
        """The answer's counts, with the plain speed measured."""
        if self._plain:
            self.counts.plain_s_per_token = statistics.median(self._plain)
        return self.counts
