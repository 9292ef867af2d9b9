"""Markdown → Qt rich-text HTML, with an incremental renderer for streaming answers.

Pure Python (no QtGui/QtWidgets): it produces HTML strings in the subset that
``QTextDocument`` understands — inline ``style=`` attributes, tables for boxes
and quote bars, ``<pre>`` with Pygments' inline-styled spans for code.

``render_markdown(text)`` renders a whole message. ``StreamingMarkdown`` renders
a growing answer: it splits the source at top-level block boundaries that no
later text can change, renders what lies before once ("stable") and re-renders
only the tail on each update, so an answer of n tokens costs O(n), not O(n²).
Concatenating every ``stable_appended`` and the latest ``tail`` always equals
``render_markdown`` of the same text.

Raw HTML in the model's output is shown as text, link targets other than
http/https/mailto are dropped, and images are never loaded (shown as their alt
text). Code blocks get a header with a language badge and ``gd-code:copy:N`` and ``gd-code:save:N``
links (and ``gd-code:preview:N`` for HTML and SVG), N being ``CodeBlock.index``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from app.render.artifacts import is_previewable as previewable
from app.render.formulas import Formula, math_plugin, renderable


@dataclass(frozen=True)
class Theme:
    """Colours for one look of the chat (hex strings) and the Pygments style for code."""

    name: str
    text: str
    muted: str
    link: str
    code_bg: str
    code_border: str
    inline_code_bg: str
    table_border: str
    quote_border: str
    pygments_style: str
    badge_bg: str = "#ddf4ff"  # a code block's language badge
    badge_text: str = "#0969da"


LIGHT = Theme(
    name="light",
    text="#1f2328",
    muted="#656d76",
    link="#0969da",
    code_bg="#f6f8fa",
    code_border="#d0d7de",
    inline_code_bg="#eaeef2",
    table_border="#d0d7de",
    quote_border="#d0d7de",
    pygments_style="default",
)
DARK = Theme(
    name="dark",
    text="#e6edf3",
    muted="#8d96a0",
    link="#4493f8",
    code_bg="#161b22",
    code_border="#3d444d",
    inline_code_bg="#2d333b",
    table_border="#3d444d",
    quote_border="#3d444d",
    pygments_style="github-dark",
    badge_bg="#1b2f4a",
    badge_text="#79b8ff",
)


@dataclass(frozen=True)
class CodeBlock:
    """A fenced or indented code block of a message, numbered in order from 0."""

    index: int
    language: str
    code: str
    suggested_filename: str


@dataclass(frozen=True)
class RenderUpdate:
    """What changed after ``StreamingMarkdown.update``."""

    stable_appended: str  # HTML of blocks that just became final: append once
    tail: str  # HTML of the unfinished tail: replaces the previous tail
    reset: bool  # the caller must clear everything and show stable_appended + tail


# html=False: raw HTML stays text. "reference" is off because a link definition
# further down would change links above it, which breaks rendering in pieces
# (and models rarely write reference-style links).
_MD = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable(["table", "strikethrough"])
    .disable(["reference", "html_block", "html_inline"])
    .use(math_plugin)
)

_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_NEWLINES = re.compile(r"\r\n?")
_CHUNK_LINES = 16
_BLOCK = "margin-top:0px; margin-bottom:8px;"
_HEADING_SIZES = {"h1": "x-large", "h2": "large", "h3": "medium", "h4": "medium", "h5": "small", "h6": "small"}

_EXTENSIONS = {
    "python": "py", "py": "py", "python3": "py", "py3": "py", "html": "html", "htm": "html", "css": "css",
    "javascript": "js", "js": "js", "jsx": "jsx", "typescript": "ts", "ts": "ts", "tsx": "tsx", "json": "json",
    "bash": "sh", "sh": "sh", "shell": "sh", "zsh": "sh", "c": "c", "h": "h", "cpp": "cpp", "c++": "cpp",
    "cxx": "cpp", "rust": "rs", "rs": "rs", "go": "go", "golang": "go", "java": "java", "kotlin": "kt",
    "swift": "swift", "ruby": "rb", "rb": "rb", "php": "php", "sql": "sql", "yaml": "yaml", "yml": "yaml",
    "toml": "toml", "ini": "ini", "markdown": "md", "md": "md", "svg": "svg", "xml": "xml", "csv": "csv",
    "lua": "lua", "r": "r", "powershell": "ps1", "ps1": "ps1", "bat": "bat", "diff": "diff", "patch": "diff",
    "csharp": "cs", "c#": "cs", "cs": "cs", "latex": "tex", "tex": "tex",
}  # fmt: skip


def suggested_filename(language: str, code: str) -> str:
    """A file name to offer in "Save as…" for a code block in ``language``."""
    lang = language.lower()
    head = code.lstrip()[:15].lower()
    if lang in ("html", "htm") and (head.startswith("<!doctype html") or head.startswith("<html")):
        return "index.html"
    if lang == "dockerfile":
        return "Dockerfile"
    if lang in ("make", "makefile"):
        return "Makefile"
    return f"snippet.{_EXTENSIONS.get(lang, 'txt')}"


@lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


@lru_cache(maxsize=8)
def _formatter(style: str) -> HtmlFormatter[str]:
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


@lru_cache(maxsize=128)
def _highlight(code: str, language: str, style: str) -> str:
    """Inline-styled HTML spans for ``code`` (cached: a closed fence stays in the tail for a few updates)."""
    if not language:
        return escape(code, quote=False)
    return str(highlight(code, _lexer(language.lower()), _formatter(style))).removesuffix("\n")


def _highlight_open(code: str, language: str, style: str) -> str:
    """Highlight a still-open fence in chunks that stay the same as it grows, so each update lexes only the end.

    A chunk ends once it has _CHUNK_LINES lines, before a line in column 0 or
    after a blank line (unconditionally at 4x that); a string spanning a chunk
    end is coloured wrongly until the fence closes and is highlighted whole.
    """
    if not language:
        return escape(code, quote=False)
    lines = code.split("\n")
    parts: list[str] = []
    start = 0
    for i in range(_CHUNK_LINES, len(lines)):
        size = i - start
        at_top = lines[i][:1] not in ("", " ", "\t") or not lines[i - 1].strip()
        if size >= _CHUNK_LINES and (at_top or size >= 4 * _CHUNK_LINES):
            parts.append(_highlight("\n".join(lines[start:i]), language, style))
            start = i
    parts.append(_highlight("\n".join(lines[start:]), language, style))
    return "\n".join(parts)


def _is_open_fence(tok: Token) -> bool:
    """Whether a fence token runs to the end of the text without a closing fence (still streaming)."""
    if tok.map is None:
        return False
    content = tok.content
    return (bool(content) and not content.endswith("\n")) or content.count("\n") == tok.map[1] - tok.map[0] - 1


def _safe_href(href: str) -> str | None:
    return href if href.lower().startswith(_SAFE_SCHEMES) else None


class _Renderer:
    """Turns markdown-it tokens into Qt rich-text HTML; numbers code blocks from ``first_index``."""

    def __init__(self, theme: Theme, first_index: int = 0, first_formula: int = 0) -> None:
        self.theme = theme
        self.code_blocks: list[CodeBlock] = []
        self._next_index = first_index
        self.formulas: list[Formula] = []  # those shown as pictures, in order
        self.formula_count = first_formula  # formulas seen so far, pictures or not

    def render(self, tokens: Sequence[Token]) -> str:
        out: list[str] = []
        t = self.theme
        for tok in tokens:
            kind = tok.type
            if kind == "inline":
                out.append(self._inline(tok.children or []))
            elif kind == "paragraph_open":
                if not tok.hidden:
                    out.append(f'<p style="{_BLOCK}">')
            elif kind == "paragraph_close":
                if not tok.hidden:
                    out.append("</p>")
            elif kind == "heading_open":
                size = _HEADING_SIZES.get(tok.tag, "medium")
                out.append(f'<{tok.tag} style="margin-top:6px; margin-bottom:6px; font-size:{size};">')
            elif kind in ("heading_close", "list_item_close", "tr_close", "thead_close", "tbody_close"):
                out.append(f"</{tok.tag}>")
            elif kind == "bullet_list_open":
                out.append(f'<ul style="{_BLOCK}">')
            elif kind == "ordered_list_open":
                start = tok.attrs.get("start")
                out.append(f'<ol start="{int(start)}" style="{_BLOCK}">' if start else f'<ol style="{_BLOCK}">')
            elif kind in ("bullet_list_close", "ordered_list_close"):
                out.append(f"</{tok.tag}>")
            elif kind == "list_item_open":
                out.append("<li>")
            elif kind == "blockquote_open":
                out.append(
                    f'<table width="100%" cellspacing="0" cellpadding="0" style="{_BLOCK}"><tr>'
                    f'<td width="3" style="background-color:{t.quote_border};"></td>'
                    f'<td style="padding-left:10px; color:{t.muted};">'
                )
            elif kind == "blockquote_close":
                out.append("</td></tr></table>")
            elif kind in ("fence", "code_block"):
                out.append(self._code(tok))
            elif kind == "math_block":
                out.append(f'<p align="center" style="{_BLOCK}">{self._formula(tok, True)}</p>')
            elif kind == "hr":
                out.append(f'<hr style="background-color:{t.table_border};"/>')
            elif kind == "table_open":
                out.append(
                    f'<table border="1" cellspacing="0" cellpadding="5" style="{_BLOCK} border-collapse:collapse;'
                    f' border-style:solid; border-color:{t.table_border};">'
                )
            elif kind == "table_close":
                out.append("</table>")
            elif kind in ("thead_open", "tbody_open", "tr_open"):
                out.append(f"<{tok.tag}>")
            elif kind in ("th_open", "td_open"):
                align = str(tok.attrs.get("style", "")).removeprefix("text-align:")
                attr = f' align="{align}"' if align in ("left", "center", "right") else ""
                bold = ' style="font-weight:bold;"' if kind == "th_open" else ""
                out.append(f"<{tok.tag}{attr}{bold}>")
            elif kind in ("th_close", "td_close"):
                out.append(f"</{tok.tag}>")
        return "".join(out)

    def _inline(self, children: Sequence[Token]) -> str:
        out: list[str] = []
        t = self.theme
        links: list[bool] = []
        for tok in children:
            kind = tok.type
            if kind in ("text", "text_special", "html_inline"):
                out.append(escape(tok.content, quote=False))
            elif kind == "softbreak":
                out.append("\n")
            elif kind == "hardbreak":
                out.append("<br/>")
            elif kind == "math_inline":
                out.append(self._formula(tok, tok.markup in ("$$", "\\[")))
            elif kind == "code_inline":
                out.append(
                    f'<code style="background-color:{t.inline_code_bg};">&nbsp;{escape(tok.content, quote=False)}'
                    "&nbsp;</code>"
                )
            elif kind in ("em_open", "em_close", "strong_open", "strong_close", "s_open", "s_close"):
                tag = {"em": "i", "strong": "b", "s": "s"}[kind.rsplit("_", 1)[0]]
                out.append(f"<{tag}>" if tok.nesting == 1 else f"</{tag}>")
            elif kind == "link_open":
                href = _safe_href(str(tok.attrs.get("href", "")))
                links.append(href is not None)
                if href is not None:
                    out.append(f'<a href="{escape(href)}" style="color:{t.link};">')
            elif kind == "link_close":
                if links and links.pop():
                    out.append("</a>")
            elif kind == "image":
                alt = escape(tok.content or "image", quote=False)
                src = _safe_href(str(tok.attrs.get("src", "")))
                if src is not None:
                    out.append(f'<a href="{escape(src)}" style="color:{t.link};">[{alt}]</a>')
                else:
                    out.append(f"[{alt}]")
        return "".join(out)

    def _formula(self, tok: Token, display: bool) -> str:
        """A picture of the formula (drawn by the view, see ``app.render.formulas``), or its source as code."""
        formula = Formula(tok.content, display, tok.markup, tok.info)
        source = escape(formula.source)
        index = self.formula_count
        self.formula_count += 1
        if not renderable(formula, index):
            return f'<code style="background-color:{self.theme.inline_code_bg};">{source}</code>'
        self.formulas.append(formula)
        return f'<img src="{formula.url}" alt="{source}" title="{source}" style="vertical-align:bottom"/>'

    def _code(self, tok: Token) -> str:
        t = self.theme
        language = tok.info.split()[0] if tok.info.strip() else ""
        code = tok.content
        index = self._next_index
        self._next_index += 1
        self.code_blocks.append(CodeBlock(index, language, code, suggested_filename(language, code)))
        paint = _highlight_open if tok.type == "fence" and _is_open_fence(tok) else _highlight
        body = paint(code.removesuffix("\n"), language, t.pygments_style)
        label = escape(language or "text", quote=False)
        badge = (
            f'<span style="background-color:{t.badge_bg}; color:{t.badge_text}; font-size:small;'
            f' font-weight:600;">&nbsp;{label}&nbsp;</span>'
        )
        link = f'style="color:{t.link}; text-decoration:none;"'
        preview = ""
        if previewable(language, code):
            preview = f'<a href="gd-code:preview:{index}" {link}>Preview</a>&nbsp;&nbsp;&nbsp;'
        return (
            f'<table width="100%" border="1" cellspacing="0" cellpadding="6" style="{_BLOCK}'
            f' border-collapse:collapse; border-style:solid; border-color:{t.code_border};">'
            f'<tr><td style="background-color:{t.inline_code_bg};">'
            f'<table width="100%" cellspacing="0" cellpadding="0"><tr><td>{badge}</td>'
            f'<td align="right">{preview}<a href="gd-code:copy:{index}" {link}>Copy</a>&nbsp;&nbsp;&nbsp;'
            f'<a href="gd-code:save:{index}" {link}>Save as…</a></td></tr></table></td></tr>'
            f'<tr><td style="background-color:{t.code_bg};">'
            f'<pre style="margin-top:0px; margin-bottom:0px;">{body}</pre></td></tr></table>'
        )


def _parse(text: str) -> list[Token]:
    return _MD.parse(_NEWLINES.sub("\n", text))


@dataclass(frozen=True)
class Rendered:
    """A whole message rendered: the HTML body fragment, its code blocks and the formulas it shows as pictures."""

    html: str
    code_blocks: list[CodeBlock]
    formulas: list[Formula]


def render_document(text: str, theme: Theme = LIGHT) -> Rendered:
    """Render a whole message (the formulas' pictures are the view's to draw: ``gd-math:KEY`` images)."""
    renderer = _Renderer(theme)
    html = renderer.render(_parse(text))
    return Rendered(html, renderer.code_blocks, renderer.formulas)


def render_markdown(text: str, theme: Theme = LIGHT) -> tuple[str, list[CodeBlock]]:
    """Render a whole message: an HTML body fragment and its code blocks in order."""
    rendered = render_document(text, theme)
    return rendered.html, rendered.code_blocks


def _stable_split(src: str, tokens: Sequence[Token]) -> tuple[int, int]:
    """Where the final part of ``src`` ends: (token index, character offset), or (0, 0) if none is final.

    The split is at the start line L of a top-level block when line L-1 is blank
    and line L is complete: then the blocks before are closed and no later text
    can reopen them (a list continued by "2." or a paragraph merged with "#x"
    needs the line to be still growing; a table interrupting a paragraph needs
    no blank line before it).
    """
    lines = src.split("\n")
    for i in range(len(tokens) - 1, 0, -1):
        tok = tokens[i]
        if tok.level != 0 or tok.nesting == -1 or tok.map is None:
            continue
        start = tok.map[0]
        if 0 < start < len(lines) - 1 and not lines[start - 1].strip(" \t"):
            return i, sum(len(line) + 1 for line in lines[:start])
    return 0, 0


class StreamingMarkdown:
    """Incremental renderer for a growing answer: re-renders only the tail."""

    def __init__(self, theme: Theme = LIGHT) -> None:
        self._theme = theme
        self._clear()

    def _clear(self) -> None:
        self._text = ""
        self._stable_end = 0  # offset in the raw text where the tail starts
        self._stable: list[str] = []
        self._stable_blocks: list[CodeBlock] = []
        self._tail = ""
        self._tail_blocks: list[CodeBlock] = []
        self._stable_formulas: list[Formula] = []
        self._stable_formula_count = 0
        self._tail_formulas: list[Formula] = []

    @property
    def code_blocks(self) -> list[CodeBlock]:
        """Every code block so far, stable ones first; indexes never change while the text grows."""
        return self._stable_blocks + self._tail_blocks

    @property
    def formulas(self) -> list[Formula]:
        """Every formula shown as a picture so far, stable ones first."""
        return self._stable_formulas + self._tail_formulas

    def html(self) -> str:
        """The whole rendered body: equal to ``render_markdown(text)[0]`` for the last text given."""
        return "".join(self._stable) + self._tail

    def update(self, text: str) -> RenderUpdate:
        """Render ``text`` (the whole answer so far); a text that does not extend the last one resets."""
        reset = not text.startswith(self._text)
        if reset:
            self._clear()
        self._text = text
        raw_tail = text[self._stable_end :]
        src = _NEWLINES.sub("\n", raw_tail)
        tokens = _MD.parse(src)
        split, offset = _stable_split(src, tokens)
        appended = ""
        if split:
            renderer = _Renderer(self._theme, len(self._stable_blocks), self._stable_formula_count)
            appended = renderer.render(tokens[:split])
            self._stable.append(appended)
            self._stable_blocks.extend(renderer.code_blocks)
            self._stable_formulas.extend(renderer.formulas)
            self._stable_formula_count = renderer.formula_count
            if len(src) != len(raw_tail):  # map the offset back over "\r\n" line ends
                offset = _raw_offset(raw_tail, src[:offset].count("\n"))
            self._stable_end += offset
        renderer = _Renderer(self._theme, len(self._stable_blocks), self._stable_formula_count)
        self._tail = renderer.render(tokens[split:])
        self._tail_blocks = renderer.code_blocks
        self._tail_formulas = renderer.formulas
        if reset:
            appended = "".join(self._stable)
        return RenderUpdate(stable_appended=appended, tail=self._tail, reset=reset)


def _raw_offset(raw: str, line: int) -> int:
    """Offset in ``raw`` of the start of line ``line`` (0-based), counting "\\r\\n", "\\r" and "\\n" as line ends."""
    ends = re.finditer(r"\r\n|\r|\n", raw)
    end = 0
    for _ in range(line):
        end = next(ends).end()
    return end


def message_html_document(body: str, theme: Theme, base_font_pt: float | None = None) -> str:
    """Wrap a rendered body in an HTML document with the theme's text colour (and font size)."""
    size = f" font-size:{base_font_pt:g}pt;" if base_font_pt else ""
    return f'<html><body style="color:{theme.text};{size}">{body}</body></html>'
