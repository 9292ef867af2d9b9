"""Titles the model writes: its untrusted answer cleaned into one short line, when a chat wants one, and the request
that asks — the conversation as the next turn sends it, so the engine's cache keeps the conversation (real tiny
Gemma 4, real store)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.chat import ChatSession
from app.chat.titles import (
    MAX_TITLE_WORDS,
    THINKING_TITLE_TOKENS,
    TITLE_INSTRUCTION,
    TITLE_TOKENS,
    clean_title,
    title_request,
    wants_title,
)
from app.engine import AnswerDelta, Stats
from app.store.models import TITLE_CHARS
from tests.chat.conftest import OPTIONS, Loaded, answer
from tests.chat.tool_grammar import answer_grammar

# --- cleaning the answer -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ("Tides and the Moon", "Tides and the Moon"),
        ('"Tides and the Moon"', "Tides and the Moon"),
        ("“Trip to Lisbon”.", "Trip to Lisbon"),
        ("'Paris in Spring'", "Paris in Spring"),
        ("**Tides** and `the` Moon", "Tides and the Moon"),
        ("# Tides and the Moon\n", "Tides and the Moon"),
        ("- Tides and the Moon", "Tides and the Moon"),
        ("Title: Tides and the Moon", "Tides and the Moon"),
        ("Sure! Here is a title: Tides", "Tides"),
        ("\n\n  Tides\nand a second line\n", "Tides"),
        ("Tides\r\nMoon", "Tides"),
        ("[Tides](https://example.org) explained", "Tides explained"),
        ("Why is the sky blue?", "Why is the sky blue?"),
        ("Hello<turn|>", "Hello"),
        ("<|turn>model\nBudget plan<turn|>\n<|turn>user\n", "Budget plan"),
        ("<|channel>thought\nThe user asks about tides.<channel|>Ocean Tides", "Ocean Tides"),
        ("<|channel>thought\nthinking that never ends", ""),
        ("<think>hmm</think>Moon Facts", "Moon Facts"),
        ("<start_of_turn>model\nMoon Facts<end_of_turn><eos>", "Moon Facts"),
        ('Say <|"|>hi<|"|> politely', "Say hi politely"),
        ("<b>Bold</b> <script>alert(1)</script>move", "Bold alert(1) move"),
        ("Pay\u202eevil\u200b bills\x00\x1b[31m", "Payevil bills[31m"),
        ("Tab\there", "Tab here"),
        ("", ""),
        ("   \n\t\n", ""),
        ('"…" — !!!', ""),
        ("<|turn><turn|><eos>", ""),
    ],
)
def test_the_models_answer_is_cleaned_into_one_plain_line(raw: str, title: str) -> None:
    assert clean_title(raw) == title


def test_a_long_answer_is_cut_to_a_few_words_and_a_line() -> None:
    words = clean_title("Planning a week in Lisbon with two kids and a dog on a budget")
    assert words == "Planning a week in Lisbon with two kids…"
    assert len(words.split()) == MAX_TITLE_WORDS

    one_word = clean_title("x" * 500)
    assert one_word == "x" * TITLE_CHARS + "…"

    long_words = clean_title(" ".join(["incomprehensibilities"] * 8))
    assert len(long_words) <= TITLE_CHARS + 1 and long_words.endswith("…")
    assert "\n" not in clean_title("a\n" * 500) and clean_title("a\n" * 500) == "a"


# --- when to ask ----------------------------------------------------------------------------------------------


def test_only_a_chat_still_titled_by_its_first_words_and_ending_in_an_answer_wants_a_title(
    chat: ChatSession, engine: Loaded
) -> None:
    conversation = chat.new()
    assert not wants_title(conversation, [])
    turn = chat.send("How do tides work?")
    assert not wants_title(turn.conversation, turn.path)  # the answer is still streaming
    answer(chat, engine, turn)
    stored = chat.store.get_conversation(conversation.id)
    branch = chat.store.path(conversation.id)
    assert wants_title(stored, branch)
    assert not wants_title(replace(stored, title_by="user"), branch)
    assert not wants_title(replace(stored, title_by="model"), branch)
    assert not wants_title(stored, [*branch[:-1], replace(branch[-1], status="stopped")])
    assert not wants_title(stored, [*branch[:-1], replace(branch[-1], status="error")])


# --- the request, with the real engine ------------------------------------------------------------------------


def test_the_title_request_keeps_the_conversation_in_the_engines_cache(chat: ChatSession, engine: Loaded) -> None:
    eng, events = engine
    conversation = chat.new(system_prompt="Answer in one sentence.")
    first = answer(chat, engine, chat.send("How do tides work? " * 20)).stats
    assert first is not None
    branch = chat.store.path(conversation.id)
    stored = chat.store.get_conversation(conversation.id)
    request = title_request(branch, stored, OPTIONS, chat.attachment_parts)
    next_turn = chat.request_for(chat.send("And on Mars?"), OPTIONS)

    assert request.messages[:-1] == next_turn.messages[:-1]  # the conversation, exactly as the next turn sends it
    assert request.messages[-1].role == "user" and request.messages[-1].plain_text == TITLE_INSTRUCTION
    assert (request.system, request.thinking, request.tools) == ("Answer in one sentence.", False, ())
    assert (request.max_tokens, request.overflow, request.sampling.temperature) == (TITLE_TOKENS, "stop", 0.0)
    tools = ({"type": "function", "function": {"name": "clock", "description": "The time.", "parameters": {}}},)
    assert title_request(branch, stored, OPTIONS, chat.attachment_parts, tools).tools == tools  # as the answer had
    thinking = title_request(branch, replace(stored, thinking=True), OPTIONS, chat.attachment_parts)
    assert thinking.thinking and thinking.max_tokens == THINKING_TITLE_TOKENS  # room to think first

    forced = replace(request, sampling=replace(request.sampling, grammar=answer_grammar('"Tides Explained".')))
    rid = eng.generate(forced)
    got = list(events.until_done(rid, timeout=60))
    text = "".join(e.text for e in got if isinstance(e, AnswerDelta))
    assert clean_title(text) == "Tides Explained"
    title_stats = next(e.stats for e in got if isinstance(e, Stats))
    # The question the first answer answered was still in the cache; the answer is rendered afresh, as every next
    # turn renders it (without the empty thought channel that opened it; a random model's tokens do not come back
    # the same from the template).
    assert first.prompt_tokens - 8 <= title_stats.reused_tokens < first.prompt_tokens

    rid = eng.generate(next_turn)
    after = next(e.stats for e in events.until_done(rid, timeout=60) if isinstance(e, Stats))
    # The next turn finds the whole conversation in the cache, the answer included (the title request laid it
    # down): only the new question and its turn markers are evaluated. The title cost the next turn nothing.
    assert after.reused_tokens > title_stats.reused_tokens
    assert after.prompt_tokens - after.reused_tokens < 24
