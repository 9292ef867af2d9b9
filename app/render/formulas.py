"""LaTeX math in answers: where formulas are (a markdown-it plugin) and their pictures (ziamath SVG).

Pure Python, no Qt. ``math_plugin`` teaches the markdown parser the delimiters
chat models use: ``$…$`` and ``\\(…\\)`` inline, ``$$…$$`` and ``\\[…\\]`` for
display math (a block of its own when it starts a line). Dollar amounts stay
text by the usual rules: an opening ``$`` is followed by a non-space, a closing
``$`` follows a non-space and is not followed by a digit, no unescaped ``$``
nor a backtick, and ``\\$`` is a literal dollar ("it costs $5 and $10" is
prose). Code spans and blocks are parsed first, so they never hold math. A
delimiter still waiting for its closer (an answer still streaming) leaves the
source as text. Display math never spans a blank line, so the incremental
renderer's split points stay final.

``formula_svg`` turns one formula into an SVG with ziamath (pure Python, its
own STIX Two Math font: no TeX install, no network). Model output is untrusted:
``renderable`` refuses formulas too long, too deeply nested or too many in one
message (shown as source), and ``formula_svg`` refuses formulas whose layout
would cost too much (ziamath lays out each nested row twice, so cost grows
as 2^depth) and returns None for TeX it cannot read — never an exception.
"""

from __future__ import annotations

import hashlib
import re
import threading
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

MAX_TEX = 2000  # characters of one formula's source
MAX_DEPTH = 8  # nested groups ({…}, \left…\right, \begin…\end) in one formula
MAX_FORMULAS = 300  # pictures in one message; later formulas show as source
MAX_LAYOUT_COST = 1500  # MathML nodes weighted by 2^(rows around them): about a second of ziamath
URL_SCHEME = "gd-math"

_DISPLAY_OPENERS = (("$$", "$$"), ("\\[", "\\]"))
_GROUP = re.compile(r"\\left\b|\\right\b|\\begin\{|\\end\{|\\\\|\\[{}]|[{}]")


@dataclass(frozen=True)
class Formula:
    """One formula of a message: its TeX, whether it is display math, and the delimiters it was written with."""

    tex: str
    display: bool
    opener: str
    closer: str

    @property
    def source(self) -> str:
        """The formula as written (copying a formula gives this)."""
        return f"{self.opener}{self.tex}{self.closer}"

    @property
    def key(self) -> str:
        """A name for its picture: the same formula in the same mode always has the same key."""
        digest = hashlib.sha1(f"{int(self.display)}{self.tex}".encode(), usedforsecurity=False).hexdigest()
        return digest[:20]

    @property
    def url(self) -> str:
        return f"{URL_SCHEME}:{self.key}"


def nesting_depth(tex: str) -> int:
    """How deeply groups nest in ``tex`` (braces, \\left…\\right, environments)."""
    depth = deepest = 0
    for match in _GROUP.finditer(tex):
        token = match.group()
        if token in ("{", "\\left", "\\begin{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("}", "\\right", "\\end{"):
            depth = max(0, depth - 1)
    return deepest


def renderable(formula: Formula, index: int) -> bool:
    """Whether the ``index``-th formula of a message gets a picture (else it shows as its source)."""
    return index < MAX_FORMULAS and len(formula.tex) <= MAX_TEX and nesting_depth(formula.tex) <= MAX_DEPTH


# -- parsing -------------------------------------------------------------------------------


def _find(src: str, start: int, end: int, closer: str) -> int:
    """Where ``closer`` first occurs in ``src[start:end]``, stepping over backslash pairs (``\\$``, ``\\\\``)."""
    i = start
    while i < end:
        if src.startswith(closer, i):
            return i
        i += 2 if src[i] == "\\" else 1
    return -1


def _dollar_closer(src: str, start: int, end: int) -> int:
    """The closing ``$`` of an inline formula opened just before ``start``, or -1 (then it is a dollar sign)."""
    if start >= end or src[start].isspace():
        return -1
    close = _find(src, start, end, "$")
    if close <= start or src[close - 1].isspace() or "`" in src[start:close]:  # a code span wins over math
        return -1
    if close + 1 < end and src[close + 1].isdigit():
        return -1
    return close


def _math_inline(state: StateInline, silent: bool) -> bool:
    src, pos, end = state.src, state.pos, state.posMax
    if src.startswith("\\(", pos) or src.startswith("\\[", pos):
        opener, closer = src[pos : pos + 2], "\\)" if src[pos + 1] == "(" else "\\]"
        close = _find(src, pos + 2, end, closer)
    elif src.startswith("$$", pos):
        opener = closer = "$$"
        close = _find(src, pos + 2, end, closer)
    elif src.startswith("$", pos):
        opener = closer = "$"
        close = _dollar_closer(src, pos + 1, end)
        if close < 0:
            return False
    else:
        return False
    tex = src[pos + len(opener) : close] if close >= 0 else ""
    if not tex.strip():  # unclosed (still streaming) or empty: the delimiter is text
        if not silent:
            state.pending += opener
        state.pos = pos + len(opener)
        return True
    if not silent:
        token = state.push("math_inline", "", 0)
        token.content = tex
        token.markup = opener
        token.info = closer
    state.pos = close + len(closer)
    return True


def _math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    first = state.src[state.bMarks[start_line] + state.tShift[start_line] : state.eMarks[start_line]]
    pair = next(((o, c) for o, c in _DISPLAY_OPENERS if first.startswith(o)), None)
    if pair is None:
        return False
    opener, closer = pair
    rest = first[len(opener) :].rstrip()
    lines, last = _block_lines(state, start_line, end_line, rest, closer)
    if lines is None or not "".join(lines).strip():
        return False
    if silent:
        return True
    token = state.push("math_block", "", 0)
    token.content = "\n".join(lines)
    token.markup = opener
    token.info = closer
    token.map = [start_line, last + 1]
    token.block = True
    state.line = last + 1
    return True


def _block_lines(
    state: StateBlock, start_line: int, end_line: int, rest: str, closer: str
) -> tuple[list[str] | None, int]:
    """The lines of a display block up to its closing delimiter at a line end, or None (no block here)."""
    if rest.endswith(closer) and len(rest) >= len(closer):
        body = rest[: -len(closer)]
        return ([body], start_line) if _find(body, 0, len(body), closer) < 0 else (None, start_line)
    if _find(rest, 0, len(rest), closer) >= 0:
        return None, start_line  # "$$x$$ and more": display math inside a paragraph
    lines = [rest]
    for line in range(start_line + 1, end_line):
        begin, stop = state.bMarks[line] + state.tShift[line], state.eMarks[line]
        if begin >= stop or state.sCount[line] < state.blkIndent:
            return None, line  # a blank or outdented line first: no formula spans it
        text = state.src[begin:stop].rstrip()
        if text.endswith(closer) and _find(text, 0, len(text), closer) == len(text) - len(closer):
            lines.append(text[: -len(closer)])
            return lines, line
        if _find(text, 0, len(text), closer) >= 0:
            return None, line
        lines.append(text)
    return None, end_line


def math_plugin(md: MarkdownIt) -> None:
    """Add the math rules to a markdown-it parser (tokens ``math_inline`` and ``math_block``)."""
    md.inline.ruler.before("escape", "math_inline", _math_inline)
    md.block.ruler.before("fence", "math_block", _math_block, {"alt": ["paragraph", "reference", "blockquote", "list"]})


# -- pictures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormulaSvg:
    """A formula drawn as SVG, with its size in pixels and how far it reaches above its baseline."""

    svg: str
    width: float
    height: float
    ascent: float

    @property
    def descent(self) -> float:
        return self.height - self.ascent


_ziamath_lock = threading.Lock()  # ziamath keeps module-level state (fonts, settings): one formula at a time


def _layout_cost(element: ET.Element, weight: int = 1) -> Iterator[int]:
    yield weight
    inner = weight * 2 if element.tag.rsplit("}", 1)[-1] == "mrow" else weight
    for child in element:
        yield from _layout_cost(child, inner)


def layout_cost(mathml: ET.Element) -> int:
    """What laying out ``mathml`` costs ziamath (each row is laid out twice: once to measure it)."""
    total = 0
    for weight in _layout_cost(mathml):
        total += weight
        if total > MAX_LAYOUT_COST:
            break
    return total


def formula_svg(tex: str, display: bool, size: float, colour: str) -> FormulaSvg | None:
    """``tex`` drawn at ``size`` pixels per em in ``colour`` (#rrggbb); None if it cannot or may not be drawn."""
    if len(tex) > MAX_TEX or nesting_depth(tex) > MAX_DEPTH or not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
        return None
    try:
        with _ziamath_lock:
            return _draw(tex, display, size, colour)
    except Exception:  # bad TeX: latex2mathml and ziamath raise many kinds of errors
        return None


def _draw(tex: str, display: bool, size: float, colour: str) -> FormulaSvg | None:
    # Heavy (fonts, tables): loaded with the first formula, on the caller's thread. ziamath 0.13 finds its
    # font with importlib.resources.path, which Python 3.11 calls deprecated: not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ziamath.config import config
        from ziamath.tex import tex2mml
        from ziamath.zmath import Math

    config.svg2 = False  # plain paths, no <symbol>/<use>: what Qt's SVG Tiny renderer draws
    mathml: Any = ET.fromstring(tex2mml(tex, inline=not display))
    if layout_cost(mathml) > MAX_LAYOUT_COST:
        return None
    mathml.attrib["mathcolor"] = colour
    math = Math(mathml, size=size)
    svg = math.svg()
    box = [float(v) for v in ET.fromstring(svg).attrib["viewBox"].split()]
    return FormulaSvg(svg=svg, width=box[2], height=box[3], ascent=-box[1])
