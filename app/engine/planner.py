"""Turns a generate request into a tokenized prompt plan that fits the context.

Checks what the loaded model can take (pictures need a vision projector; audio
only Gemma 4 E2B/E4B's), renders the conversation with the model's template,
swaps the template's media markers for libmtmd's, tokenizes, and — when the
conversation is too long — applies the overflow policy: drop the oldest whole
turns (the system prompt and the newest turn always stay) or refuse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.engine.errors import ContextError, RequestError
from app.engine.events import GenerateRequest
from app.engine.native import NativeModel
from app.engine.prefix_cache import PromptPlan, Segment
from app.engine.projector import TEXT, MediaPayload, Projector
from app.engine.prompt import ChatTemplate, Message, PromptOptions
from app.engine.prompt_tokens import plain, render_spans, tokenize_spans
from app.media import AudioClip, ImageInput

#: Room kept for the answer when older turns must be dropped.
ANSWER_RESERVE = 1024
#: How deeply a grammar's brackets may nest.
MAX_GRAMMAR_DEPTH = 64
#: The longest sampling grammar taken.
MAX_GRAMMAR_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class Capabilities:
    vision: bool
    audio: bool
    model_name: str


def check_sampling(request: GenerateRequest) -> None:
    """Refuse settings llama.cpp's samplers would turn into garbage (NaN logits) or worse."""
    sp = request.sampling
    floats = {"temperature": sp.temperature, "top-p": sp.top_p, "min-p": sp.min_p, "repeat penalty": sp.repeat_penalty}
    for name, value in floats.items():
        if not math.isfinite(value):
            raise RequestError(f"The {name} must be a number, not {value}.")
    if not 0.0 < sp.top_p <= 1.0:
        raise RequestError(f"Top-p must be above 0 and at most 1; {sp.top_p} was asked for.")
    if not 0.0 <= sp.min_p <= 1.0:
        raise RequestError(f"Min-p must be between 0 and 1; {sp.min_p} was asked for.")
    if sp.top_k < 0:
        raise RequestError(f"Top-k must be 0 (off) or more; {sp.top_k} was asked for.")
    if sp.repeat_penalty <= 0.0:
        raise RequestError(f"The repeat penalty must be above 0; {sp.repeat_penalty} was asked for.")
    if sp.seed is not None and not 0 <= sp.seed <= 0xFFFFFFFF:
        raise RequestError(f"The seed must be between 0 and {0xFFFFFFFF}; {sp.seed} was asked for.")
    if sp.grammar is not None:
        check_grammar(sp.grammar)
    if request.max_tokens is not None and request.max_tokens < 1:
        raise RequestError(f"At least one token must be asked for; {request.max_tokens} was.")


def check_request(request: GenerateRequest, caps: Capabilities) -> None:
    """Refuse, with a reason, what the loaded model cannot take."""
    check_sampling(request)
    messages = request.messages
    if not messages or not any(m.role == "user" for m in messages):
        raise RequestError("Nothing to answer: the conversation has no user message.")
    last_user = next(m for m in reversed(messages) if m.role == "user")
    if not last_user.plain_text.strip() and all(p.type == "text" for p in last_user.parts):
        raise RequestError("The prompt is empty: type a question first.")
    kinds = {p.type for m in messages for p in m.parts}
    if kinds & {"image", "video"} and not caps.vision:
        raise RequestError(
            f"{caps.model_name} was loaded without a vision projector, so it cannot see pictures: "
            "load it together with its mmproj file."
        )
    if "audio" in kinds and not caps.audio:
        raise RequestError(
            f"{caps.model_name} cannot hear audio"
            + (" (no projector is loaded)" if not caps.vision else "")
            + ": only Gemma 4 E2B and E4B, with their mmproj, take audio."
        )
    for m in messages:
        for p in m.parts:
            if p.type in ("image", "audio") and p.payload is None:
                raise RequestError(f"An attached {p.type} has no data (was it deleted?).")


def check_tools(tools: tuple[dict[str, Any], ...], control_texts: tuple[str, ...]) -> None:
    """Refuse a tool declaration whose names or schema hold a control token's text.

    Descriptions are fenced as text when rendered; everything else in a declaration (names, parameter names,
    types, enum values) is written by the template as structure, so a server cannot smuggle ``<turn|>`` in there.
    """
    for tool in tools:
        if not isinstance(tool, dict):
            raise RequestError(f"A tool declaration must be a mapping, not {type(tool).__name__}.")
        function = tool.get("function", tool)
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str) or not name:
            raise RequestError("A tool declaration has no function name.")
        for text in _structure_strings(tool):
            found = next((c for c in control_texts if c in text), None)
            if found is not None:
                raise RequestError(f"The tool {name[:80]!r} was not offered: its declaration holds {found!r}.")


def _structure_strings(value: Any, key: str = "") -> list[str]:
    """Every string a template would write as structure: keys and values, not descriptions."""
    if isinstance(value, str):
        return [] if key == "description" else [value]
    if isinstance(value, dict):
        found = [str(k) for k in value]
        for k, item in value.items():
            found += _structure_strings(item, str(k))
        return found
    if isinstance(value, list | tuple):
        return [text for item in value for text in _structure_strings(item)]
    return []


def _media_in_order(messages: list[Message]) -> list[MediaPayload]:
    return [p.payload for m in messages for p in m.parts if p.type in ("image", "audio")]


def render_plan(
    template: ChatTemplate,
    model: NativeModel,
    projector: Projector | None,
    messages: list[Message],
    thinking: bool,
    tools: tuple[dict[str, Any], ...] = (),
) -> PromptPlan:
    """Render and tokenize ``messages`` (no fitting).

    Text is fenced and tokenized as text, and media go where the template put its placeholders
    (``app.engine.prompt_tokens`` says how); each picture or clip is tokenized by libmtmd on its own, once
    per projector (``Projector.media_run``).
    """
    check_tools(tools, model.structural_texts())
    options = PromptOptions(enable_thinking=thinking, tools=tools)
    spans = render_spans(lambda wrap: template.render(messages, options, wrap), model.structural_texts)
    items = tokenize_spans(model, spans)
    media = _media_in_order(messages)
    slots = [item for item in items if isinstance(item, str)]
    if len(slots) != len(media) or (media and projector is None):
        raise RequestError(
            "The model's chat template did not place every attachment "
            f"({len(slots)} of {len(media)}); this model cannot take them this way."
        )
    plan = PromptPlan(plain(spans), [])
    try:
        pending = iter(media)
        for item in items:
            if isinstance(item, list):
                plan.segments.append(Segment(TEXT, tokens=item))
                continue
            assert projector is not None
            payload = next(pending)
            if not (item == "image" and isinstance(payload, ImageInput)) and not (
                item == "audio" and isinstance(payload, AudioClip)
            ):
                raise RequestError(f"The model's chat template put an {item} where the attachment is not one.")
            run = projector.media_run(payload)  # libmtmd prepares only what this projector has not seen
            plan.chunks.append(run)
            for chunk in run:
                if chunk.kind == TEXT:
                    plan.segments.append(Segment(TEXT, tokens=list(chunk.tokens)))
                else:
                    plan.segments.append(Segment(chunk.kind, chunk=chunk, owner=run))
    except BaseException:
        plan.close()
        raise
    if model.add_bos and model.bos >= 0:
        first = plan.segments[0] if plan.segments else None
        if first is None or first.kind != TEXT:
            plan.segments.insert(0, Segment(TEXT, tokens=[model.bos]))
        elif not first.tokens or first.tokens[0] != model.bos:
            first.tokens.insert(0, model.bos)
    return plan


def _oldest_turn_end(messages: list[Message], first: int) -> int | None:
    """Index just past the oldest whole turn starting at ``first`` (a user message and its replies);
    None when only the newest turn is left."""
    user_indexes = [i for i in range(first, len(messages)) if messages[i].role == "user"]
    if len(user_indexes) < 2:
        return None
    return user_indexes[1]


def check_grammar(grammar: str) -> None:
    """Refuse a grammar llama.cpp would take wrongly or choke on: blank (no constraint at all), a NUL (the C
    string ends there), too long, or brackets nested deeper than ``MAX_GRAMMAR_DEPTH`` (its parser recurses
    once per level, on the engine thread's stack)."""
    if len(grammar) > MAX_GRAMMAR_CHARS:
        raise RequestError(f"The grammar is {len(grammar):,} characters; at most {MAX_GRAMMAR_CHARS:,} are taken.")
    if not grammar.strip():
        raise RequestError("The grammar is empty; leave it out to let the model answer freely.")
    if "\x00" in grammar:
        raise RequestError("The grammar holds a NUL character.")
    depth = deepest = 0
    for char in grammar:  # quotes and classes may hold brackets too: counting them all errs on the safe side
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth = max(0, depth - 1)
    if deepest > MAX_GRAMMAR_DEPTH:
        raise RequestError(f"The grammar nests {deepest} levels deep; at most {MAX_GRAMMAR_DEPTH} are taken.")


def answer_reserve(n_ctx: int, max_tokens: int | None = None) -> int:
    """Context positions kept free for the answer: older turns are left out before the prompt takes them."""
    return min(max_tokens or ANSWER_RESERVE, ANSWER_RESERVE, n_ctx // 4)


def plan_prompt(
    request: GenerateRequest,
    *,
    template: ChatTemplate,
    model: NativeModel,
    projector: Projector | None,
    caps: Capabilities,
    n_ctx: int,
) -> PromptPlan:
    """A prompt plan that fits ``n_ctx``, per the request's overflow policy."""
    check_request(request, caps)
    messages = list(request.messages)
    if request.system and request.system.strip():
        messages.insert(0, Message.text("system", request.system.strip()))
    first = 1 if messages and messages[0].role == "system" else 0
    reserve = answer_reserve(n_ctx, request.max_tokens)
    dropped = 0
    while True:
        plan = render_plan(template, model, projector, messages, request.thinking, request.tools)
        too_long = plan.n_pos >= n_ctx
        wants_room = plan.n_pos + reserve > n_ctx
        if request.overflow == "drop_oldest" and wants_room:
            end = _oldest_turn_end(messages, first)
            if end is not None:
                plan.close()
                dropped += end - first
                del messages[first:end]
                continue
        if too_long:
            plan.close()
            if request.overflow == "stop":
                raise ContextError(
                    f"The conversation is {plan.n_pos:,} tokens long but the context holds {n_ctx:,}; "
                    "start a new chat or load the model with a larger context."
                )
            raise ContextError(
                f"The newest message alone is {plan.n_pos:,} tokens and the context holds {n_ctx:,}; "
                "shorten it, attach less, or load the model with a larger context."
            )
        plan.dropped_messages = dropped
        return plan
