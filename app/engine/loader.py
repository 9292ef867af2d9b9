"""Loading a model for chat: checks, llama.cpp model and context, projector, template.

Every step that can fail on a bad file or a bad setting fails here, before
anything is generated, with a message that names the file and the fix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from app.engine.backends import backend_name, default_threads, missing_gpu_notice
from app.engine.errors import ContextError, ModelFileError, ModelLoadError
from app.engine.events import LoadRequest, ModelInfo
from app.engine.gguf_file import GGUFInfo, read_gguf_info
from app.engine.moe_offload import check_cpu_moe_layers
from app.engine.mtp import MtpDrafter
from app.engine.mtp_file import check_assistant_file
from app.engine.native import NativeContext, NativeModel
from app.engine.projector import MAX_VISION_BUDGET, MIN_VISION_BUDGET, Projector, check_projector_file
from app.engine.prompt import ChatTemplate, Message, PromptOptions, fallback_template

log = logging.getLogger(__name__)

#: The context a model gets when the caller does not say (capped at what it was trained for).
DEFAULT_CTX = 8192


class LoadCancelled(Exception):
    """The caller stopped a load before it finished."""


@dataclass
class Loaded:
    """Everything a chat session needs, owned together (``close`` frees it)."""

    model: NativeModel
    ctx: NativeContext
    template: ChatTemplate
    projector: Projector | None
    info: ModelInfo
    gguf: GGUFInfo
    notice: str
    drafter: MtpDrafter | None = None  # the MTP assistant, when one was asked for

    def close(self) -> None:
        if self.drafter is not None:
            self.drafter.close()  # reads the context's cache: free it before the context
        if self.projector is not None:
            self.projector.close()  # uses the model: free it first
        self.ctx.close()
        self.model.close()


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


def make_template(model: NativeModel, gguf: GGUFInfo) -> tuple[ChatTemplate, str, str]:
    """The model's own template (or our fallback), a notice, and where it came from."""
    bos = model.token_text(model.bos) if model.bos >= 0 else ""
    eos = model.token_text(model.eos) if model.eos >= 0 else ""
    source = gguf.chat_template or model.chat_template()
    notice, format_name, builtin = "", "model", False
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


def _check_request(request: LoadRequest, gguf: GGUFInfo, path: Path) -> None:
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
    if not MIN_VISION_BUDGET <= request.vision_budget <= MAX_VISION_BUDGET:
        raise ContextError(
            f"The vision budget must be between {MIN_VISION_BUDGET} and {MAX_VISION_BUDGET} tokens per image; "
            f"{request.vision_budget} was asked for."
        )
    check_cpu_moe_layers(request.cpu_moe_layers, gguf)


def _batch_size(request: LoadRequest, projector: Projector | None, n_ctx: int) -> int:
    """A media chunk that needs non-causal attention must fit one batch: size it for the budget."""
    n_batch = request.n_batch
    if projector is not None:
        if projector.vision:
            # Gemma 4 rounds budgets up to whole 48-px cells on each side: leave ~20 % room.
            n_batch = max(n_batch, -(-int(projector.vision_budget * 1.2) // 64) * 64)
        if projector.audio:
            n_batch = max(n_batch, 768)  # a 30 s clip is 750 tokens
    return min(n_batch, n_ctx)


def load_model(
    request: LoadRequest,
    *,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> Loaded:
    """Check and load a model (and its projector); raises ``EngineError`` subclasses.

    When the GPU is asked for but loading there fails (a driver that does not initialise, too little
    video memory), the model is loaded again on the CPU and the notice says why.
    """
    backend = backend_name()
    if request.n_gpu_layers != 0 and backend == "CPU" and (missing := missing_gpu_notice()):
        loaded = _load(request, progress, cancelled)
        return replace(loaded, notice=" ".join(n for n in (missing, loaded.notice) if n))
    try:
        return _load(request, progress, cancelled)
    except ModelLoadError as exc:
        if cancelled() or request.n_gpu_layers == 0 or backend == "CPU":
            raise
        log.warning("loading on %s failed, trying the CPU: %s", backend, exc)
        loaded = _load(replace(request, n_gpu_layers=0), progress, cancelled)
        fallback = f"Loading on the GPU ({backend}) failed: {exc} The model runs on the CPU instead (slower)."
        return replace(loaded, notice=" ".join(n for n in (fallback, loaded.notice) if n))


def _load(request: LoadRequest, progress: Callable[[float], None] | None, cancelled: Callable[[], bool]) -> Loaded:
    t0 = time.perf_counter()
    path = Path(request.model_path).expanduser()
    gguf = read_gguf_info(path)
    _check_request(request, gguf, path)
    mmproj = Path(request.mmproj_path).expanduser() if request.mmproj_path else None
    assistant = Path(request.assistant_path).expanduser() if request.assistant_path else None
    if assistant is not None:
        check_assistant_file(assistant, gguf)  # before the long load of the model itself

    def on_progress(fraction: float) -> bool:
        if progress is not None:
            progress(fraction * (0.9 if mmproj else 1.0))
        return not cancelled()

    try:
        model = NativeModel(
            path, n_gpu_layers=request.n_gpu_layers, cpu_moe_layers=request.cpu_moe_layers, progress=on_progress
        )
    except ModelLoadError:
        if cancelled():
            raise LoadCancelled() from None
        raise
    projector: Projector | None = None
    ctx: NativeContext | None = None
    try:
        if cancelled():
            raise LoadCancelled()
        template, notice, format_name = make_template(model, gguf)
        threads = request.n_threads or default_threads()
        if mmproj is not None:
            projector = _load_projector(mmproj, request, gguf, model, threads)
            if progress is not None:
                progress(1.0)
        n_ctx = request.n_ctx or min(model.n_ctx_train or DEFAULT_CTX, DEFAULT_CTX)
        ctx = NativeContext(
            model,
            n_ctx=n_ctx,
            n_batch=_batch_size(request, projector, n_ctx),
            n_threads=threads,
            n_threads_batch=max(threads, default_threads()),
            swa_full=request.swa_full,
        )
        drafter, refused = _load_drafter(assistant, request, gguf, ctx, threads) if assistant else (None, "")
        notice = " ".join(filter(None, [notice, refused]))
    except BaseException:
        if ctx is not None:
            ctx.close()
        if projector is not None:
            projector.close()
        model.close()
        raise
    info = _model_info(path, gguf, model, ctx, projector, format_name)
    if info.gpu_layers > 0 and request.cpu_moe_layers:
        info = replace(info, cpu_moe_layers=request.cpu_moe_layers)
    log.info("loaded %s in %.2f s (%s, n_ctx %d)", path.name, time.perf_counter() - t0, info.backend, info.n_ctx)
    return Loaded(model, ctx, template, projector, info, gguf, notice, drafter)


def _load_projector(path: Path, request: LoadRequest, gguf: GGUFInfo, model: NativeModel, threads: int) -> Projector:
    """The vision/audio projector, checked against the model first."""
    info = check_projector_file(path, gguf.name, model.n_embd)
    return Projector(
        path,
        model,
        n_threads=max(threads, default_threads()),
        vision_budget=request.vision_budget,
        use_gpu=request.n_gpu_layers != 0,
        info=info,
    )


def _load_drafter(
    path: Path, request: LoadRequest, gguf: GGUFInfo, ctx: NativeContext, threads: int
) -> tuple[MtpDrafter | None, str]:
    """The MTP assistant bound to ``ctx`` (on the same devices as the model), or None and why not: the file was
    checked already, so this is llama.cpp refusing it, and the model chats on without it."""
    try:
        drafter = MtpDrafter.load(
            path,
            gguf,
            ctx,
            n_gpu_layers=request.n_gpu_layers,
            n_threads=threads,
            n_threads_batch=max(threads, default_threads()),
        )
    except ModelLoadError as exc:
        log.warning("MTP assistant %s not used: %s", path.name, exc)
        return None, f"{exc} Answers are drafted from the conversation instead."
    return drafter, ""


def _model_info(
    path: Path, gguf: GGUFInfo, model: NativeModel, ctx: NativeContext, projector: Projector | None, template: str
) -> ModelInfo:
    """What the window and the command line show about the loaded model (``template``: where it came from)."""
    gpu_layers = model.gpu_layers
    return ModelInfo(
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
        chat_template_source=template,
        has_vision=bool(projector and projector.vision),
        has_audio=bool(projector and projector.audio),
        mmproj_path=projector.path if projector else None,
        vision_budget=projector.vision_budget if projector and projector.vision else 0,
    )
