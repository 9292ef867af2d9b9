"""Prompt rendering: the model's own template, sandboxed; our fallbacks for base models."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.prompt import ChatTemplate, Message, Part, PromptOptions, TemplateError, fallback_template
from tests.fixtures.tiny_gemma4 import GEMMA4_CHAT_TEMPLATE


def gemma4() -> ChatTemplate:
    return ChatTemplate(GEMMA4_CHAT_TEMPLATE, bos_token="<bos>", eos_token="<eos>")


CHAT = [
    Message.text("system", "Be brief."),
    Message.text("user", "Hi"),
    Message(role="assistant", parts=(Part("text", "<|channel>thought\nThey greet.<channel|>Hello!"),)),
    Message.text("user", "Bye"),
]


def test_thinking_off_prefills_an_empty_thought_channel() -> None:
    text = gemma4().render(CHAT, PromptOptions(enable_thinking=False))
    assert text == (
        "<bos><|turn>system\nBe brief.<turn|>\n"
        "<|turn>user\nHi<turn|>\n"
        "<|turn>model\nHello!<turn|>\n"
        "<|turn>user\nBye<turn|>\n"
        "<|turn>model\n<|channel>thought\n<channel|>"
    )


def test_thinking_on_puts_think_token_in_the_system_turn_and_strips_old_thoughts() -> None:
    text = gemma4().render(CHAT, PromptOptions(enable_thinking=True))
    assert text.startswith("<bos><|turn>system\n<|think|>\nBe brief.<turn|>\n")
    assert "They greet." not in text  # earlier thoughts are never sent back
    assert text.endswith("<|turn>model\n")


def test_media_parts_become_markers() -> None:
    msg = Message(role="user", parts=(Part("image", media_id="a"), Part("text", "What is this?")))
    text = gemma4().render([msg], PromptOptions())
    assert "<|turn>user\n<|image|>What is this?<turn|>" in text


SANDBOX_ESCAPE = (
    "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
    "{% if c.__name__ == 'Popen' %}{{ c(['touch', marker]) }}{% endif %}"
    "{% endfor %}{{ messages[0]['content'] }}"
)


def test_template_that_reaches_for_python_internals_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    template = ChatTemplate(SANDBOX_ESCAPE.replace("marker", repr(str(marker))), bos_token="", eos_token="")
    with pytest.raises(TemplateError, match="unsafe"):
        template.render([Message.text("user", "hi")], PromptOptions())
    assert not marker.exists()


def test_template_cannot_mutate_its_inputs() -> None:
    template = ChatTemplate("{{ messages.append(1) }}", bos_token="", eos_token="")
    with pytest.raises(
        TemplateError,
        match=r"^The model's chat template tried to reach Python internals and was stopped; this model file is unsafe",
    ):
        template.render([Message.text("user", "hi")], PromptOptions())


def test_broken_template_gives_a_clear_error() -> None:
    with pytest.raises(TemplateError, match="broken"):
        ChatTemplate("{% for %}", bos_token="", eos_token="")


def test_raise_exception_in_template_is_reported() -> None:
    template = ChatTemplate("{{ raise_exception('roles must alternate') }}", bos_token="", eos_token="")
    with pytest.raises(TemplateError, match="roles must alternate"):
        template.render([Message.text("user", "hi")], PromptOptions())


def test_fallback_for_a_gemma4_base_model() -> None:
    name, source = fallback_template(["<|turn>"])
    template = ChatTemplate(source, bos_token="<bos>", eos_token="<eos>", builtin=True)
    text = template.render([Message.text("user", "Hi")], PromptOptions())
    assert name == "Gemma 4 turns"
    assert text == "<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>"


def test_fallback_for_a_gemma3_base_model_keeps_the_system_prompt() -> None:
    name, source = fallback_template(["<start_of_turn>"])
    template = ChatTemplate(source, bos_token="<bos>", eos_token="<eos>", builtin=True)
    text = template.render([Message.text("system", "Be brief."), Message.text("user", "Hi")], PromptOptions())
    assert name == "Gemma turns"
    assert text == "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
