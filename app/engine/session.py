"""A loaded model ready to chat: loading, prompt evaluation and the token loop.

``ModelSession`` is plain, synchronous code: ``generate`` is a generator of
events that checks a stop callback between tokens. The worker thread in
``app.engine.engine`` is what makes it asynchronous; tests and benchmarks can
drive it directly.
"""

from __future__ import annotations

import codecs
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from app.engine.errors import ContextError, ModelFileError, ModelLoadError, RequestError
from app.engine.events import (
    AnswerDelta,
    EngineEvent,
    GenerateRequest,
    GenerationStats,
    LoadRequest,
    ModelInfo,
    Stats,
    ThinkingDelta,
    ToolCall,
)
from app.engine.gguf_file import GGUFInfo, read_gguf_info
from app.engine.native import NativeContext, NativeModel, Sampler, backend_name, default_threads
from app.engine.prompt import ChatTemplate, Message, PromptOptions, fallback_template
from app.engine.stream_parser import MARKERS, Kind, Parsed, StreamParser

log = logging.getLogger(__name__)

#: The context a model gets when the caller does not say (capped at what it was trained for).
DEFAULT_CTX = 8192


class LoadCancelled(Exception):
    """The caller stopped a load before it finished."""


@dataclass(frozen=True, slots=True)
class PreparedPrompt:
    text: str
    tokens: list[int]


def _probe_conversations() -> list[tuple[list[Message], PromptOptions]]:
    """Conversations a template must render before we accept it."""
    turns = [
        Message.text("system", "You are helpful."),
        Message.text("user", "Hello"),
        Message.text("assistant", "Hi!"),
        Message.text("user", "How are you?"),
    ]
    return [
        (turns, PromptOptions(enable_thinking=False)),
        (turns, PromptOptions(enable_thinking=True)),
        (turns[1:2], PromptOptions(enable_thinking=False)),
    ]


class ModelSession:
    """Owns a model, its context and its chat template. One thread at a time."""

    def __init__(
        self,
        *,
        model: NativeModel,
        ctx: NativeContext,
        template: ChatTemplate,
        info: ModelInfo,
        gguf: GGUFInfo,
    ) -> None:
        self.model = model
        self.ctx = ctx
        self.template = template
        self.info = info
        self.gguf = gguf
        self._cached: list[int] = []  # the tokens the KV cache holds, position by position
        self._n_swa = int(gguf.get(f"{gguf.architecture}.attention.sliding_window", 0) or 0)
        #: Tokens the stream parser acts on; other control tokens are never shown as text.
        self._marker_ids = frozenset(t for t in (model.find_token(m) for m in MARKERS) if t is not None)

    # -- loading ----------------------------------------------------------------

    @classmethod
    def load(
        cls,
        request: LoadRequest,
        *,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> tuple[ModelSession, str]:
        """Check and load a model; returns the session and a notice for the user ("" if none)."""
        t0 = time.perf_counter()
        path = Path(request.model_path).expanduser()
        gguf = read_gguf_info(path)
        if gguf.is_projector:
            raise ModelFileError(
                f"{path.name} is a vision/audio projector (mmproj), not a language model; "
                "pass it as the mmproj next to a Gemma model."
            )
        n_ctx_train = gguf.context_length
        if request.n_ctx is not None:
            if request.n_ctx < 64:
                raise ContextError(f"A context of {request.n_ctx} tokens is too small; use at least 64.")
            if n_ctx_train and request.n_ctx > n_ctx_train:
                raise ContextError(
                    f"{gguf.name} supports at most {n_ctx_train:,} tokens of context; {request.n_ctx:,} were asked for."
                )

        def on_progress(fraction: float) -> bool:
            if progress is not None:
                progress(fraction)
            return not cancelled()

        try:
            model = NativeModel(path, n_gpu_layers=request.n_gpu_layers, progress=on_progress)
        except ModelLoadError:
            if cancelled():
                raise LoadCancelled() from None
            raise
        try:
            if cancelled():
                raise LoadCancelled()
            template, notice, format_name = cls._make_template(model, gguf)
            n_ctx = request.n_ctx or min(model.n_ctx_train or DEFAULT_CTX, DEFAULT_CTX)
            threads = request.n_threads or default_threads()
            ctx = NativeContext(
                model,
                n_ctx=n_ctx,
                n_batch=min(request.n_batch, n_ctx),
                n_threads=threads,
                n_threads_batch=max(threads, default_threads()),
            )
        except BaseException:
            model.close()
            raise
        gpu_layers = model.gpu_layers
        info = ModelInfo(
            path=path,
            name=gguf.name,
            architecture=gguf.architecture,
            n_params=model.n_params,
            size_bytes=gguf.file_size,
            n_ctx=ctx.n_ctx,
            n_ctx_train=model.n_ctx_train,
            backend=backend_name() if gpu_layers > 0 else "CPU",
            gpu_layers=gpu_layers,
            n_layers=model.n_layer,
            chat_template_source=format_name,
        )
        log.info(
            "loaded %s in %.2f s (%s, n_ctx %d)",
            path.name,
            time.perf_counter() - t0,
            info.backend,
            info.n_ctx,
        )
        return cls(model=model, ctx=ctx, template=template, info=info, gguf=gguf), notice

    @staticmethod
    def _make_template(model: NativeModel, gguf: GGUFInfo) -> tuple[ChatTemplate, str, str]:
        """The model's own template (or our fallback), a notice, and where it came from."""
        bos = model.token_text(model.bos) if model.bos >= 0 else ""
        eos = model.token_text(model.eos) if model.eos >= 0 else ""
        source = gguf.chat_template or model.chat_template()
        notice = ""
        format_name = "model"
        builtin = False
        if not source:
            vocab_has = [t for t in ("<|turn>", "<start_of_turn>") if model.find_token(t) is not None]
            name, source = fallback_template(vocab_has)
            builtin = True
            format_name = f"fallback: {name}"
            notice = f"This model has no chat template (a base model?); using the plain {name} format."
        template = ChatTemplate(source, bos_token=bos, eos_token=eos, builtin=builtin)
        for messages, options in _probe_conversations():
            template.render(messages, options)  # raises TemplateError for unsafe or broken ones
        return template, notice, format_name

    # -- prompts ----------------------------------------------------------------

    def prepare(self, request: GenerateRequest) -> PreparedPrompt:
        messages = list(request.messages)
        if not messages or not any(m.role == "user" for m in messages):
            raise RequestError("Nothing to answer: the conversation has no user message.")
        last_user = next(m for m in reversed(messages) if m.role == "user")
        if not last_user.plain_text.strip() and all(p.type == "text" for p in last_user.parts):
            raise RequestError("The prompt is empty: type a question first.")
        if request.system and request.system.strip():
            messages.insert(0, Message.text("system", request.system.strip()))
        text = self.template.render(messages, PromptOptions(enable_thinking=request.thinking))
        tokens = self.model.tokenize(text, add_special=False, parse_special=True)
        if self.model.add_bos and self.model.bos >= 0 and (not tokens or tokens[0] != self.model.bos):
            tokens.insert(0, self.model.bos)
        return PreparedPrompt(text, tokens)

    def _reusable_prefix(self, tokens: list[int]) -> int:
        """How many leading prompt tokens the KV cache already holds and can keep."""
        n = 0
        for a, b in zip(self._cached, tokens, strict=False):
            if a != b:
                break
            n += 1
        n = min(n, len(tokens) - 1)  # the last prompt token is always evaluated, for its logits
        if n <= 0:
            return 0
        if self._n_swa > 0 and n < len(self._cached):
            # A sliding-window layer keeps only its last n_swa positions: rewinding
            # further back than that would leave it attending to nothing.
            pos_min = self._pos_min()
            if pos_min > max(0, n - self._n_swa):
                return 0
        return n

    def _pos_min(self) -> int:
        import llama_cpp as C

        return int(C.llama_memory_seq_pos_min(self.ctx.memory, 0))

    # -- generation ---------------------------------------------------------------

    def generate(
        self,
        request: GenerateRequest,
        request_id: int = 0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[EngineEvent]:
        """Evaluate the prompt and stream the answer; the last event is a ``Stats``."""
        t_start = time.perf_counter()
        prompt = self.prepare(request)
        n_ctx = self.ctx.n_ctx
        if len(prompt.tokens) >= n_ctx:
            raise ContextError(
                f"The conversation is {len(prompt.tokens):,} tokens long but the context holds {n_ctx:,}; "
                "start a new chat or load the model with a larger context."
            )
        reused = self._reusable_prefix(prompt.tokens)
        if reused < len(self._cached):
            if not self.ctx.truncate(reused):
                self.ctx.clear()
                reused = 0
            del self._cached[reused:]
        todo = prompt.tokens[reused:]
        stop_reason = ""
        for start in range(0, len(todo), self.ctx.n_batch):
            if should_stop():
                stop_reason = "stopped"
                break
            chunk = todo[start : start + self.ctx.n_batch]
            try:
                self.ctx.decode(chunk)
            except Exception:
                self.ctx.clear()
                self._cached.clear()
                raise
            self._cached.extend(chunk)
        t_prompt = time.perf_counter()

        seed = request.sampling.seed if request.sampling.seed is not None else random.getrandbits(32)
        sp = request.sampling
        sampler = Sampler(
            temperature=sp.temperature,
            top_p=sp.top_p,
            top_k=sp.top_k,
            min_p=sp.min_p,
            repeat_penalty=sp.repeat_penalty,
            seed=seed,
        )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        parser = StreamParser()
        parser.prime(_model_turn_tail(prompt.text))
        n_gen = 0
        t_first = t_last = 0.0
        max_new = request.max_tokens if request.max_tokens is not None else n_ctx
        model, ctx, cached = self.model, self.ctx, self._cached
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
                cached.append(token)
        finally:
            sampler.close()
        tail = decoder.decode(b"", final=True)
        for event in parser.feed(tail) + parser.finish():
            yield self._to_event(event, request_id)

        decode_s = (t_last - t_first) if n_gen > 1 else 0.0
        stats = GenerationStats(
            prompt_tokens=len(prompt.tokens),
            reused_tokens=reused,
            evaluated_tokens=len(todo),
            media_encoded=0,
            completion_tokens=n_gen,
            ttft_s=round((t_first or time.perf_counter()) - t_start, 6),
            prompt_eval_s=round(t_prompt - t_start, 6),
            decode_s=round(decode_s, 6),
            decode_tps=round((n_gen - 1) / decode_s, 3) if decode_s > 0 else 0.0,
            n_ctx=n_ctx,
            context_used=len(cached),
            backend=self.info.backend,
            gpu_layers=self.info.gpu_layers,
            stop_reason=stop_reason,
        )
        yield Stats(request_id, stats)

    @staticmethod
    def _to_event(parsed: Parsed, request_id: int) -> EngineEvent:
        if parsed.kind is Kind.ANSWER:
            return AnswerDelta(request_id, parsed.text)
        if parsed.kind is Kind.THINKING:
            return ThinkingDelta(request_id, parsed.text)
        return ToolCall(request_id, parsed.tool_name, parsed.tool_arguments)

    def reset_cache(self) -> None:
        self.ctx.clear()
        self._cached.clear()

    def close(self) -> None:
        self.ctx.close()
        self.model.close()


def _model_turn_tail(prompt: str) -> str:
    """What the template wrote after the last turn header, e.g. a pre-filled thought channel."""
    start = prompt.rfind("<|turn>")
    if start == -1:
        return ""
    newline = prompt.find("\n", start)
    return "" if newline == -1 else prompt[newline + 1 :]
