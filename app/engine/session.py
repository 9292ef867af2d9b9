"""A loaded model ready to chat: prompt evaluation with prefix reuse, and the token loop.

``ModelSession`` is plain, synchronous code: ``generate`` is a generator of
events that checks a stop callback between tokens and between prompt batches.
The worker thread in ``app.engine.engine`` makes it asynchronous; tests and
benchmarks drive it directly. A turn is: plan the prompt (``app.engine.planner``),
keep what the KV cache can reuse (``app.engine.prefix_reuse``), evaluate the rest,
run the token loop, and report its numbers (``app.engine.turn_stats``).
"""

from __future__ import annotations

import codecs
import random
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path

from app.engine.drafting import DEFAULT_DRAFT, Drafter, DraftPace
from app.engine.events import (
    AnswerDelta,
    ContextTrimmed,
    EngineEvent,
    GenerateRequest,
    LoadRequest,
    SamplingParams,
    Stats,
    ThinkingDelta,
    ToolCall,
)
from app.engine.loader import LoadCancelled, Loaded, load_model
from app.engine.native import NativeModel, Sampler
from app.engine.planner import Capabilities, check_request, plan_prompt, render_plan
from app.engine.prefix_cache import EmbeddingCache, PrefixCache, PromptPlan
from app.engine.prefix_reuse import keep_prefix
from app.engine.projector import TEXT
from app.engine.prompt import Message, Part
from app.engine.prompt_lookup import PromptLookup
from app.engine.speculative import AnswerText, SpeculativeLoop, can_draft
from app.engine.stream_parser import MARKERS, TOOL_RESPONSE_CLOSE, Kind, Parsed, StreamParser
from app.engine.tool_calls import guess_name
from app.engine.turn_stats import AnswerWork, PromptWork, generation_stats

__all__ = ["LoadCancelled", "ModelSession"]


class ModelSession:
    """Owns a loaded model, its context, projector and template. One thread at a time."""

    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.ctx = loaded.ctx
        self.template = loaded.template
        self.projector = loaded.projector
        self.info = loaded.info
        self.gguf = loaded.gguf
        self.cache = PrefixCache()
        self.embeddings = EmbeddingCache()
        arch = self.gguf.architecture
        self._n_swa = int(self.gguf.get(f"{arch}.attention.sliding_window", 0) or 0)
        # Read the vocabulary's structural tokens now, while loading, not in the first turn (~0.3 s for 262k).
        self.model.structural_tokens()
        #: Tokens the stream parser acts on; other control tokens are never shown as text.
        self._marker_ids = frozenset(t for t in (self.model.find_token(m) for m in MARKERS) if t is not None)
        self._caps = Capabilities(
            vision=bool(self.projector and self.projector.vision),
            audio=bool(self.projector and self.projector.audio),
            model_name=self.info.name,
        )
        #: Guesses the next tokens for speculative decoding (``app.engine.speculative``); None: never draft.
        #: A model whose memory cannot drop its newest positions (recurrent, hybrid) cannot reject a draft.
        #: Gemma 4's MTP assistant when one was loaded with the model, else n-grams of the conversation itself.
        self.drafter: Drafter | None = None
        if can_draft(self.model):
            self.drafter = loaded.drafter if loaded.drafter is not None else PromptLookup()
        #: The longest draft verified in one batch (``DEFAULT_DRAFT``: see there for what it costs and buys).
        self.max_draft = DEFAULT_DRAFT
        #: Makes each answer's pace check from the longest draft (``DraftPace(n, pause=0)`` never pauses).
        self.draft_pace: Callable[[int], DraftPace] = DraftPace

    @classmethod
    def load(
        cls,
        request: LoadRequest,
        *,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> tuple[ModelSession, str]:
        """Check and load a model; returns the session and a notice for the user ("" if none)."""
        loaded = load_model(request, progress=progress, cancelled=cancelled)
        return cls(loaded), loaded.notice

    # -- prompts --------------------------------------------------------------------

    def prepare(self, request: GenerateRequest) -> PromptPlan:
        """The request's prompt, tokenized and fitted to the context (close it when done)."""
        return plan_prompt(
            request,
            template=self.template,
            model=self.model,
            projector=self.projector,
            caps=self._caps,
            n_ctx=self.ctx.n_ctx,
        )

    def measure(self, parts: Sequence[Part]) -> list[tuple[str, int]]:
        """What each media part, and each text part that carries a ``media_id`` (a document's block), would cost
        in context positions, before sending. Text is tokenized as the prompt tokenizes a person's text: as
        plain text, never as control tokens."""
        costs: list[tuple[str, int]] = []
        for part in parts:
            if part.type == "text":
                if part.media_id:  # counted, not listed: a long document's ids would hold the GIL for long
                    costs.append((part.media_id, self.model.count_tokens(part.text)))
                continue
            probe = GenerateRequest(messages=(Message("user", (part, Part("text", "?"))),))
            check_request(probe, self._caps)
            plan = render_plan(self.template, self.model, self.projector, [probe.messages[0]], False)
            try:
                costs.append((part.media_id, plan.media_positions))
            finally:
                plan.close()
        return costs

    def _evaluate(self, plan: PromptPlan, work: PromptWork, should_stop: Callable[[], bool]) -> None:
        """Evaluate the plan past ``work.reused`` into the KV cache, counting into ``work``."""
        pos = 0
        reused = work.reused
        n_batch = self.ctx.n_batch
        for seg in plan.segments:
            end = pos + seg.n_pos
            if end <= reused:
                pos = end
                continue
            if should_stop():
                work.stopped = True
                return
            if seg.kind == TEXT:
                todo = seg.tokens[max(0, reused - pos) :]
                for start in range(0, len(todo), n_batch):
                    if start and should_stop():
                        work.stopped = True
                        return
                    batch = todo[start : start + n_batch]
                    self.ctx.decode(batch)
                    self.cache.extend(batch)
                    work.evaluated += len(batch)
            else:
                assert self.projector is not None and seg.owner is not None and seg.chunk is not None
                chunk = seg.chunk
                embd = self.embeddings.get(chunk.media_id)
                if embd is None:
                    t0 = time.perf_counter()
                    embd = self.projector.encode(seg.owner, chunk)
                    work.encode_s += time.perf_counter() - t0
                    self.embeddings.put(chunk.media_id, embd)
                    work.encoded += 1
                self.projector.decode(self.ctx, seg.owner, chunk, embd, pos)
                self.cache.extend(seg.keys())
                work.evaluated += seg.n_pos
            pos = end

    # -- generation -------------------------------------------------------------------

    def generate(
        self,
        request: GenerateRequest,
        request_id: int = 0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[EngineEvent]:
        """Evaluate the prompt and stream the answer; the last event is a ``Stats``.

        Plan the prompt → keep the reusable prefix of the KV cache → evaluate the rest → the token loop → stats.
        """
        t_start = time.perf_counter()
        plan = self.prepare(request)
        try:
            yield from self.answer(plan, request, request_id, should_stop, started=t_start)
        finally:
            plan.close()

    def answer(
        self,
        plan: PromptPlan,
        request: GenerateRequest,
        request_id: int = 0,
        should_stop: Callable[[], bool] = lambda: False,
        *,
        started: float | None = None,
    ) -> Iterator[EngineEvent]:
        """Answer an already planned prompt (``generate`` without the template: benchmarks feed raw text);
        ``request`` gives the sampling and the limits. The caller closes ``plan``."""
        if plan.dropped_messages:
            yield ContextTrimmed(request_id, plan.dropped_messages, plan.n_pos, self.ctx.n_ctx)
        t_start = time.perf_counter() if started is None else started
        prompt = PromptWork(started=t_start, reused=keep_prefix(self.cache, self.ctx, plan, self._n_swa))
        try:
            self._evaluate(plan, prompt, should_stop)
        except Exception:
            self.reset_cache()  # the KV cache may hold half a batch: start clean next time
            raise
        prompt.finished = time.perf_counter()
        drafter = self.drafter if request.speculative != "off" and not prompt.stopped else None
        if drafter is None:
            work = yield from self._token_loop(plan, request, request_id, should_stop, prompt.stopped)
        else:
            work = yield from self._speculative_loop(plan, request, request_id, should_stop, drafter)
        used = len(self.cache)
        stats = generation_stats(plan, prompt, work, n_ctx=self.ctx.n_ctx, context_used=used, info=self.info)
        yield Stats(request_id, stats)

    def _token_loop(
        self,
        plan: PromptPlan,
        request: GenerateRequest,
        request_id: int,
        should_stop: Callable[[], bool],
        stopped: bool,
    ) -> Generator[EngineEvent, None, AnswerWork]:
        """Sample, show and evaluate one token at a time until a stop: the hot path, tuned by hand (keep it so)."""
        stop_reason = "stopped" if stopped else ""
        sampler = _sampler(request.sampling, self.model)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        parser = StreamParser()
        parser.prime(_model_turn_tail(plan.text))
        n_gen = 0
        t_first = t_last = 0.0
        n_ctx = self.ctx.n_ctx
        max_new = request.max_tokens if request.max_tokens is not None else n_ctx
        model, ctx = self.model, self.ctx
        cached = self.cache.keys  # the hot loop appends to the list itself
        remember = cached.append
        markers = self._marker_ids
        sample, facts, decode_utf8, clock = sampler.sample, model.token_facts, decoder.decode, time.perf_counter
        try:
            while not stop_reason:
                if should_stop():
                    stop_reason = "stopped"
                    break
                token = sample(ctx)
                t_last = clock()
                if n_gen == 0:
                    t_first = t_last
                piece, eog, control = facts(token)
                if eog and not request.ignore_eos:
                    stop_reason = "end"
                    break
                n_gen += 1
                if not control or token in markers:
                    text = decode_utf8(piece)
                    if text:
                        for event in parser.feed(text):
                            yield self._to_event(event, request_id)
                if n_gen >= max_new:
                    stop_reason = "max_tokens"
                    break
                if len(cached) >= n_ctx:
                    stop_reason = "context_full"
                    break
                rc = ctx.decode_one(token)
                if rc != 0:
                    stop_reason = "context_full" if rc == 1 else "error"
                    break
                remember(token)
        finally:
            sampler.close()
        for event in parser.feed(decoder.decode(b"", final=True)) + parser.finish():
            yield self._to_event(event, request_id)
        return AnswerWork(tokens=n_gen, first_at=t_first, last_at=t_last, stop_reason=stop_reason)

    def _speculative_loop(
        self,
        plan: PromptPlan,
        request: GenerateRequest,
        request_id: int,
        should_stop: Callable[[], bool],
        drafter: Drafter,
    ) -> Generator[EngineEvent, None, AnswerWork]:
        """The token loop with drafts (``app.engine.speculative``): the same events, fewer decodes."""
        keys = self.cache.keys
        drafter.prompt_done(self.ctx, [k if isinstance(k, int) else None for k in keys], len(keys))
        parser = StreamParser()
        parser.prime(_model_turn_tail(plan.text))
        answer = AnswerText(
            self.model,
            parser,
            self._marker_ids,
            lambda parsed: self._to_event(parsed, request_id),
            max_new=request.max_tokens if request.max_tokens is not None else self.ctx.n_ctx,
            ignore_eos=request.ignore_eos,
        )
        sampler = _sampler(request.sampling, self.model)
        loop = SpeculativeLoop(
            self.ctx,
            sampler,
            drafter,
            answer,
            keys=keys,
            history=plan.tokens,
            max_draft=self.max_draft,
            pace=self.draft_pace,
        )
        try:
            for _ in loop.run(should_stop):
                if answer.events:
                    yield from answer.events
                    answer.events.clear()
        except BaseException:
            # Between steps the KV cache holds exactly ``keys``; mid-step it may hold drafts past them.
            if not self.ctx.truncate(len(keys)):
                self.reset_cache()
            drafter.reset()
            raise
        finally:
            sampler.close()
        yield from answer.events
        yield from answer.finish()
        counts = loop.pace.finish()
        counts.drafter = drafter.name
        return AnswerWork(
            tokens=answer.n_gen,
            first_at=answer.first_at,
            last_at=answer.last_at,
            stop_reason=loop.stop_reason,
            drafting=counts,
        )

    @staticmethod
    def _to_event(parsed: Parsed, request_id: int) -> EngineEvent:
        if parsed.kind is Kind.ANSWER:
            return AnswerDelta(request_id, parsed.text)
        if parsed.kind is Kind.THINKING:
            return ThinkingDelta(request_id, parsed.text)
        if parsed.call is not None:
            return ToolCall(request_id, parsed.call.name, parsed.call.arguments, parsed.text)
        return ToolCall(request_id, guess_name(parsed.text), {}, parsed.text, parsed.error or "malformed tool call")

    def reset_cache(self) -> None:
        """Forget the KV cache (the next turn evaluates its whole prompt)."""
        self.ctx.clear()
        self.cache.clear()
        if self.drafter is not None:
            self.drafter.reset()

    def close(self) -> None:
        self.loaded.close()

    @property
    def path(self) -> Path:
        return self.info.path


def _sampler(sp: SamplingParams, model: NativeModel) -> Sampler:
    """The sampler chain for ``sp`` (a fresh random seed when it has none)."""
    return Sampler(
        grammar=sp.grammar,
        model=model,
        temperature=sp.temperature,
        top_p=sp.top_p,
        top_k=sp.top_k,
        min_p=sp.min_p,
        repeat_penalty=sp.repeat_penalty,
        seed=sp.seed if sp.seed is not None else random.getrandbits(32),
    )


def _model_turn_tail(prompt: str) -> str:
    """What the template wrote after the last turn header, e.g. a pre-filled thought channel.

    A model turn that continues after tool results starts again after the last ``<tool_response|>``: the results
    (and the earlier answer text) are untrusted, so a ``<|channel>`` typed in them must not steer the parser.
    """
    start = prompt.rfind("<|turn>")
    if start == -1:
        return ""
    newline = prompt.find("\n", start)
    if newline == -1:
        return ""
    tail = prompt[newline + 1 :]
    response_end = tail.rfind(TOOL_RESPONSE_CLOSE)
    return tail if response_end == -1 else tail[response_end + len(TOOL_RESPONSE_CLOSE) :]
