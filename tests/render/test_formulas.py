"""Math in answers, in the render layer: delimiters, dollar amounts, code, streaming, bad and hostile TeX."""

from __future__ import annotations

import time

from app.render.formulas import MAX_FORMULAS, Formula, formula_svg
from app.render.markdown import StreamingMarkdown, render_document


def sources(text: str) -> list[str]:
    return [f.source for f in render_document(text).formulas]


def test_the_four_delimiters_make_formulas() -> None:
    text = "Inline $x^2$ and \\(\\alpha\\); display $$\\frac{a}{b}$$ and \\[\\sum_i i\\] in a line.\n"
    formulas = render_document(text).formulas
    assert [(f.source, f.display) for f in formulas] == [
        ("$x^2$", False),
        ("\\(\\alpha\\)", False),
        ("$$\\frac{a}{b}$$", True),
        ("\\[\\sum_i i\\]", True),
    ]
    html = render_document(text).html
    assert html.count('<img src="gd-math:') == 4 and 'title="$x^2$"' in html


def test_display_math_on_its_own_lines_is_a_centred_block() -> None:
    text = "The roots:\n$$\nx = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\n$$\nand more.\n\n\\[\n\\int_0^1 x\\,dx\n\\]\n"
    rendered = render_document(text)
    assert [f.source for f in rendered.formulas] == [
        "$$\nx = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\n$$",
        "\\[\n\\int_0^1 x\\,dx\n\\]",
    ]
    assert rendered.html.count('<p align="center"') == 2
    assert "The roots:" in rendered.html and "and more." in rendered.html


def test_dollar_amounts_stay_text() -> None:
    for prose in (
        "It costs $5 and $10.",
        "Pay $20,000 or $30,000 a year.",
        "Between $5-$10 per item, US$5 and US$10.",
        "5$ and 10$ in Europe.",
        "Price: $ 5 and $ 10",
    ):
        rendered = render_document(prose)
        assert rendered.formulas == [], prose
        assert "gd-math" not in rendered.html


def test_an_escaped_dollar_is_a_dollar() -> None:
    rendered = render_document("Costs \\$5, while $x = \\$3$ is math.")
    assert [f.tex for f in rendered.formulas] == ["x = \\$3"]
    assert "Costs $5, while" in rendered.html


def test_code_never_holds_math() -> None:
    text = "Use `$x$` and `\\(y\\)` in code.\n\n```latex\n$$\\frac{a}{b}$$\n```\n\n    $z$ indented\n"
    rendered = render_document(text)
    assert rendered.formulas == []
    assert "$x$" in rendered.html and rendered.code_blocks[0].code == "$$\\frac{a}{b}$$\n"
    # A dollar before a code span does not swallow it.
    assert sources("It costs $10, and `$x$` is code.") == []


def test_an_unclosed_formula_is_shown_as_source_until_it_closes() -> None:
    for partial in ("So $x^2 + ", "So \\(x^2", "So $$\\frac{a}", "$$\n\\frac{a}{b}\n", "\\[\nx"):
        rendered = render_document(partial)
        assert rendered.formulas == [], partial
        first_line = partial.split("\n")[0].strip()
        assert first_line.replace("\\\\", "\\") in rendered.html.replace("\\\\", "\\"), partial


MATH_ANSWER = """The quadratic $ax^2+bx+c=0$ has roots

$$
x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}
$$

It costs $5 and $10 to print. With \\(\\alpha\\) and \\[\\beta\\] inline.

- a list item with $x_i$
- and a block:

  $$\\sum_{i=1}^n i$$

> quoted $\\gamma$

```python
price = "$5"  # $not math$
```

\\[
\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}
\\]
Done $y$.
"""


def test_streaming_math_equals_a_full_render_at_every_step() -> None:
    stream = StreamingMarkdown()
    shown = ""
    for end in range(1, len(MATH_ANSWER) + 1):
        update = stream.update(MATH_ANSWER[:end])
        assert not update.reset
        shown += update.stable_appended
        full = render_document(MATH_ANSWER[:end])
        assert shown + update.tail == full.html, repr(MATH_ANSWER[:end])
        assert stream.formulas == full.formulas
    assert len(stream.formulas) == 9


def test_hostile_formulas_are_bounded() -> None:
    huge = "$" + "a+" * 5000 + "a$"
    deep = "$" + "{" * 40 + "x" + "}" * 40 + "$"
    rendered = render_document(f"{huge}\n\n{deep}\n")
    assert rendered.formulas == []  # shown as code, never drawn
    assert rendered.html.count("<code") == 2
    many = " ".join(f"$x_{{{i}}}$" for i in range(MAX_FORMULAS + 5))
    assert len(render_document(many).formulas) == MAX_FORMULAS
    start = time.monotonic()
    assert formula_svg("\\frac{" * 8 + "x" + "}{y}" * 8, True, 16, "#000000") is None  # too costly to lay out
    assert formula_svg("{" * 40 + "x" + "}" * 40, True, 16, "#000000") is None
    assert formula_svg("a" * 10_000, True, 16, "#000000") is None
    assert time.monotonic() - start < 5


def test_bad_tex_gives_no_picture_and_no_exception() -> None:
    for bad in ("\\frac{", "\\begin{pmatrix} a", "\\left( x", "}{"):
        assert formula_svg(bad, False, 16, "#1f2328") is None, bad
    assert formula_svg("x", False, 16, "red; evil") is None  # the colour goes into SVG: only #rrggbb


def test_good_tex_is_drawn_with_its_baseline() -> None:
    svg = formula_svg("\\frac{a}{b}", False, 16, "#1f2328")
    assert svg is not None
    assert svg.svg.startswith("<svg") and "#1f2328" in svg.svg
    assert svg.width > 5 and svg.ascent > 0 and svg.descent > 0  # a fraction reaches below the baseline
    assert Formula("x", False, "$", "$").key != Formula("x", True, "$$", "$$").key
