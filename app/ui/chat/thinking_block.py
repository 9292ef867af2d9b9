"""The collapsible block that shows the model's thinking above its answer.

While the model thinks, the header shows a spinner and the elapsed time and
the body streams the thought text. When the answer starts, the block finishes:
it collapses to one line ("Thought for 12 s") that expands on click, Space or
Enter.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QResizeEvent, QTextCursor, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.ui.accessible import DisclosureButton

#: The thought text grows up to this height (px), then scrolls.
MAX_BODY_HEIGHT = 260
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def _format_seconds(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


class ThinkingBlock(QFrame):
    """Header button + thought text; ``append`` while live, ``finish`` when the answer starts."""

    # Signals
    toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ThinkingBlock")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._live = False
        self._started = 0.0
        self._seconds: float | None = None
        self._frame = 0

        tip = "Show or hide the model's thinking (Space or Enter)"
        self.header = DisclosureButton(self, name="ThinkingHeader", tip=tip)
        self.header.setChecked(True)
        self.header.setArrowType(Qt.ArrowType.DownArrow)
        self.header.toggled.connect(self._on_header_toggled)

        self.body = QTextEdit(self)
        self.body.setAcceptRichText(False)
        self.body.setObjectName("ThinkingText")
        self.body.setReadOnly(True)
        self.body.setFrameShape(QFrame.Shape.NoFrame)
        self.body.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.body.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.body.setAccessibleName("Model's thinking")
        self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        italic = QFont(self.body.font())
        italic.setItalic(True)
        italic.setPointSizeF(italic.pointSizeF() * 0.92)  # quieter than the answer
        self.body.setFont(italic)
        self.body.document().contentsChanged.connect(self._fit_height)
        self.body.installEventFilter(self)  # re-fit when the layout gives the text its width

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.setSpacing(2)
        self.icon = QLabel("✧", self)  # a glyph, not an icon theme: it draws the same everywhere
        self.icon.setObjectName("ThinkingIcon")
        self.icon.setAccessibleName("Thinking")
        top = QHBoxLayout()
        top.setContentsMargins(4, 0, 0, 0)
        top.setSpacing(0)
        top.addWidget(self.icon)
        top.addWidget(self.header)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(self.body)

        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._tick)
        self._update_header()

    # -- API ------------------------------------------------------------------------

    def start(self) -> None:
        """The model began thinking: live mode, expanded, clock running."""
        self._live = True
        self._started = time.monotonic()
        self._seconds = None
        self.header.setChecked(True)
        self._timer.start()
        self._update_header()

    def append(self, text: str) -> None:
        if not self._live and self._seconds is None:
            self.start()
        cursor = self.body.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        if self.header.isChecked():
            bar = self.body.verticalScrollBar()
            bar.setValue(bar.maximum())

    def finish(self, seconds: float | None = None, *, collapse: bool = True) -> None:
        """The answer started (or the turn ended): stop the clock and fold the block away."""
        if self._live:
            self._seconds = time.monotonic() - self._started if seconds is None else seconds
        elif seconds is not None:
            self._seconds = seconds
        self._live = False
        self._timer.stop()
        if collapse:
            self.header.setChecked(False)
        self._update_header()

    def set_text(self, text: str, seconds: float | None) -> None:
        """Show a stored thought (not live), collapsed."""
        self.body.setPlainText(text)
        self._fit_height()
        self._seconds = seconds
        self._live = False
        self.header.setChecked(False)
        self._update_header()

    @property
    def is_live(self) -> bool:
        return self._live

    @property
    def is_expanded(self) -> bool:
        return self.header.isChecked()

    @property
    def seconds(self) -> float | None:
        if self._live:
            return time.monotonic() - self._started
        return self._seconds

    def text(self) -> str:
        return self.body.toPlainText()

    def set_expanded(self, expanded: bool) -> None:
        self.header.setChecked(expanded)

    # -- internals ------------------------------------------------------------------

    def _tick(self) -> None:
        self._frame = (self._frame + 1) % len(_SPINNER)
        self._update_header()

    def _update_header(self) -> None:
        if self._live:
            label = f"{_SPINNER[self._frame]}  Thinking… {_format_seconds(time.monotonic() - self._started)}"
        elif self._seconds is not None:
            label = f"Thought for {_format_seconds(self._seconds)}"
        else:
            label = "Thoughts"
        self.header.setText(label)
        # Expanded or collapsed: the button's state says. While live, no clock: a name that changed every second
        # would be read out every second.
        self.header.setAccessibleName("Thinking…" if self._live else label)

    def _on_header_toggled(self, expanded: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)
        if expanded:
            self._fit_height()
        self._update_header()
        self.toggled.emit(expanded)

    def _fit_height(self) -> None:
        """Grow with the text up to the maximum height, then scroll."""
        doc = self.body.document()
        width = self.body.viewport().width()
        if width <= 16:
            return  # not laid out yet; the resize filter calls again
        doc.setTextWidth(width)
        height = int(doc.size().height()) + 2 * self.body.frameWidth() + 4
        self.body.setFixedHeight(max(self.body.fontMetrics().lineSpacing() + 8, min(MAX_BODY_HEIGHT, height)))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.body and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            QTimer.singleShot(0, self._fit_height)
        return False


if __name__ == "__main__":  # pragma: no cover - a preview
    import sys

    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv)
    block = ThinkingBlock()
    block.resize(500, 200)
    block.show()
    words = iter(("The user asks about the sky. " * 20).split())

    def feed() -> None:
        word = next(words, None)
        if word is None:
            block.finish()
            timer.stop()
        else:
            block.append(word + " ")

    timer = QTimer()
    timer.timeout.connect(feed)
    timer.start(80)
    sys.exit(app.exec())
