"""What a voice reads of a streaming answer: whole sentences as soon as they end, never markdown or code."""

from __future__ import annotations

import pytest

from app.render.speech import SpokenSentences, plain

ANSWER = """Sure! Here is **the plan**, e.g. for Dr. Smith. It has *three* steps.

## Steps
1. Open [the docs](https://example.com/docs).
2. Run `make` in the folder.

```python
def f():
    return 1
```

| Name | Age |
|---|---|
| Ann | 31 |

---
> A quote here. Visit https://x.org now!
Done"""

SPOKEN = [
    "Sure!",
    "Here is the plan, e.g. for Dr. Smith.",
    "It has three steps.",
    "Steps.",
    "Open the docs.",
    "Run make in the folder.",
    "Python code block, 2 lines.",
    "Name, Age.",
    "Ann, 31.",
    "A quote here.",
    "Visit a link now!",
    "Done",
]


def speak(text: str, step: int) -> list[str]:
    spoken = SpokenSentences()
    out: list[str] = []
    for i in range(0, len(text), step):
        out += spoken.feed(text[i : i + step])
    return out + spoken.finish()


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 13, 64, 10_000])
def test_the_same_sentences_however_the_answer_is_cut_into_pieces(step: int) -> None:
    assert speak(ANSWER, step) == SPOKEN


def test_a_sentence_is_spoken_as_soon_as_it_ends_and_not_before() -> None:
    spoken = SpokenSentences()
    assert spoken.feed("Sure") == []
    assert spoken.feed("!") == []  # "Sure!!" or "Sure!)" may follow: the end is not seen yet
    assert spoken.feed(" Here is") == ["Sure!"]  # while the answer still streams
    assert spoken.feed(" the plan") == []
    assert spoken.finish() == ["Here is the plan"]


def test_code_is_announced_never_read() -> None:
    code = "Look:\n\n```\nx = 1\ny = 2\nz = 3\n```\nThat is all."
    assert speak(code, 4) == ["Look:", "Code block, 3 lines.", "That is all."]
    one = "```bash\nls\n```"
    assert speak(one, 1) == ["Bash code block, 1 line."]
    assert all("x = 1" not in s for s in speak(code, 1))


def test_an_answer_cut_inside_a_code_block_still_says_so() -> None:
    spoken = SpokenSentences()
    assert spoken.feed("Here:\n```js\nlet a = 1;\nlet b") == ["Here:"]
    assert spoken.finish() == ["Js code block, 2 lines."]


def test_abbreviations_initials_and_numbers_do_not_end_sentences() -> None:
    text = "Mr. J. R. Smith paid 3.50 dollars, i.e. not much. Then he left."
    assert speak(text, 3) == ["Mr. J. R. Smith paid 3.50 dollars, i.e. not much.", "Then he left."]


def test_markdown_syntax_is_never_read_out() -> None:
    assert plain("***Both*** and **a _b_ c** and ~~gone~~ and <b>tag</b>") == "Both and a b c and gone and tag"
    assert plain("![a red bicycle](bike.png) see [here](http://a.b)") == "a red bicycle see here"
    assert plain("snake_case_name stays, 2 * 3 stays") == "snake_case_name stays, 2 * 3 stays"
    # Half a piece of emphasis (a stream cut inside it) leaves no asterisk to read.
    assert plain("**half") == "half" and plain("*half") == "half"


def test_a_stream_cut_inside_emphasis_or_a_link_says_each_sentence_once() -> None:
    text = "*One sentence here. Two* and [three](http://x.y/z). Four."
    for step in range(1, 12):
        assert speak(text, step) == ["One sentence here.", "Two and three.", "Four."], step


def test_lists_headings_and_blank_answers() -> None:
    assert speak("# Title\n\n- first\n- second item.\n* third", 2) == ["Title.", "first.", "second item.", "third."]
    assert speak("", 1) == [] and speak("\n\n   \n", 1) == []
    assert speak("12 apples are here. 3) a list item", 1) == ["12 apples are here.", "3) a list item"]
