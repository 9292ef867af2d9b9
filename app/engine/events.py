"""Typed requests into the engine and events out of it.

Every event is a frozen dataclass tagged with the id of the request it belongs
to, so a client can drop late events from a generation it already stopped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.engine import tool_calls
from app.engine.prompt import Message

#: Gemma 4's recommended chat sampling (DESIGN.md §2).
DEFAULT_TEMPERATURE = 1.0
DEFAULT_TOP_P = 0.95
DEFAULT_TOP_K = 64


@dataclass(frozen=True, slots=True)
class SamplingParams:
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P
    top_k: int = DEFAULT_TOP_K
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    seed: int | None = None  # None: a fresh seed each time
    # A llama.cpp GBNF grammar (rule "root") the answer must follow, e.g. to force an exact tool call in tests;
    # written by our code, never by the model or a server. Tokens by id: <[17]>.
    grammar: str | None = None


@dataclass(frozen=True, slots=True)
class LoadRequest:
    model_path: Path
    mmproj_path: Path | None = None
    n_ctx: int | None = None  # None: the model's trained length, capped at DEFAULT_MAX_CTX
    n_gpu_layers: int = -1  # -1: as many as the backend takes
    n_threads: int | None = None
    n_batch: int = 512
    vision_budget: int = 280  # tokens per image, 70 … 1120 (Gemma 4's budgets)
    # Keep the sliding-window layers' cache full-size so any earlier turn can be
    # rewound to (prefix reuse after long answers); costs KV memory, see README.
    swa_full: bool = True
    # Mixture-of-experts models: the experts of the first N layers stay in RAM, the rest of the model on the GPU
    # (llama.cpp's --n-cpu-moe); 0 … the model's layer count, see app.models.fit for the N that fits.
    cpu_moe_layers: int = 0
    # A Gemma 4 MTP assistant GGUF (architecture gemma4-assistant) to draft with: app.engine.mtp.MtpDrafter.
    assistant_path: Path | None = None


@dataclass(frozen=True, slots=True)
class GenerateRequest:
    messages: tuple[Message, ...]
    system: str | None = None
    thinking: bool = False
    max_tokens: int | None = None  # None: until the model stops or the context is full
    sampling: SamplingParams = field(default_factory=SamplingParams)
    ignore_eos: bool = False  # keep generating past end-of-turn (benchmarks)
    # When the conversation does not fit: "drop_oldest" keeps the system prompt and
    # the newest turns and drops the oldest whole turns; "stop" refuses instead.
    overflow: Literal["drop_oldest", "stop"] = "drop_oldest"
    # OpenAI-style declarations ({"type": "function", "function": {name, description, parameters}}) that the
    # model's template writes into the system turn; descriptions are text, the rest is checked for control tokens.
    tools: tuple[dict[str, Any], ...] = ()
    # Speculative decoding: "auto" drafts while it measures faster than plain decoding (greedy answers are the
    # same either way); "off" decodes one token at a time.
    speculative: Literal["auto", "off"] = "auto"


# -- events -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadProgress:
    request_id: int
    fraction: float


@dataclass(frozen=True, slots=True)
class ModelInfo:
    path: Path
    name: str
    architecture: str
    n_params: int
    size_bytes: int
    n_ctx: int
    n_ctx_train: int
    backend: str  # "CPU", "CUDA", "Metal", "Vulkan", …
    gpu_layers: int  # layers offloaded to the GPU
    n_layers: int
    chat_template_source: str  # "model" or the name of our fallback format
    has_vision: bool = False
    has_audio: bool = False
    mmproj_path: Path | None = None
    vision_budget: int = 0  # tokens per image when the model has vision
    cpu_moe_layers: int = 0  # with layers on the GPU: the layers whose experts stayed in RAM


@dataclass(frozen=True, slots=True)
class ModelLoaded:
    request_id: int
    info: ModelInfo
    notice: str = ""  # e.g. "no chat template: using the plain Gemma 4 turn format"
    load_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ModelUnloaded:
    request_id: int


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    request_id: int
    text: str


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    request_id: int
    text: str


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete ``<|tool_call>…<tool_call|>`` from the model.

    ``arguments`` are the parsed values; a malformed call has ``error`` set (one line, fit to show the user and
    to tell the model), the name it seems to give (or "") and no arguments. ``raw`` is the text the model wrote.
    """

    request_id: int
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    error: str = ""

    def as_call(self, call_id: str) -> tool_calls.ToolCall:
        """The call as the assistant message's ``tool_calls`` carry it, under the id the conversation gives it."""
        return tool_calls.ToolCall(self.name, dict(self.arguments), self.raw, call_id)


@dataclass(frozen=True, slots=True)
class GenerationStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0
    evaluated_tokens: int = 0
    media_encoded: int = 0
    media_encode_s: float = 0.0  # of prompt_eval_s, the time the projector spent encoding pictures and audio
    completion_tokens: int = 0
    ttft_s: float = 0.0
    prompt_eval_s: float = 0.0
    decode_s: float = 0.0
    decode_tps: float = 0.0
    n_ctx: int = 0
    context_used: int = 0
    backend: str = "CPU"
    gpu_layers: int = 0
    stop_reason: str = ""
    media_tokens: int = 0  # prompt positions taken by images and audio
    dropped_messages: int = 0  # oldest messages left out to fit the context
    # Speculative decoding (all zero / "" when it was off): who drafted, how many draft tokens the model
    # checked, how many it kept, that share, and decode speed over the plain speed measured in the same answer.
    drafter: str = ""
    draft_tokens: int = 0
    draft_accepted: int = 0
    draft_acceptance: float = 0.0
    draft_speedup: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class Stats:
    request_id: int
    stats: GenerationStats


@dataclass(frozen=True, slots=True)
class ContextTrimmed:
    """The conversation did not fit: the oldest ``dropped_messages`` were left out of the prompt."""

    request_id: int
    dropped_messages: int
    prompt_tokens: int
    n_ctx: int


@dataclass(frozen=True, slots=True)
class MediaCost:
    """What each attachment costs in context tokens, in the order asked (``measure``)."""

    request_id: int
    costs: tuple[tuple[str, int], ...]  # (media_id, tokens)


@dataclass(frozen=True, slots=True)
class Failed:
    request_id: int
    message: str
    kind: str = "error"  # the EngineError subclass name, for clients that care


@dataclass(frozen=True, slots=True)
class Done:
    """The last event of every request, whatever happened."""

    request_id: int
    stop_reason: str = ""  # "end", "max_tokens", "context_full", "stopped", "error", "loaded", …


EngineEvent = (
    LoadProgress
    | ModelLoaded
    | ModelUnloaded
    | ThinkingDelta
    | AnswerDelta
    | ToolCall
    | ContextTrimmed
    | MediaCost
    | Stats
    | Failed
    | Done
)
