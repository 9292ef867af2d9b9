"""A web page's readable text: what a reader sees, without scripts, styles or markup.

``html_to_text(html)`` keeps the page's title as its first line, turns block elements (paragraphs,
headings, list items, table rows) into line breaks, collapses HTML's runs of spaces except inside
``<pre>``, and drops what is never shown (``<script>``, ``<style>``, ``<head>`` apart from the title,
``<template>``, ``<noscript>``). Entities are decoded by the standard library's parser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HIDDEN = frozenset({"script", "style", "head", "template", "noscript", "svg", "math", "iframe", "object"})
_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "body", "dd", "details", "div", "dl", "dt", "fieldset",
     "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li",
     "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "thead", "tfoot", "ul",
     "caption"}
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\n\f]+")  # HTML's white space, shown as one space outside <pre>
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "wbr"})


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.title: list[str] = []
        self._hidden: list[str] = []  # open hidden elements
        self._pre = 0
        self._in_title = False
        self._row_cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _HIDDEN and tag not in _VOID:
            self._hidden.append(tag)
        elif self._hidden:
            return
        elif tag == "br":
            self.pieces.append("\n")
        elif tag == "pre":
            self._pre += 1
            self.pieces.append("\n")
        elif tag == "li":
            self.pieces.append("\n• ")
        elif tag == "tr":
            self._row_cells = 0
            self.pieces.append("\n")
        elif tag in _CELLS:
            if self._row_cells:
                self.pieces.append("\t")
            self._row_cells += 1
        elif tag in _BLOCKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _HIDDEN:
            if tag in self._hidden:  # close it (and anything left open inside it)
                del self._hidden[len(self._hidden) - 1 - self._hidden[::-1].index(tag) :]
        elif self._hidden:
            return
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
            self.pieces.append("\n")
        elif tag in _BLOCKS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif self._hidden:
            return
        elif self._pre:
            self.pieces.append(data)
        else:
            collapsed = _SPACES.sub(" ", data)
            if not self.pieces or self.pieces[-1].endswith(("\n", "\t", " ")):
                collapsed = collapsed.lstrip(" ")
            self.pieces.append(collapsed)


def html_to_text(html: str) -> str:
    """The readable text of a web page (see the module's docstring)."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    title = " ".join("".join(reader.title).split())
    body = "".join(reader.pieces)
    lines = [line.rstrip() for line in body.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}" if text else title
    return text
