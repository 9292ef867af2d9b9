"""The markdown renderer: incremental output equals a full render at every prefix, safe HTML, code blocks, cost."""

from __future__ import annotations

import random
import time

import pytest

from app.render.markdown import (
    DARK,
    LIGHT,
    CodeBlock,
    StreamingMarkdown,
    Theme,
    message_html_document,
    render_markdown,
    suggested_filename,
)

TUTORIAL = """# Building a tiny web page

Here is a **short** answer with *emphasis*, ~~strike~~, `inline <code>` and a [link](https://example.com).
Unsafe: [click](javascript:alert(1)) and <script>alert("x")</script> & friends.

## Steps

1. Create the folder
2. Add the files:
   - `index.html`
   - `style.css`

     with a nested paragraph
3. Open it

- tight item
- another

> A quote with **bold**
> over two lines.

| Name | Size | Notes |
|:-----|-----:|:-----:|
| app.py | 12 KB | `main` |
| index.html | 3 KB | <b>raw</b> |

```python
def greet(name: str) -> str:
    \"\"\"Say hello.\"\"\"

    return f"Hello, {name}!"
```

```html
<!DOCTYPE html>
<html>
  <body><h1>Hi & bye</h1></body>
</html>
```

---

~~~js
const x = [1, 2, 3].map((v) => v * 2);
console.log(x);
~~~

Final words.
"""

OPEN_FENCE = """Sure! Here's a script:

````bash
#!/bin/sh
echo "```not a closer"

for f in *.txt; do
  wc -l "$f"
done
"""

LISTS_AND_QUOTES = """Three options:

1. **Fast**: use `numpy`.

2. *Simple*: a loop.
   ```py
   total = sum(xs)
   ```

3. Neither — see <https://numpy.org> or <help@example.com>.

10) another list
11) continues

> Quoted
>
> - with a list
> - inside

Setext heading
==============

Plain paragraph\\
with a hard break.

    indented code

***
Done.
"""


def _stream(text: str, step: int = 1) -> None:
    """Feed every prefix of ``text`` (every ``step`` characters) and check the invariant after each."""
    stream = StreamingMarkdown()
    shown = ""
    seen: dict[int, CodeBlock] = {}
    stable_count = 0
    for end in [*range(1, len(text), step), len(text)]:
        update = stream.update(text[:end])
        assert not update.reset
        shown += update.stable_appended
        full, blocks = render_markdown(text[:end])
        assert shown + update.tail == full, repr(text[:end])
        assert stream.html() == full
        assert stream.code_blocks == blocks
        # Blocks that became stable never change afterwards.
        for block in stream.code_blocks[:stable_count]:
            assert seen[block.index] == block
        seen = {block.index: block for block in stream.code_blocks}
        stable_count = shown.count("gd-code:copy:")


@pytest.mark.parametrize("text", [TUTORIAL, OPEN_FENCE, LISTS_AND_QUOTES], ids=["tutorial", "open-fence", "lists"])
def test_stable_plus_tail_equals_full_render_at_every_prefix(text: str) -> None:
    _stream(text)


def test_crlf_line_ends_stream_the_same_as_a_full_render() -> None:
    _stream(TUTORIAL.replace("\n", "\r\n"), step=3)
    _stream("a\r\rb\r\n\r\n- x\r\r\n```\rcode\r\n", step=1)


def test_random_markdown_soup_streams_like_a_full_render() -> None:
    """Fragments chosen to hit the tricky cases: lists continued after a blank line ("2."), "#x" and "```a`b"
    lines that only look like block starts, tables interrupting paragraphs, setext underlines, open fences."""
    atoms = ["a", "b c", "1.", "2.", "1)", "-", "*", "+", "#", "# ", ">", "```", "~~~", "```py", "    ", "  ",
             "|", "| a | b |", "|---|---|", "---", "===", "***", "`", "**", "_", "[x](http://a)", "[y]: /u", "[y]",
             "\n", "\n", "\n", "\n\n", "<div>", "&amp;", "\\", "\t", "\r\n", "2. x", "- y", "    code"]  # fmt: skip
    rng = random.Random(4)
    for _ in range(150):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(5, 40)))
        _stream(text, step=rng.randint(1, 3))


def test_a_text_that_does_not_extend_the_last_one_resets() -> None:
    stream = StreamingMarkdown()
    stream.update(TUTORIAL)
    update = stream.update(TUTORIAL[:200])
    assert update.reset
    assert update.stable_appended + update.tail == render_markdown(TUTORIAL[:200])[0]
    other = "Something else\n\nentirely\n"
    update = stream.update(other)
    assert update.reset and update.stable_appended + update.tail == render_markdown(other)[0]
    assert not stream.update(other + "more").reset


def test_stable_blocks_are_emitted_once_and_the_tail_stays_small() -> None:
    stream = StreamingMarkdown()
    update = stream.update("# Title\n\nFirst paragraph.\n\nSecond")
    assert "Title" in update.stable_appended and "Title" not in update.tail
    assert "First" in update.tail  # "Second" is still a partial line: it might yet continue "First"
    update = stream.update("# Title\n\nFirst paragraph.\n\nSecond paragraph\n")
    assert "First" in update.stable_appended and "Second" not in update.stable_appended
    assert update.tail.startswith("<p") and "First" not in update.tail
    update = stream.update("# Title\n\nFirst paragraph.\n\nSecond paragraph\ngoes on")
    assert update.stable_appended == "" and "goes on" in update.tail


def test_a_list_is_not_final_while_it_may_continue() -> None:
    stream = StreamingMarkdown()
    stream.update("1. one\n\n2")  # could still become "2. two"
    assert "one" in stream.update("1. one\n\n2").tail
    update = stream.update("1. one\n\n2. two\n")
    assert "one" in update.tail and update.stable_appended == ""
    assert update.tail.count("<ol") == 1


def test_model_html_is_escaped_everywhere() -> None:
    text = "<script>alert(1)</script>\n\n`<b>`\n\n| <i>x</i> |\n|---|\n| <img src=x> |\n\n```html\n<script>\n```\n"
    html, _ = render_markdown(text)
    assert "<script" not in html and "<img" not in html and "<i>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;<span" in html


def test_only_web_and_mail_links_become_anchors() -> None:
    html, _ = render_markdown(
        "[a](https://a.example/?q=1&r=2) [b](HTTP://b.example) [m](mailto:me@x.org) <https://auto.example> "
        '<me@x.org> [q](https://x.example/"onmouseover="x) ![pic](https://img.example/p.png)'
    )
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert hrefs == [
        "https://a.example/?q=1&amp;r=2",
        "HTTP://b.example",
        "mailto:me@x.org",
        "https://auto.example",
        "mailto:me@x.org",
        "https://x.example/%22onmouseover=%22x",
        "https://img.example/p.png",
    ]
    assert "<img" not in html and ">[pic]</a>" in html  # images are never loaded, only linked


@pytest.mark.parametrize(
    "link",
    ["[x](javascript:alert(1))", "[x](file:///etc/passwd)", "[x](data:text/html,hi)", "[x](relative/page)",
     "[x](ftp://host/f)", "[x](#top)", "<ftp://host/f>", "![x](file:///etc/passwd)"],
)  # fmt: skip
def test_other_link_targets_are_plain_text(link: str) -> None:
    html, _ = render_markdown(link)
    assert "<a" not in html and "<img" not in html
    assert "x" in html or "ftp://host/f" in html


def test_code_blocks_have_language_header_actions_and_highlighting() -> None:
    html, blocks = render_markdown(TUTORIAL, DARK)
    assert blocks == [
        CodeBlock(0, "python", 'def greet(name: str) -> str:\n    """Say hello."""\n\n    return f"Hello, {name}!"\n',
                  "snippet.py"),
        CodeBlock(1, "html", "<!DOCTYPE html>\n<html>\n  <body><h1>Hi & bye</h1></body>\n</html>\n", "index.html"),
        CodeBlock(2, "js", "const x = [1, 2, 3].map((v) => v * 2);\nconsole.log(x);\n", "snippet.js"),
    ]  # fmt: skip
    for n in range(3):
        assert f'href="gd-code:copy:{n}"' in html and f'href="gd-code:save:{n}"' in html
    assert '<span style="' in html  # Pygments, inline styles
    assert DARK.code_bg in html and LIGHT.code_bg not in html


def test_an_open_fence_is_highlighted_while_it_streams() -> None:
    stream = StreamingMarkdown()
    update = stream.update("Code:\n\n```python\ndef f(x):\n    return x")
    assert '<span style="' in update.tail and ">def</span>" in update.tail
    assert stream.code_blocks == [CodeBlock(0, "python", "def f(x):\n    return x", "snippet.py")]


def test_a_long_open_fence_is_highlighted_in_pieces_and_whole_once_closed() -> None:
    lines = [f"def f{i}(x):\n    return x + {i}\n\n" for i in range(40)]
    code = "".join(lines)
    open_html, _ = render_markdown("```python\n" + code)
    closed_html, _ = render_markdown("```python\n" + code + "```\n")
    assert open_html.count(">def</span>") == closed_html.count(">def</span>") == 40
    assert "return x + 39" in open_html.replace('<span style="color: #666">', "").replace("</span>", "")


@pytest.mark.parametrize(
    ("language", "code", "name"),
    [
        ("python", "x = 1", "snippet.py"),
        ("py", "x = 1", "snippet.py"),
        ("html", "<p>hi</p>", "snippet.html"),
        ("html", "  <!doctype html>\n<html>", "index.html"),
        ("HTML", "<html lang=en>", "index.html"),
        ("css", "a{}", "snippet.css"),
        ("javascript", "", "snippet.js"),
        ("js", "", "snippet.js"),
        ("typescript", "", "snippet.ts"),
        ("ts", "", "snippet.ts"),
        ("json", "{}", "snippet.json"),
        ("bash", "", "snippet.sh"),
        ("sh", "", "snippet.sh"),
        ("shell", "", "snippet.sh"),
        ("c", "", "snippet.c"),
        ("cpp", "", "snippet.cpp"),
        ("c++", "", "snippet.cpp"),
        ("rust", "", "snippet.rs"),
        ("go", "", "snippet.go"),
        ("java", "", "snippet.java"),
        ("sql", "", "snippet.sql"),
        ("yaml", "", "snippet.yaml"),
        ("yml", "", "snippet.yaml"),
        ("markdown", "", "snippet.md"),
        ("md", "", "snippet.md"),
        ("svg", "<svg/>", "snippet.svg"),
        ("xml", "<a/>", "snippet.xml"),
        ("dockerfile", "FROM x", "Dockerfile"),
        ("", "whatever", "snippet.txt"),
        ("klingon", "", "snippet.txt"),
    ],
)
def test_suggested_filenames(language: str, code: str, name: str) -> None:
    assert suggested_filename(language, code) == name


def test_unknown_or_missing_language_is_plain_escaped_text() -> None:
    html, blocks = render_markdown("```klingon\na < b\n```\n\n```\n<x>\n```\n")
    assert "a &lt; b" in html and "&lt;x&gt;" in html
    assert [b.language for b in blocks] == ["klingon", ""]
    assert ">&nbsp;text&nbsp;<" in html  # the header's badge names a block without a language "text"


def test_tables_quotes_and_rules_use_the_theme() -> None:
    html, _ = render_markdown("| A | B |\n|:-|-:|\n| 1 | 2 |\n\n> quoted\n\n---\n", DARK)
    assert "<table" in html and f"border-color:{DARK.table_border}" in html
    assert '<th align="left" style="font-weight:bold;">A</th>' in html
    assert '<td align="right">2</td>' in html
    assert f"background-color:{DARK.quote_border}" in html and f"color:{DARK.muted}" in html
    assert "<hr" in html


def test_message_html_document_wraps_the_body() -> None:
    doc = message_html_document("<p>x</p>", DARK, 11.5)
    assert doc.startswith("<html><body") and doc.endswith("</body></html>")
    assert f"color:{DARK.text}" in doc and "font-size:11.5pt" in doc and "<p>x</p>" in doc
    assert "font-size" not in message_html_document("", LIGHT)


def test_themes() -> None:
    assert (LIGHT.name, DARK.name) == ("light", "dark")
    for theme in (LIGHT, DARK):
        assert isinstance(theme, Theme)
        for field in ("text", "muted", "link", "code_bg", "code_border", "inline_code_bg", "table_border"):
            value = getattr(theme, field)
            assert value.startswith("#") and len(value) == 7


def _long_answer() -> str:
    """A realistic ~16 KB (about 4,000 tokens) answer: sections of prose, lists, a table and code."""
    section = TUTORIAL.replace("Final words.", "") + LISTS_AND_QUOTES
    text = ""
    i = 0
    while len(text) < 16_000:
        text += section.replace("Building", f"Part {i}:")
        i += 1
    return text[:16_000]


def test_streaming_a_long_answer_costs_the_tail_not_the_whole() -> None:
    """Counted in this thread's CPU time, so other work on a busy machine does not count against it."""
    text = _long_answer()
    render_markdown(text)  # load the lexers once
    stream = StreamingMarkdown()
    steps = 2000
    times: list[float] = []
    start = time.thread_time()
    for k in range(1, steps + 1):
        t0 = time.thread_time()
        stream.update(text[: len(text) * k // steps])
        times.append(time.thread_time() - t0)
    total = time.thread_time() - start
    assert stream.html() == render_markdown(text)[0]
    first, last = sum(times[:200]) / 200, sum(times[-200:]) / 200
    assert total < 1.0, f"{total:.3f} s for {steps} updates"
    assert last <= 3 * first + 0.0002, f"first 200: {first * 1e3:.3f} ms, last 200: {last * 1e3:.3f} ms"


def test_qt_parses_the_html(qapp: object) -> None:
    from PySide6.QtGui import QTextDocument

    html, _ = render_markdown(TUTORIAL, DARK)
    doc = QTextDocument()
    doc.setHtml(message_html_document(html, DARK, 10))
    text = doc.toPlainText()
    for fragment in (
        "def greet(name: str) -> str:",
        '    return f"Hello, {name}!"',
        "<!DOCTYPE html>",
        "index.html",
        "12 KB",
        "A quote with bold",
        "nested paragraph",
        '<script>alert("x")</script>',
        "Copy",
        "Save as…",
    ):
        assert fragment in text
    anchors = set()
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            if fmt.isAnchor():
                anchors.add(fmt.anchorHref())
            it += 1
        block = block.next()
    assert {"gd-code:copy:0", "gd-code:save:2", "https://example.com"} <= anchors
    assert not any(href.startswith("javascript") for href in anchors)
