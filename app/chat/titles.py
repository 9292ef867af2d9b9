"""Chat titles the model writes: when to ask for one, the request that asks, and its answer cleaned into a title.

After a chat's first complete answer, while its title is still the first words of the question (``title_by`` is
"words"), a client may ask the loaded model for a short title. The request is the conversation exactly as the next
turn will send it (same system prompt, thinking switch and tools), with one more user message asking for a title:
the model's KV cache keeps the whole conversation, and the next turn only drops the question and its few tokens
(it would re-evaluate that turn's start anyway). A client runs it only while the user is not waiting for anything
and stops it when the user asks something.

What comes back is untrusted text: ``clean_title`` keeps one short line of plain words, or "" when nothing usable is
left (the title then stays the first words). The store takes a title only while the title is still first words, so
the user's own name for a chat always wins (``Store.set_model_title``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from app.chat.request import ChatOptions, PartsOf, build_request
from app.engine import GenerateRequest, Message, Part, SamplingParams
from app.store import Conversation
from app.store import Message as StoredMessage
from app.store.models import TITLE_CHARS

TITLE_INSTRUCTION = (
    "Write a title for this conversation: at most six words, on one line, in the language of the conversation. "
    "Reply with the title alone, without quotes, markdown or a full stop."
)
#: A title keeps at most this many words (the model is asked for six).
MAX_TITLE_WORDS = 8
#: The most tokens a title may take; with thinking on, the model thinks first (a title not reached by then is
#: skipped, and the first words stay).
TITLE_TOKENS = 32
THINKING_TITLE_TOKENS = 400

_THOUGHTS = re.compile(r"<\|channel>.*?(?:<channel\|>|$)|<(think|thinking|thought)>.*?(?:</\1>|$)", re.S | re.I)
# Control tokens as text: Gemma 4's <|turn>, <turn|>, <|"|>, <|think|>; Gemma 3's <start_of_turn>; HTML-ish tags.
_TOKENS = re.compile(
    r"(?:<\|turn>|<start_of_turn>)\s*(?:user|model|system)?|<\|[^<>\n]{0,40}?>|<[^<>\s|]{1,40}\|>"
    r"|</?(?:start_of_turn|end_of_turn|bos|eos|pad|unk|mask)>|</?[a-z][^<>\n]{0,40}>",
    re.I,
)
_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_LINE_START = re.compile(r"^(?:[#>\s]+|[-*+•]\s+|\d{1,3}[.)]\s+)+")
_LABEL = re.compile(r"^[^:：\n]{0,40}?\btitle\b\s*(?:is\s*)?[:：\-–—]\s*", re.I)  # "Title:", "Here is a title:"
_EMPHASIS = re.compile(r"\*+|~~|__|`+")
_QUOTES = "\"'“”‘’„‟«»‹›「」『』"
_EDGE_JUNK = _QUOTES + " .,;:!-–—·|/\\"
_END_JUNK = _QUOTES + " .,;:-–—·|/\\"


def wants_title(conversation: Conversation, branch: Sequence[StoredMessage]) -> bool:
    """Whether to ask the model for a title now: the title is still the first words, and the branch ends in a
    complete answer (one stopped, failed or still streaming says too little)."""
    if conversation.title_by != "words" or not branch:
        return False
    last = branch[-1]
    return last.role == "assistant" and last.status == "complete" and bool(last.content.strip())


def title_request(
    branch: Sequence[StoredMessage],
    conversation: Conversation,
    options: ChatOptions,
    parts_of: PartsOf,
    tools: Sequence[dict[str, Any]] = (),
) -> GenerateRequest:
    """The request for a title: ``branch`` (ending with its answer) as the next turn will send it, offering the
    same ``tools`` as the answer did, then the question; greedy, short, and refused rather than cut when the
    conversation no longer fits (cutting it would throw away the cached conversation)."""
    base = build_request(branch, conversation, options, parts_of)
    return replace(
        base,
        messages=(*base.messages, Message("user", (Part("text", TITLE_INSTRUCTION),))),
        max_tokens=THINKING_TITLE_TOKENS if base.thinking else TITLE_TOKENS,
        sampling=SamplingParams(temperature=0.0, top_k=1, seed=0),
        speculative="off",
        overflow="stop",
        tools=tuple(tools),
    )


def clean_title(text: str) -> str:
    """The model's answer as a title: its first line of words, without thoughts, control tokens, markdown, quotes,
    control characters or a final full stop, at most ``MAX_TITLE_WORDS`` words and ``TITLE_CHARS`` characters;
    "" when no letter or digit is left."""
    text = _TOKENS.sub(" ", _THOUGHTS.sub("\n", text))
    for raw in text.splitlines():
        line = _clean_line(raw)
        if any(ch.isalnum() for ch in line):
            return _capped(line)
    return ""


def _clean_line(raw: str) -> str:
    # Control and format characters (bidi overrides, zero-width ones, escapes) go; other odd spaces become spaces.
    line = "".join(" " if ch.isspace() else ch for ch in raw if unicodedata.category(ch)[0] != "C" or ch.isspace())
    line = _LINK.sub(r"\1", line)
    line = _EMPHASIS.sub("", _LINE_START.sub("", line.strip()))
    line = _LABEL.sub("", line.strip(_QUOTES + " "))
    line = " ".join(line.split())
    return line.lstrip(_EDGE_JUNK).rstrip(_END_JUNK)


def _capped(line: str) -> str:
    words = line.split()
    cut = len(words) > MAX_TITLE_WORDS
    line = " ".join(words[:MAX_TITLE_WORDS])
    if len(line) > TITLE_CHARS:
        space = line.rfind(" ", 0, TITLE_CHARS + 1)
        line = line[:space] if space >= TITLE_CHARS // 2 else line[:TITLE_CHARS]
        cut = True
    line = line.rstrip(_END_JUNK) or line
    return line + "…" if cut else line
