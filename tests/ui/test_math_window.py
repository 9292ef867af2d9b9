"""Math in the real window: an answer's formulas are drawn as pictures, dollar amounts stay text, copying gives TeX."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QTextFormat
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.engine import AnswerDelta, Done, GenerateRequest, GenerationStats, Stats
from app.ui.chat.formula_view import formula_at_point
from app.ui.chat.markdown_view import MarkdownView
from app.ui.chat.message_widget import MessageWidget
from tests.ui.conftest import WindowFactory

pytestmark = pytest.mark.gui

ANSWER = "The ratio is\n\n$$\\frac{a}{b}$$\n\nIt costs $5 and $10, and $x^2$ grows.\n"


def stream_answer(qtbot: QtBot, window: object, text: str) -> MessageWidget:
    """Send a message and have the engine bridge deliver ``text`` as the answer, in small pieces."""
    bridge = window.bridge  # type: ignore[attr-defined]

    def scripted(_request: GenerateRequest) -> int:
        rid = 20_000_000

        def feed() -> None:
            for i in range(0, len(text), 3):
                bridge._event.emit(AnswerDelta(rid, text[i : i + 3]))
            bridge._event.emit(Stats(rid, GenerationStats(completion_tokens=len(text) // 3, stop_reason="end")))
            bridge._event.emit(Done(rid, "end"))

        threading.Thread(target=feed, daemon=True).start()
        return rid

    bridge.generate = scripted
    window.controller.send("Show me a fraction.", [])  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=20_000)  # type: ignore[attr-defined]
    answer = window.chat.messages[-1]  # type: ignore[attr-defined]
    assert isinstance(answer, MessageWidget) and answer.role == "assistant"
    return answer


def formula_spans(view: MarkdownView) -> list[tuple[int, str]]:
    """(document position, image name) of each formula object in ``view``'s document."""
    found = []
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            fmt = fragment.charFormat()
            if fmt.isImageFormat() and fmt.toImageFormat().name().startswith("gd-math:"):
                found.append((fragment.position(), fmt.toImageFormat().name()))
            it += 1
        block = block.next()
    return found


def ink_in(view: MarkdownView, position: int) -> int:
    """How many pixels of the view around a document position are drawn in the theme's text colour."""
    cursor = view.textCursor()
    cursor.setPosition(position)
    rect = view.cursorRect(cursor)
    image = view.viewport().grab().toImage()
    text = QColor(view.formulas.theme.text)
    count = 0
    for y in range(max(0, rect.top() - 20), min(image.height(), rect.bottom() + 20)):
        for x in range(max(0, rect.left() - 2), min(image.width(), rect.left() + 40)):
            pixel = image.pixelColor(QPoint(x, y))
            if abs(pixel.red() - text.red()) + abs(pixel.green() - text.green()) + abs(pixel.blue() - text.blue()) < 90:
                count += 1
    return count


def test_an_answer_with_math_shows_formulas_and_copies_tex(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    window = open_window(tiny_model)
    answer = stream_answer(qtbot, window, ANSWER)
    view = answer.body.stable
    spans = formula_spans(view)
    assert len(spans) == 2  # $$\frac{a}{b}$$ and $x^2$; "$5 and $10" is not math
    assert "It costs $5 and $10, and" in view.document().toPlainText()
    handler = view.formulas
    # The pictures are drawn on the worker thread; then the fraction shows as ink, not as its source.
    for _position, name in spans:
        formula = handler.formulas[name.removeprefix("gd-math:")]
        drawn = lambda f=formula: (p := handler._picture(f)) is not None and p.image is not None  # noqa: E731
        qtbot.waitUntil(drawn, timeout=30_000)
    qtbot.wait(100)  # the relayout after the pictures arrived
    fraction_at = spans[0][0]
    fraction = handler._picture(handler.formulas[spans[0][1].removeprefix("gd-math:")])
    assert fraction is not None and fraction.image is not None
    assert not fraction.image.isNull() and fraction.descent > 0  # below the baseline: the denominator
    assert ink_in(view, fraction_at) > 20
    fmt = QTextFormat(view.document().findBlock(fraction_at).begin().fragment().charFormat())
    assert fmt.toImageFormat().name() == spans[0][1]
    assert fmt.property(QTextFormat.Property.TextToolTip) == "$$\\frac{a}{b}$$"  # the tooltip shows the source

    # The formula under the pointer (its context menu has "Copy formula (TeX)"); plain text is none.
    cursor = view.textCursor()
    cursor.setPosition(fraction_at)
    under = formula_at_point(view, handler, view.cursorRect(cursor).center() + QPoint(6, 0))
    assert under is not None and under.source == "$$\\frac{a}{b}$$"
    assert formula_at_point(view, handler, QPoint(4, 4)) is None

    # Copying a selection that holds formulas gives their TeX source.
    view.selectAll()
    view.copy()
    copied = QApplication.clipboard().text()
    assert "$$\\frac{a}{b}$$" in copied and "$x^2$ grows." in copied and "It costs $5 and $10" in copied
    # The message's own Copy (and the store, hence export) keep the markdown as it was written.
    assert answer.body.text == ANSWER


def test_bad_tex_shows_its_source_in_the_window(qtbot: QtBot, open_window: WindowFactory, tiny_model: Path) -> None:
    window = open_window(tiny_model)
    answer = stream_answer(qtbot, window, "Broken: $\\frac{a$ and fine.\n")
    view = answer.body.stable
    spans = formula_spans(view)
    assert len(spans) == 1
    handler = view.formulas
    formula = handler.formulas[spans[0][1].removeprefix("gd-math:")]
    qtbot.waitUntil(lambda: handler._picture(formula) is not None, timeout=30_000)
    picture = handler._picture(formula)
    assert picture is not None and picture.image is None  # could not be drawn: the source stays
    view.selectAll()
    view.copy()
    assert QApplication.clipboard().text() == "Broken: $\\frac{a$ and fine."
