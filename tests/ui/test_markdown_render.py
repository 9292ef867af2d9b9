"""Markdown for chat messages: safe HTML, highlighted code with actions, and an incremental renderer."""

from __future__ import annotations

import time

from PySide6.QtGui import QTextDocument

from app.render.markdown import DARK, LIGHT, StreamingMarkdown, render_markdown, suggested_filename

ANSWER = """# Plan

Some **bold**, *italic*, `code` and a [link](https://example.com).

1. first
2. second
   - nested

> a quote

```python
def f(x: int) -> int:
    return x * 2
```

| a | b |
|---|---|
| 1 | 2 |

---

```html
<!DOCTYPE html>
<html><body><p>hi</p></body></html>
```

Final words <script>alert(1)</script> and [bad](javascript:alert(1)).
"""


def test_model_html_is_shown_as_text_never_run() -> None:
    html, _ = render_markdown("<script>alert(1)</script> <img src=x onerror=y>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html


def test_only_web_and_mail_links_are_links() -> None:
    html, _ = render_markdown(
        "[ok](https://a.example) [mail](mailto:x@y.z) [no](javascript:alert(1)) [f](file:///etc/passwd)"
    )
    assert 'href="https://a.example"' in html and 'href="mailto:x@y.z"' in html
    assert 'href="javascript' not in html and 'href="file' not in html


def test_code_blocks_are_highlighted_and_have_copy_and_save() -> None:
    html, blocks = render_markdown(ANSWER, DARK)
    assert [b.language for b in blocks] == ["python", "html"]
    assert blocks[0].code == "def f(x: int) -> int:\n    return x * 2\n"
    assert [b.suggested_filename for b in blocks] == ["snippet.py", "index.html"]
    assert 'href="gd-code:copy:0"' in html and 'href="gd-code:save:1"' in html
    assert "style=" in html  # inline colours from Pygments


def test_suggested_filenames() -> None:
    assert suggested_filename("js", "x") == "snippet.js"
    assert suggested_filename("", "plain") == "snippet.txt"


def test_qt_reads_the_html(qapp: object) -> None:
    html, _ = render_markdown(ANSWER)
    doc = QTextDocument()
    doc.setHtml(html)
    text = doc.toPlainText()
    for fragment in ("Plan", "return x * 2", "nested", "a quote", "Final words <script>alert(1)</script>"):
        assert fragment in text


def test_streaming_equals_a_full_render_at_every_step() -> None:
    stream = StreamingMarkdown(LIGHT)
    stable = ""
    for end in range(1, len(ANSWER) + 1, 7):
        update = stream.update(ANSWER[:end])
        if update.reset:
            stable = update.stable_appended
        else:
            stable += update.stable_appended
        assert stable + update.tail == render_markdown(ANSWER[:end], LIGHT)[0], end
        assert stream.html() == stable + update.tail


def test_streaming_cost_follows_the_tail_not_the_whole_answer() -> None:
    long_answer = "".join(f"Paragraph {i} with some words and `code`.\n\n" for i in range(600))
    stream = StreamingMarkdown()
    times: list[float] = []
    for end in range(40, len(long_answer), 20):
        t0 = time.perf_counter()
        stream.update(long_answer[:end])
        times.append(time.perf_counter() - t0)
    first, last = sum(times[:100]) / 100, sum(times[-100:]) / 100
    assert last < 4 * first + 0.0005  # no growth with the answer's length
