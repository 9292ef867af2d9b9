"""Tokenizes a rendered prompt so that control tokens come only from the chat template's own structure.

The guarantee (DESIGN.md §5): text written by a person, a document, a tool or an
earlier answer is tokenized as *text* — ``<turn|>`` typed in a message becomes
the tokens of the characters ``<``, ``turn``, ``|>``, never the control token that
ends a turn. Only what the template itself writes (turn headers, ``<bos>``,
``<|think|>``, media placeholders) is parsed for control tokens.

How it is guaranteed:

1. Before rendering, every text part is wrapped in a *fence*: two sentinels made
   of private-use characters and a random nonce drawn for this one render
   (``TextFence``). Text cannot contain the closing sentinel, since it cannot
   guess the nonce; leading and trailing whitespace stays outside the fence so a
   template's ``| trim`` behaves as before.
2. After rendering, the output is cut at the sentinels into *structure* (what
   the template wrote) and *text* (what was fenced). A fence the template broke
   (a sentinel dropped or reordered, e.g. by splitting an answer on a marker it
   contains) is detected, and the render is redone with every control-token
   string in the text defanged — a zero-width space after its first character —
   so that no text can ever become a control token either way.
3. Structure is tokenized with special-token parsing; the plain text around its
   structural tokens is joined with the adjacent fenced text and tokenized with
   parsing *off*. That is exactly how llama.cpp splits a prompt at special
   tokens, so a message without control-token strings gets the very tokens the
   whole prompt would have got — prefix reuse and the model's view are unchanged.
   llama.cpp makes *user-defined* tokens from text even with parsing off, and
   Gemma 4 ships several markers that way (``<|channel>``, ``<|tool_call>``,
   ``<|"|>``): such a string inside text is cut in two before tokenizing, so it
   becomes its characters (``NativeModel.structural_tokens`` lists the markers).
4. Media placeholders (``<|image|>``, ``<|audio|>``) count only in structure:
   the same string typed by the user is text. Media are then placed by position,
   not found by a string search, so no text can forge or displace one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

#: Markers the templates write for media parts (DESIGN.md §2).
MEDIA_MARKERS: dict[str, str] = {"image": "<|image|>", "audio": "<|audio|>", "video": "<|video|>"}
_MARKER_KINDS = {marker: kind for kind, marker in MEDIA_MARKERS.items()}
_MARKER_RE = re.compile("|".join(re.escape(m) for m in MEDIA_MARKERS.values()))

ZWSP = "\u200b"

#: A run of prompt tokens, or the kind of media ("image", "audio", "video") that goes at this place.
PromptItem = list[int] | str


class Vocabulary(Protocol):
    """What tokenizing needs from a model (``NativeModel`` provides it)."""

    def tokenize(self, text: str, *, add_special: bool, parse_special: bool = True) -> list[int]: ...
    def token_text(self, token: int) -> str: ...
    def is_structural(self, token: int) -> bool: ...
    def structural_texts(self) -> tuple[str, ...]: ...
    def literal_hazards(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class TextFence:
    """Sentinels around fenced text, unique to one render."""

    open: str
    close: str

    @staticmethod
    def new() -> TextFence:
        nonce = f"{secrets.randbelow(10**24):024d}"  # digits: unchanged by a template's upper/lower
        return TextFence(open=f"\ue000{nonce}\ue001", close=f"\ue000{nonce}\ue002")

    def wrap(self, text: str) -> str:
        """``text`` fenced; whitespace at its ends stays outside, where a template's trim can see it."""
        core = text.strip()
        if not core:
            return text
        start = len(text) - len(text.lstrip())
        end = start + len(core)
        return f"{text[:start]}{self.open}{core}{self.close}{text[end:]}"


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of a rendered prompt: structure the template wrote, fenced text, or a media placeholder."""

    kind: str  # "structure", "text" or "media"
    text: str  # for media: the placeholder as the template wrote it
    media: str = ""  # for media: "image", "audio" or "video"


def split_fenced(rendered: str, fence: TextFence) -> list[Span] | None:
    """Cut ``rendered`` into spans; None when the template broke a fence (a sentinel lost or out of order)."""
    spans: list[Span] = []
    pos = 0
    while True:
        start = rendered.find(fence.open, pos)
        stray_close = rendered.find(fence.close, pos)
        if start == -1:
            if stray_close != -1:
                return None
            _structure(rendered[pos:], spans)
            return spans
        if stray_close != -1 and stray_close < start:
            return None
        end = rendered.find(fence.close, start + len(fence.open))
        if end == -1:
            return None
        inner = rendered[start + len(fence.open) : end]
        if fence.open in inner:
            return None
        _structure(rendered[pos:start], spans)
        spans.append(Span("text", inner))
        pos = end + len(fence.close)


def unfenced(rendered: str) -> list[Span]:
    """A render made without fences, all structure (its text was defanged before rendering)."""
    spans: list[Span] = []
    _structure(rendered, spans)
    return spans


def _structure(text: str, out: list[Span]) -> None:
    pos = 0
    for match in _MARKER_RE.finditer(text):
        if match.start() > pos:
            out.append(Span("structure", text[pos : match.start()]))
        out.append(Span("media", match.group(), _MARKER_KINDS[match.group()]))
        pos = match.end()
    if pos < len(text):
        out.append(Span("structure", text[pos:]))


def plain(spans: Iterable[Span]) -> str:
    """The prompt as text, without sentinels."""
    return "".join(s.text for s in spans)


def defang(text: str, specials: tuple[str, ...]) -> str:
    """``text`` with a zero-width space inside every control-token string and media placeholder."""
    needles = sorted({*specials, *MEDIA_MARKERS.values()}, key=len, reverse=True)
    needles = [n for n in needles if len(n) > 1]
    if not needles:
        return text
    pattern = re.compile("|".join(re.escape(n) for n in needles))
    for _ in range(8):  # a break can never create a new match, but stay bounded regardless
        if not pattern.search(text):
            break
        text = pattern.sub(lambda m: m.group()[0] + ZWSP + m.group()[1:], text)
    return text


def tokenize_spans(vocab: Vocabulary, spans: Iterable[Span]) -> list[PromptItem]:
    """Token runs and media slots, in order. Only structure spans yield structural tokens."""
    items: list[PromptItem] = []
    pending: list[tuple[str, bool]] = []  # (plain text, fenced) waiting to be tokenized as one run
    hazards = _hazard_pattern(vocab.literal_hazards())

    def flush() -> None:
        if pending:
            for piece in _cut_hazards(pending, hazards):
                _add_tokens(items, vocab.tokenize(piece, add_special=False, parse_special=False))
            pending.clear()

    for span in spans:
        if span.kind == "text":
            pending.append((span.text, True))
        elif span.kind == "media":
            flush()
            items.append(span.media)
        else:
            for piece in _split_at_structure(vocab, span.text):
                if isinstance(piece, str):
                    pending.append((piece, False))
                else:
                    flush()
                    _add_tokens(items, [piece])
    flush()
    return items


def _hazard_pattern(hazards: tuple[str, ...]) -> re.Pattern[str] | None:
    if not hazards:
        return None
    ordered = sorted(hazards, key=len, reverse=True)
    return re.compile("(?=(" + "|".join(re.escape(h) for h in ordered) + "))")


def _cut_hazards(run: list[tuple[str, bool]], hazards: re.Pattern[str] | None) -> list[str]:
    """The run joined, cut inside every marker-shaped string that touches fenced text.

    llama.cpp makes user-defined tokens (Gemma 4's ``<|channel>``, ``<|"|>``, …) from plain text too, so
    such a string in text is tokenized in two pieces: its characters, never the token.
    """
    joined = "".join(text for text, _ in run)
    if hazards is None or not any(fenced for _, fenced in run):
        return [joined] if joined else []
    fenced_ranges: list[tuple[int, int]] = []
    pos = 0
    for text, fenced in run:
        if fenced:
            fenced_ranges.append((pos, pos + len(text)))
        pos += len(text)
    cuts = sorted(
        {
            m.start() + 1
            for m in hazards.finditer(joined)
            if any(a < m.start() + len(m.group(1)) and m.start() < b for a, b in fenced_ranges)
        }
    )
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(joined[start:cut])
        start = cut
    pieces.append(joined[start:])
    return [p for p in pieces if p]


def _add_tokens(items: list[PromptItem], tokens: list[int]) -> None:
    if items and isinstance(items[-1], list):
        items[-1].extend(tokens)
    elif tokens:
        items.append(list(tokens))


def _split_at_structure(vocab: Vocabulary, text: str) -> list[str | int]:
    """Structure text as plain-text pieces and the structural tokens llama.cpp finds in it."""
    tokens = vocab.tokenize(text, add_special=False, parse_special=True)
    specials = [t for t in tokens if vocab.is_structural(t)]
    if not specials:
        return [text]
    out: list[str | int] = []
    rest = text
    for token in specials:
        needle = vocab.token_text(token)
        at = rest.find(needle) if needle else -1
        if at < 0:
            # A special whose text we cannot locate: keep llama.cpp's own tokens for this structure.
            return list(tokens)
        if at:
            out.append(rest[:at])
        out.append(token)
        rest = rest[at + len(needle) :]
    if rest:
        out.append(rest)
    return out


def render_spans(render: Callable[[Callable[[str], str]], str], specials: Callable[[], tuple[str, ...]]) -> list[Span]:
    """Render with fenced text; if the template breaks a fence, again with defanged text.

    ``render(wrap)`` renders the conversation with every text part passed through ``wrap``.
    """
    spans = _fenced_render(render, lambda text: text)
    if spans is not None:
        return spans
    names = specials()
    spans = _fenced_render(render, lambda text: defang(text, names))
    if spans is not None:
        return spans
    return unfenced(render(lambda text: defang(text, names)))


def _fenced_render(render: Callable[[Callable[[str], str]], str], prepare: Callable[[str], str]) -> list[Span] | None:
    """Spans of a render with fenced text, or None when the template cut, dropped or altered a fence."""
    fence = TextFence.new()
    wrapped = 0

    def wrap(text: str) -> str:
        nonlocal wrapped
        out = fence.wrap(prepare(text))
        wrapped += out.count(fence.open)
        return out

    spans = split_fenced(render(wrap), fence)
    if spans is None:
        return None
    fences = sum(1 for s in spans if s.kind == "text")
    nonce = fence.open[1:-1]
    if fences < wrapped or any(
        s.kind != "text" and (nonce in s.text or any(c in s.text for c in _SENTINEL_CHARS)) for s in spans
    ):
        return None  # a fence lost or taken apart: its text may now sit in the structure
    return spans


_SENTINEL_CHARS = ("\ue000", "\ue001", "\ue002")
