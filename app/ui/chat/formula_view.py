"""Formulas in a message view: pictures drawn off the GUI thread, placed on the text's baseline, copied as TeX.

The render layer writes each formula as ``<img src="gd-math:KEY">`` and lists
them (``app.render.formulas``). ``FormulaImages`` (one per application) draws
them on one worker thread — ziamath's SVG rasterised by QtSvg at the screen's
scale, in the theme's text colour — and caches them by formula, size, colour
and scale. ``FormulaObject`` is a view's handler for those images: until a
picture is ready (or when the TeX cannot be drawn) it shows the source, in code
style; then it draws the picture with its baseline on the text's baseline (Qt
places inline images by their bottom; the handler reads the line's baseline
and draws the part below it into the line's descent, which it reserves).
``selected_text`` gives a selection's plain text with each formula as its TeX, and
``formula_at_point`` the formula under the pointer (its context menu copies its TeX).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QCoreApplication, QObject, QPoint, QPointF, QRect, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPyTextObject,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QTextEdit, QWidget
from shiboken6 import isValid

from app.render.formulas import URL_SCHEME, Formula, formula_svg
from app.render.markdown import Theme
from app.ui.tasks import run_on_gui

MAX_PIXELS = 4096  # the longest side of a formula's picture, in device pixels
STIX_X_HEIGHT = 0.47  # of an em, in ziamath's STIX Two Math: formulas get the text's x-height
_PREFIX = f"{URL_SCHEME}:"


@dataclass(frozen=True)
class FormulaImage:
    """A drawn formula (logical pixels); ``image`` is None when the TeX could not be drawn."""

    image: QImage | None
    width: float = 0.0
    ascent: float = 0.0
    descent: float = 0.0


_Key = tuple[str, bool, int, str, float]  # tex, display, pixel size, colour, device pixel ratio


def _draw(key: _Key) -> FormulaImage:
    """Runs on the formula thread: ziamath's SVG rasterised at the screen's scale."""
    tex, display, size, colour, ratio = key
    svg = formula_svg(tex, display, size, colour)
    if svg is None or svg.width <= 0 or svg.height <= 0:
        return FormulaImage(None)
    scale = min(ratio, MAX_PIXELS / svg.width, MAX_PIXELS / svg.height)
    width, height = max(1, math.ceil(svg.width * scale)), max(1, math.ceil(svg.height * scale))
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(QByteArray(svg.svg.encode())).render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()
    image.setDevicePixelRatio(scale)
    return FormulaImage(image, svg.width, svg.ascent, svg.descent)


class FormulaImages(QObject):
    """Pictures of formulas, drawn one at a time on a worker thread and kept for the session."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: dict[_Key, FormulaImage] = {}
        self._waiting: dict[_Key, weakref.WeakSet[FormulaObject]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gemma-math")
        self._closing = False
        self.destroyed.connect(lambda: self._executor.shutdown(wait=False, cancel_futures=True))

    def close(self) -> None:
        """Drop the formulas still queued (the app is quitting)."""
        self._closing = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    def get(self, key: _Key, waiter: FormulaObject) -> FormulaImage | None:
        """The picture for ``key``, or None while it is drawn (``waiter`` hears when it is ready)."""
        found = self._cache.get(key)
        if found is not None or self._closing:
            return found
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = weakref.WeakSet()
            self._executor.submit(self._job, key)
        waiting.add(waiter)
        return None

    def _job(self, key: _Key) -> None:
        if self._closing:
            return
        try:
            result = _draw(key)
        except Exception:  # never leave a formula waiting: it shows as its source
            result = FormulaImage(None)
        run_on_gui(lambda: self._done(key, result))

    def _done(self, key: _Key, result: FormulaImage) -> None:
        self._cache[key] = result
        for waiter in list(self._waiting.pop(key, ())):
            if isValid(waiter):
                waiter.picture_ready()


_shared: FormulaImages | None = None


def shared_images() -> FormulaImages:
    """The application's formula pictures (made on first use, closed when the application quits)."""
    global _shared
    app = QCoreApplication.instance()
    if _shared is None or _shared.parent() is not app:
        _shared = FormulaImages(app)
        if app is not None:
            app.aboutToQuit.connect(_shared.close)
    return _shared


class FormulaObject(QPyTextObject):
    """Draws a view's ``gd-math:`` images: the formula's picture on the baseline, or its source meanwhile."""

    def __init__(self, view: QWidget, theme: Theme, relaid: Callable[[], None]) -> None:
        super().__init__(view)
        self._view = view
        self._relaid = relaid  # after pictures arrived and the document was laid out again
        self.theme = theme
        self.formulas: dict[str, Formula] = {}
        self._relayout_pending = False

    def add(self, formulas: list[Formula]) -> None:
        for formula in formulas:
            self.formulas[formula.key] = formula

    def formula_at(self, fmt: QTextFormat) -> Formula | None:
        name = fmt.toImageFormat().name() if fmt.isImageFormat() else ""
        return self.formulas.get(name.removeprefix(_PREFIX)) if name.startswith(_PREFIX) else None

    def _picture(self, formula: Formula) -> FormulaImage | None:
        size = round(QFontMetricsF(self._view.font()).xHeight() / STIX_X_HEIGHT)
        key = (formula.tex, formula.display, size, self.theme.text, self._view.devicePixelRatioF())
        return shared_images().get(key, self)

    def picture_ready(self) -> None:
        """A picture this view waits for arrived: lay the document out again (once for a burst of them)."""
        if not self._relayout_pending:
            self._relayout_pending = True
            run_on_gui(self._relayout)

    def _relayout(self) -> None:
        self._relayout_pending = False
        if not (isValid(self) and isValid(self._view)):
            return  # the message was closed while its pictures were drawn
        view = self._view
        doc: QTextDocument = view.document()  # type: ignore[attr-defined]
        doc.markContentsDirty(0, doc.characterCount())
        self._relaid()

    def _box(
        self, doc: QTextDocument, fmt: QTextFormat
    ) -> tuple[Formula | None, FormulaImage | None, float, float, float]:
        """What to draw and its width, ascent and descent (scaled down to the text width when wider)."""
        formula = self.formula_at(fmt)
        metrics = QFontMetricsF(self._view.font())
        picture = self._picture(formula) if formula is not None else None
        if picture is not None and picture.image is not None:
            width, ascent, descent = picture.width, picture.ascent, picture.descent
        else:
            source = formula.source if formula is not None else "?"
            width = QFontMetricsF(_code_font(self._view.font())).horizontalAdvance(source) + 6
            ascent, descent = metrics.ascent(), metrics.descent()
        room = max(16.0, doc.textWidth() - 2 * doc.documentMargin() - 4)
        if width > room:
            if picture is not None and picture.image is not None:
                scale = room / width
                ascent, descent = ascent * scale, descent * scale
            width = room
        return formula, picture, width, ascent, descent

    def intrinsicSize(self, doc: QTextDocument, pos: int, fmt: QTextFormat) -> QSizeF:
        _formula, _picture, width, ascent, descent = self._box(doc, fmt)
        metrics = QFontMetricsF(self._view.font())
        # Bottom-aligned objects taller than the text grow the line equally above and below: reserve both.
        extra = max(0.0, ascent - metrics.ascent(), descent - metrics.descent())
        return QSizeF(width, metrics.ascent() + metrics.descent() + 2 * extra)

    def drawObject(
        self, painter: QPainter, area: QRectF | QRect, doc: QTextDocument, pos: int, fmt: QTextFormat
    ) -> None:
        rect = QRectF(area)
        formula, picture, width, ascent, descent = self._box(doc, fmt)
        block = doc.findBlock(pos)
        line = block.layout().lineForTextPosition(pos - block.position()) if block.isValid() else None
        descent_below = QFontMetricsF(self._view.font()).descent()
        if line is not None and line.isValid():
            descent_below = line.descent()
        baseline = rect.bottom() - descent_below
        if picture is not None and picture.image is not None:
            painter.drawImage(QRectF(rect.left(), baseline - ascent, width, ascent + descent), picture.image)
            return
        # Waiting for the picture, or TeX that cannot be drawn: the source, in code style.
        box = QRectF(rect.left(), baseline - ascent, width, ascent + descent)
        painter.save()
        painter.fillRect(box, QColor(self.theme.inline_code_bg))
        code = _code_font(self._view.font())
        painter.setFont(code)
        painter.setPen(QColor(self.theme.text))
        text = formula.source.replace("\n", " ") if formula is not None else "?"
        text = QFontMetricsF(code).elidedText(text, Qt.TextElideMode.ElideRight, width - 5)
        painter.drawText(QPointF(rect.left() + 3, baseline), text)
        painter.restore()


def _code_font(font: QFont) -> QFont:
    code = QFont(font)
    code.setFamilies(["monospace"])
    code.setStyleHint(QFont.StyleHint.Monospace)
    return code


def selected_text(doc: QTextDocument, start: int, end: int, handler: FormulaObject) -> str | None:
    """The plain text of ``doc[start:end]`` with each formula as its TeX source; None if it holds no formula."""
    parts: list[str] = []
    found = False
    block = doc.findBlock(start)
    while block.isValid() and block.position() < end:
        if parts:
            parts.append("\n")
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            lo, hi = max(start, fragment.position()), min(end, fragment.position() + fragment.length())
            if lo < hi:
                formula = handler.formula_at(fragment.charFormat())
                if formula is not None:
                    parts.append(formula.source * (hi - lo))
                    found = True
                else:
                    text = fragment.text()[lo - fragment.position() : hi - fragment.position()]
                    parts.append(text.replace("\u2028", "\n").replace("\u00a0", " "))
            it += 1
        block = block.next()
    return "".join(parts) if found else None


def formula_at_point(view: QTextEdit, handler: FormulaObject, point: QPoint) -> Formula | None:
    """The formula drawn under ``point`` (viewport coordinates) of ``view``, if any."""
    layout = view.document().documentLayout()
    offset = QPointF(view.horizontalScrollBar().value(), view.verticalScrollBar().value())
    position = layout.hitTest(QPointF(point) + offset, Qt.HitTestAccuracy.ExactHit)
    if position < 0:
        return None  # not over text
    for start in (position, position - 1):  # the left or the right half of the picture
        if start < 0:
            continue
        cursor = QTextCursor(view.document())
        cursor.setPosition(start)
        cursor.movePosition(QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor)
        formula = handler.formula_at(cursor.charFormat())
        if formula is not None:
            return formula
    return None
