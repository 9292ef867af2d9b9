"""Renders a conversation into the model's prompt with its own chat template.

The template comes from the GGUF (``tokenizer.chat_template``), which is
untrusted input: it runs in Jinja's immutable sandbox, and a template that
reaches for Python internals is refused rather than run. A base model with no
template gets the plain Gemma turn format, chosen from the tokens its
vocabulary holds.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.engine.errors import EngineError
from app.engine.prompt_tokens import MEDIA_MARKERS
from app.engine.tool_calls import ToolCall

__all__ = ["MEDIA_MARKERS", "ChatTemplate", "Message", "Part", "PromptOptions", "TemplateError", "fallback_template"]

Role = Literal["system", "user", "assistant", "tool"]
PartType = Literal["text", "image", "audio", "video"]


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a message: text, or a picture / audio clip with its content id.

    ``payload`` holds the decoded media (``app.media.ImageInput`` or
    ``AudioClip``); it is not part of equality, the content id is.
    """

    type: PartType
    text: str = ""
    media_id: str = ""
    payload: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Message:
    """A chat message as the engine sees it.

    ``thinking`` is kept, and re-sent only with an assistant message that made tool calls (the template decides
    where it goes, as ``reasoning_content``). An assistant message may carry ``tool_calls``; each result follows as
    a ``tool`` message naming the call's ``tool_call_id`` and the tool's ``name``.
    """

    role: Role
    parts: tuple[Part, ...] = ()
    thinking: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""

    @staticmethod
    def text(role: Role, text: str) -> Message:
        return Message(role=role, parts=(Part("text", text),))

    @staticmethod
    def tool_result(call: ToolCall, text: str) -> Message:
        """The result of ``call`` as the ``tool`` message that answers it."""
        return Message(role="tool", parts=(Part("text", text),), tool_call_id=call.id, name=call.name)

    @property
    def plain_text(self) -> str:
        return "".join(p.text for p in self.parts if p.type == "text")


@dataclass(frozen=True, slots=True)
class PromptOptions:
    """Variables a template sees besides the messages."""

    enable_thinking: bool = False
    add_generation_prompt: bool = True
    tools: tuple[dict[str, Any], ...] = field(default_factory=tuple)


class TemplateError(EngineError):
    """The chat template is unsafe or broken."""


# Our own fallback formats for models without a template (base models).
_GEMMA4_FALLBACK = (
    "{{ bos_token }}"
    "{% if enable_thinking or messages[0]['role'] == 'system' %}<|turn>system\n"
    "{% if enable_thinking %}<|think|>\n{% endif %}"
    "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] | trim }}{% endif %}"
    "<turn|>\n{% endif %}"
    "{% for m in messages if m['role'] != 'system' %}"
    "<|turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    "{{ m['content'] | trim }}<turn|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|turn>model\n"
    "{% if not enable_thinking %}<|channel>thought\n<channel|>{% endif %}{% endif %}"
)

_GEMMA3_FALLBACK = (
    "{{ bos_token }}{% set ns = namespace(sys='') %}"
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{% set ns.sys = m['content'] | trim %}{% else %}"
    "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
    "{% if ns.sys and m['role'] != 'assistant' %}{{ ns.sys }}\n\n{% set ns.sys = '' %}{% endif %}"
    "{{ m['content'] | trim }}<end_of_turn>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

_PLAIN_FALLBACK = (
    "{{ bos_token }}"
    "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] | trim }}\n\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def fallback_template(vocab_has: Sequence[str]) -> tuple[str, str]:
    """Pick our built-in format for a model without a template: (name, source)."""
    if "<|turn>" in vocab_has:
        return "Gemma 4 turns", _GEMMA4_FALLBACK
    if "<start_of_turn>" in vocab_has:
        return "Gemma turns", _GEMMA3_FALLBACK
    return "plain text", _PLAIN_FALLBACK


def _raise_exception(message: str) -> None:
    raise TemplateError(f"The model's chat template refused the conversation: {message}")


def _tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False) -> str:
    # Jinja's own tojson escapes <, > and & for HTML; chat templates want plain JSON.
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii, sort_keys=False)


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


class ChatTemplate:
    """A compiled, sandboxed chat template."""

    def __init__(self, source: str, *, bos_token: str, eos_token: str, builtin: bool = False) -> None:
        self.source = source
        self.builtin = builtin
        self._bos = bos_token
        self._eos = eos_token
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
            undefined=jinja2.Undefined,
        )
        env.filters["tojson"] = _tojson
        env.globals["raise_exception"] = _raise_exception
        env.globals["strftime_now"] = _strftime_now
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"The model's chat template is broken: {exc}") from None

    def render(
        self,
        messages: Sequence[Message],
        options: PromptOptions,
        wrap: Callable[[str], str] = lambda text: text,
    ) -> str:
        """Render ``messages``; media parts become ``<|image|>``-style markers.

        ``wrap`` is applied to every piece of untrusted text (message text, tool descriptions) before the
        template sees it: ``app.engine.prompt_tokens`` fences it there so it is tokenized as text.
        """
        data = [_message_dict(m, structured=not self.builtin, wrap=wrap) for m in messages]
        tools = [_wrap_descriptions(tool, wrap) for tool in options.tools]
        try:
            return self._template.render(
                messages=data,
                bos_token=self._bos,
                eos_token=self._eos,
                add_generation_prompt=options.add_generation_prompt,
                enable_thinking=options.enable_thinking,
                tools=tools or None,
            )
        except jinja2.exceptions.SecurityError:
            raise TemplateError(
                "The model's chat template tried to reach Python internals and was stopped; "
                "this model file is unsafe to use."
            ) from None
        except TemplateError:
            raise
        except Exception as exc:  # a broken template: its error is data, not our bug
            raise TemplateError(f"The model's chat template failed: {type(exc).__name__}: {exc}") from None


def _message_dict(message: Message, *, structured: bool, wrap: Callable[[str], str]) -> dict[str, Any]:
    """The message as a template expects it; text-only messages use a plain string."""
    only_text = all(p.type == "text" for p in message.parts)
    if only_text or not structured:
        # Text parts are wrapped one by one, so a placeholder between them stays outside any fence.
        content: Any = "".join(wrap(p.text) if p.type == "text" else MEDIA_MARKERS[p.type] for p in message.parts)
    else:
        content = [
            {"type": "text", "text": wrap(p.text)} if p.type == "text" else {"type": p.type} for p in message.parts
        ]
    data: dict[str, Any] = {"role": message.role, "content": content}
    if message.tool_calls and structured:
        data["tool_calls"] = [_call_dict(call, wrap) for call in message.tool_calls]
        if message.thinking.strip():  # the official template reads "reasoning"; others "reasoning_content"
            data["reasoning"] = data["reasoning_content"] = wrap(message.thinking)
    if message.role == "tool" and structured:
        data["tool_call_id"] = message.tool_call_id
        if message.name:
            data["name"] = wrap(message.name)
    return data


def _call_dict(call: ToolCall, wrap: Callable[[str], str]) -> dict[str, Any]:
    """An OpenAI-style tool call; the model wrote its name and arguments, so every string in them is fenced text."""
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": wrap(call.name), "arguments": _wrap_strings(call.arguments, wrap)},
    }


def _wrap_strings(value: Any, wrap: Callable[[str], str]) -> Any:
    """``value`` with every string in it, keys included, passed through ``wrap``."""
    if isinstance(value, str):
        return wrap(value)
    if isinstance(value, dict):
        return {wrap(str(key)): _wrap_strings(item, wrap) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wrap_strings(item, wrap) for item in value]
    return value


def _wrap_descriptions(value: Any, wrap: Callable[[str], str]) -> Any:
    """A tool declaration with its free-text descriptions wrapped (names and types are structure)."""
    if isinstance(value, dict):
        return {
            key: wrap(item) if key == "description" and isinstance(item, str) else _wrap_descriptions(item, wrap)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_wrap_descriptions(item, wrap) for item in value]
    return value
