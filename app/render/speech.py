"""Model text to speech text: a streaming markdown answer turned into sentences to read aloud, each as soon as it
is complete.

A voice reads the answer while it still streams, so this works on pieces: ``feed`` takes the next piece of the
answer (thinking and tool calls never reach it: the engine keeps them apart) and returns the sentences that piece
completed; ``finish`` returns the rest. What a listener should hear, not what the screen shows:

* markdown syntax is dropped (emphasis, inline code marks, heading and list markers, quotes, rules, HTML tags);
  a link is read as its text, a picture as its description, a bare web address as "a link";
* a fenced code block is never read out: it becomes "Code block, 12 lines." ("Python code block, …" when the
  fence names the language), said once the block closes;
* a heading, a list item and a table row are each a sentence of their own (a table row as its cells, by commas);
* a paragraph is split into sentences at ``. ! ? …`` followed by a space, except after common abbreviations
  ("e.g.", "Dr.") and initials, so "Dr. Smith" is not cut in two. A sentence is spoken only once its end has
  been seen, so the voice never reads half a sentence that the next piece would change.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_NUMBERED_START = re.compile(r"\d{1,3}(?:[.)](?:\s|$)|$)")  # "3." or "3) …" or just "3" so far
_RULE = re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_URL = re.compile(r"\bhttps?://[^\s)>\]]+")
_INLINE_CODE = re.compile(r"`+([^`]*)`+")
#: Emphasis: by asterisks or tildes anywhere, by underscores only at word edges (snake_case is not emphasis).
_EMPHASIS = re.compile(r"(\*\*|~~|\*)(?=\S)(.+?)(?<=\S)\1|(?<!\w)(__|_)(?=\S)(.+?)(?<=\S)\3(?!\w)")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
#: Marks left over from unfinished emphasis (a piece ends inside it): an asterisk unless spaced like a times sign,
#: an underscore at either end of a word (not inside snake_case).
_STRAY = re.compile(r"\*\*|__|~~|`|(?<! )\*|\*(?! )|(?<!\w)_|_(?!\w)")
_SPACES = re.compile(r"\s+")
#: A sentence's end: its punctuation, any closing quote or bracket, and the space after it.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "no", "fig", "approx", "cf", "jr", "sr"}
)


def plain(markdown: str) -> str:
    """One line of markdown as it should sound: links as their text, syntax gone, spaces collapsed."""
    text = _IMAGE.sub(lambda m: m.group(1), markdown)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _URL.sub("a link", text)
    text = _INLINE_CODE.sub(lambda m: m.group(1), text)
    previous = None
    while previous != text:  # nested emphasis: ***both*** or **a _b_ c**
        previous, text = text, _EMPHASIS.sub(lambda m: m.group(2) or m.group(4), text)
    text = _TAG.sub("", text)
    text = _STRAY.sub("", text)
    return _SPACES.sub(" ", text).strip()


def _with_stop(text: str) -> str:
    """A sentence of its own (a heading, an item) ends like one, so the voice pauses after it."""
    return text if not text or text[-1] in ".!?…:;" else text + "."


def _code_block(language: str, n_lines: int) -> str:
    kind = f"{language.capitalize()} code block" if language else "Code block"
    return f"{kind}, {n_lines} line{'s' if n_lines != 1 else ''}."


class SpokenSentences:
    """Feeds on a streaming markdown answer; gives back the sentences to speak, in order, each once."""

    def __init__(self) -> None:
        self._line = ""  # the line being written (no newline yet)
        self._paragraph = ""  # the current paragraph's plain text so far (its finished lines)
        self._said = ""  # the start of the paragraph's text already given out as sentences
        self._last = ""  # the last sentence given out
        self._fence: str | None = None  # the open code block's fence, while inside one
        self._language = ""
        self._code_lines = 0

    def feed(self, piece: str) -> list[str]:
        """The sentences ``piece`` completed (possibly none)."""
        out: list[str] = []
        self._line += piece
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            self._take_line(line, out)
        if self._fence is None and self._line and not _starts_block(self._line):
            out += self._sentences(self._paragraph_with(plain(self._line)), final=False)
        return out

    def finish(self) -> list[str]:
        """Everything not given out yet: the answer is complete."""
        out: list[str] = []
        if self._line:
            line, self._line = self._line, ""
            self._take_line(line, out)
        if self._fence is not None:  # an answer that stopped inside a code block
            out.append(_code_block(self._language, self._code_lines))
            self._fence = None
        out += self._end_paragraph()
        return out

    # -- lines --------------------------------------------------------------------------------------------

    def _take_line(self, line: str, out: list[str]) -> None:
        if self._fence is not None:
            if line.strip().startswith(self._fence):
                out.append(_code_block(self._language, self._code_lines))
                self._fence = None
            else:
                self._code_lines += 1
            return
        if fence := _FENCE.match(line):
            out += self._end_paragraph()
            self._fence, self._language, self._code_lines = fence.group(1), fence.group(2), 0
            return
        if not line.strip() or _RULE.match(line) or _TABLE_SEPARATOR.match(line):
            out += self._end_paragraph()
            return
        own = self._own_sentence(line)
        if own is not None:
            out += self._end_paragraph()
            if own:
                out.append(_with_stop(own))
            return
        self._paragraph = self._paragraph_with(plain(_QUOTE.sub("", line)))
        out += self._sentences(self._paragraph, final=False)

    @staticmethod
    def _own_sentence(line: str) -> str | None:
        """A heading, list item or table row: its spoken text ("" for nothing to say); None for paragraph text."""
        if heading := _HEADING.match(line):
            return plain(heading.group(1))
        if bullet := _BULLET.match(line):
            return plain(bullet.group(1))
        if line.lstrip().startswith("|"):
            cells = [plain(cell) for cell in line.strip().strip("|").split("|")]
            return ", ".join(cell for cell in cells if cell)
        return None

    def _paragraph_with(self, text: str) -> str:
        return f"{self._paragraph} {text}".strip() if self._paragraph else text

    def _end_paragraph(self) -> list[str]:
        out = self._sentences(self._paragraph, final=True)
        self._paragraph, self._said, self._last = "", "", ""
        return out

    # -- sentences ----------------------------------------------------------------------------------------

    def _sentences(self, text: str, *, final: bool) -> list[str]:
        """The sentences of ``text`` past what was given out: the complete ones (all of it when ``final``)."""
        out: list[str] = []
        start = self._resume(text)
        for end in _END.finditer(text, start):
            if _abbreviation_before(text, end.start()):
                continue
            sentence = text[start : end.end()].strip()
            if sentence:
                out.append(sentence)
            start = end.end()
        if final and text[start:].strip():
            out.append(text[start:].strip())
            start = len(text)
        self._said = text[:start]
        if out:
            self._last = out[-1]
        return out

    def _resume(self, text: str) -> int:
        """Where the unsaid part of ``text`` starts. The line being written was read before it was whole, and
        its end can change how its start reads (an emphasis closed, a link completed): then the last sentence
        said is looked for instead."""
        if text.startswith(self._said):
            return len(self._said)
        found = text.find(self._last) if self._last else -1
        return found + len(self._last) if found >= 0 else min(len(self._said), len(text))


def _starts_block(line: str) -> bool:
    """Whether a line being written may turn out to be a code fence, heading, list item, table row or rule (whose
    text is not a paragraph's): its sentences wait for the whole line."""
    head = line.lstrip()
    return not head or head[0] in "`~#|-*+>_" or bool(_NUMBERED_START.match(head))


def _abbreviation_before(text: str, dot: int) -> bool:
    """Whether the punctuation at ``dot`` ends an abbreviation or an initial rather than a sentence."""
    if text[dot] != ".":
        return False
    word = text[:dot].rsplit(None, 1)[-1] if text[:dot].strip() else ""
    word = word.lstrip("(\"'“‘[").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())
