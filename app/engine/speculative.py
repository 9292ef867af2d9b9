"""Speculative decoding: the answer's token loop when a drafter guesses ahead.

Each step decodes ``[last sampled token, d1 … dk]`` (the drafter's guesses) in one batch with logits at every
position, then samples with the request's own sampler at position 0, 1, … in order and keeps going while the
sample equals the draft ("sample and compare"). Every emitted token is a sample of the target model given
exactly the tokens before it, drawn by the same sampler chain in the same order as one token at a time, so
greedy answers are the same and sampled ones follow the target's distribution (with a fixed seed, the same
draws). The grammar and penalty samplers see only the emitted tokens, in order. The rejected drafts' positions
are removed from the KV cache and never enter the prefix cache's keys, so the next turn's prefix reuse stays
exact. A step with no draft is a plain one-token decode; ``DraftPace`` decides how long each draft is and when
drafting pauses because it does not pay.
"""

from __future__ import annotations

import codecs
import ctypes
import time
from collections.abc import Callable, Generator, Iterator, Sequence

import llama_cpp as C

from app.engine.drafting import MAX_DRAFT, Drafter, DraftPace
from app.engine.events import EngineEvent
from app.engine.native import NativeContext, NativeModel, Sampler
from app.engine.prefix_cache import Key
from app.engine.stream_parser import Parsed, StreamParser


def can_draft(model: NativeModel) -> bool:
    """Whether the model's memory can drop its newest positions, as rejecting a draft needs (not a recurrent or
    hybrid model's)."""
    return not (C.llama_model_is_recurrent(model.ptr) or C.llama_model_is_hybrid(model.ptr))


class VerifyBatch:
    """A reusable llama.cpp batch of up to ``capacity`` tokens of sequence 0, each asking for its logits."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._tokens = (C.llama_token * capacity)()
        self._pos = (C.llama_pos * capacity)()
        self._n_seq = (ctypes.c_int32 * capacity)(*([1] * capacity))
        self._seq0 = (C.llama_seq_id * 1)(0)
        seq_ptr = ctypes.POINTER(C.llama_seq_id)
        self._seq = (seq_ptr * capacity)(*([ctypes.cast(self._seq0, seq_ptr)] * capacity))
        self._logits = (ctypes.c_int8 * capacity)(*([1] * capacity))
        self._batch = C.llama_batch(  # fields in order: n_tokens, token, embd, pos, n_seq_id, seq_id, logits
            0,
            ctypes.cast(self._tokens, ctypes.POINTER(C.llama_token)),
            None,
            ctypes.cast(self._pos, ctypes.POINTER(C.llama_pos)),
            ctypes.cast(self._n_seq, ctypes.POINTER(ctypes.c_int32)),
            ctypes.cast(self._seq, ctypes.POINTER(seq_ptr)),
            ctypes.cast(self._logits, ctypes.POINTER(ctypes.c_int8)),
        )

    def decode(self, ctx: NativeContext, tokens: Sequence[int], n_past: int) -> int:
        """Evaluate ``tokens`` at positions ``n_past``…; llama_decode's return code (0: done)."""
        n = len(tokens)
        if not 0 < n <= self.capacity:
            raise ValueError(f"a verify batch holds 1 to {self.capacity} tokens, not {n}")
        for i, token in enumerate(tokens):
            self._tokens[i] = token
            self._pos[i] = n_past + i
        self._batch.n_tokens = n
        return int(C.llama_decode(ctx.ptr, self._batch))


class AnswerText:
    """The answer's side of the loop: sampled tokens in, stream events out, and the reason to stop.

    ``ModelSession._token_loop`` (no drafts) does the same steps inline: routed through ``emit`` it measured
    2–3 % slower on the tiny model's ~5,000 tok/s (decode_speed 0.973 → 0.946–0.955), so the hot loop keeps its
    own copy; a change to what a token shows must be made in both."""

    def __init__(
        self,
        model: NativeModel,
        parser: StreamParser,
        markers: frozenset[int],
        to_event: Callable[[Parsed], EngineEvent],
        *,
        max_new: int,
        ignore_eos: bool,
    ) -> None:
        self.events: list[EngineEvent] = []
        self.n_gen = 0
        self.first_at = self.last_at = 0.0
        self.max_new = max_new
        self._facts = model.token_facts
        self._parser = parser
        self._markers = markers
        self._to_event = to_event
        self._ignore_eos = ignore_eos
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def emit(self, token: int) -> str:
        """Show one sampled token; the stop reason it causes ("" to go on)."""
        self.last_at = time.perf_counter()
        if not self.n_gen:
            self.first_at = self.last_at
        piece, eog, control = self._facts(token)
        if eog and not self._ignore_eos:
            return "end"
        self.n_gen += 1
        if not control or token in self._markers:
            text = self._decoder.decode(piece)
            if text:
                self.events.extend(self._to_event(p) for p in self._parser.feed(text))
        return "max_tokens" if self.n_gen >= self.max_new else ""

    def finish(self) -> list[EngineEvent]:
        """The text held back for the end (a split character, a marker's prefix)."""
        parsed = self._parser.feed(self._decoder.decode(b"", final=True)) + self._parser.finish()
        return [self._to_event(p) for p in parsed]


class SpeculativeLoop:
    """Decodes an answer step by step with drafts; ``keys`` (the prefix cache's) and ``history`` grow with it."""

    def __init__(
        self,
        ctx: NativeContext,
        sampler: Sampler,
        drafter: Drafter,
        answer: AnswerText,
        *,
        keys: list[Key],
        history: list[int],
        max_draft: int = MAX_DRAFT,
        pace: Callable[[int], DraftPace] = DraftPace,
    ) -> None:
        self.ctx = ctx
        self.sampler = sampler
        self.drafter = drafter
        self.answer = answer
        self.keys = keys
        self.history = history
        self.n_max = max(1, min(max_draft, ctx.n_batch - 1))
        self.pace = pace(self.n_max)
        self.batch = VerifyBatch(self.n_max + 1)
        self.n_vocab = ctx.model.n_vocab
        self.stop_reason = ""

    def run(self, should_stop: Callable[[], bool]) -> Iterator[None]:
        """Sample the first token from the prompt's logits, then step until a stop; yields after every emitted
        token, and checks ``should_stop`` before sampling the next one, as the one-token loop does."""
        # A verify batch is a few tokens, as latency-bound as one: decode it with the answer's thread count, not
        # the prompt's (llama.cpp takes the batch count for any decode of more than one token).
        ptr = self.ctx.ptr
        n_threads, n_threads_batch = int(C.llama_n_threads(ptr)), int(C.llama_n_threads_batch(ptr))
        C.llama_set_n_threads(ptr, n_threads, n_threads)
        try:
            yield from self._steps(should_stop)
        finally:
            C.llama_set_n_threads(ptr, n_threads, n_threads_batch)

    def _steps(self, should_stop: Callable[[], bool]) -> Iterator[None]:
        clock = time.perf_counter
        token = int(C.llama_sampler_sample(self.sampler.ptr, self.ctx.ptr, -1))
        self.history.append(token)
        self.stop_reason = self.answer.emit(token)
        t_prev = clock()
        yield
        while not self.stop_reason:
            if should_stop():
                self.stop_reason = "stopped"
                break
            token, n_drafted, n_accepted = yield from self._step(token, should_stop)
            now = clock()
            if n_drafted:
                self.pace.drafted(n_drafted, n_accepted, now - t_prev)
            elif not self.stop_reason:
                self.pace.plain(now - t_prev)
            t_prev = now
            yield

    def _step(self, last: int, should_stop: Callable[[], bool]) -> Generator[None, None, tuple[int, int, int]]:
        """Decode ``last`` (and drafts after it), sample what follows; (the new last token, drafted, accepted)."""
        ctx, keys = self.ctx, self.keys
        n_past = len(keys)
        room = ctx.n_ctx - n_past
        if room < 1:
            self.stop_reason = "context_full"
            return last, 0, 0
        want = min(self.pace.want(), room - 1, self.answer.max_new - self.answer.n_gen - 1)
        drafts = self._drafts(want) if want > 0 else []
        batch = [last, *drafts]
        rc = self.batch.decode(ctx, batch, n_past) if drafts else ctx.decode_one(last)
        if rc != 0:
            self.stop_reason = "context_full" if rc == 1 else "error"
            return last, 0, 0
        keys.append(last)
        accepted = 0
        idx = 0 if drafts else -1
        sampler, ctx_ptr, history, emit = self.sampler.ptr, ctx.ptr, self.history, self.answer.emit
        token = last
        for i in range(len(drafts) + 1):
            token = int(C.llama_sampler_sample(sampler, ctx_ptr, idx))
            history.append(token)
            self.stop_reason = emit(token)
            if self.stop_reason or i == len(drafts) or token != drafts[i]:
                break
            keys.append(token)  # the draft at this position was right: its KV entry stays
            accepted += 1
            idx += 1
            yield
            if should_stop():
                self.stop_reason = "stopped"
                break
        if accepted < len(drafts):
            self._drop_from(n_past + 1 + accepted)
        self.drafter.verified(ctx, batch, accepted, n_past)
        return token, len(drafts), accepted

    def _drafts(self, n_max: int) -> list[int]:
        """The drafter's guesses, at most ``n_max``, each a token of the vocabulary (llama.cpp asserts on others)."""
        n_vocab = self.n_vocab
        drafts = self.drafter.draft(self.history, n_max)[:n_max]
        for i, token in enumerate(drafts):
            if not (isinstance(token, int) and 0 <= token < n_vocab):
                return drafts[:i]
        return drafts

    def _drop_from(self, n_keep: int) -> None:
        """Remove the rejected drafts' positions from the KV cache."""
        if not self.ctx.truncate(n_keep):  # a cache that cannot drop its tail (not one drafting is used with)
            self.ctx.clear()
            self.keys.clear()
            self.stop_reason = "error"
