"""The tool calls of an answer, shown between the rounds of its text: one collapsible block per call.

Each step the model took before calling shows what it thought (a collapsed thinking block) and wrote, then one
``ToolBlock`` per call. A block's header says the tool, where it runs, what became of the call (the words of
``STATUS_WORDS``, coloured by kind) and how long it took; expanded, it shows the arguments as indented JSON, the
result text (monospace, the first ``DISPLAY_CHARS`` characters with "Show all" for a long one, so a megabyte
result never stalls the window) and the pictures the tool returned. A consent card (``consent_card``) sits
inside the block of the call it asks about.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QIcon, QImage, QPixmap, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.chat.tool_steps import STATUS_WORDS, CallRecord, ToolStep
from app.tools.consent import pretty_json
from app.tools.tool_settings import BUILTIN
from app.ui.accessible import DisclosureButton
from app.ui.chat.thinking_block import ThinkingBlock

#: The most result characters drawn until the user asks for all of it.
DISPLAY_CHARS = 20_000
#: A line longer than this is not wrapped (it scrolls sideways): wrapping a very long line takes seconds.
WRAP_CHARS = 5_000
#: Arguments and results grow up to this height (px), then scroll.
MAX_TEXT_HEIGHT = 240
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

#: The colour of each kind of ending (light, dark): 4.5:1 on the window (tests/ui/test_contrast.py).
_OK, _BAD, _WARN, _MUTED, _LIVE = "ok", "bad", "warn", "muted", "live"
_KIND = {
    "done": _OK,
    "error": _BAD,
    "malformed": _BAD,
    "refused": _BAD,
    "denied": _WARN,
    "limit": _WARN,
    "stopped": _MUTED,
    "pending": _LIVE,
    "running": _LIVE,
}
_COLOURS = {
    _OK: ("#1e7d32", "#81c995"),
    _BAD: ("#c62828", "#f28b82"),
    _WARN: ("#8a5300", "#fdd663"),
    _MUTED: ("#5f6368", "#9aa0a6"),
    _LIVE: ("#185abc", "#8ab4f8"),
}


def source_label(source: str) -> str:
    if not source:
        return "no such tool"
    return "Built-in" if source == BUILTIN else f"MCP server ‘{source}’"


def seconds_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds) // 60} min {int(seconds) % 60:02d} s"


def monospace_view(name: str, parent: QWidget) -> QPlainTextEdit:
    """Read-only, selectable, monospace text that grows to ``MAX_TEXT_HEIGHT`` and then scrolls."""
    view = QPlainTextEdit(parent)
    view.setReadOnly(True)
    view.setAccessibleName(name)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    view.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    view.document().contentsChanged.connect(lambda: fit_height(view))
    return view


def set_long_text(view: QPlainTextEdit, text: str) -> None:
    """Show ``text``; a line too long to wrap quickly (wrapping costs more than linear) scrolls sideways instead."""
    longest = max((len(line) for line in text.split("\n")), default=0)
    wrap = QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere if longest <= WRAP_CHARS else QTextOption.WrapMode.NoWrap
    view.setWordWrapMode(wrap)
    view.setPlainText(text)


def fit_height(view: QPlainTextEdit) -> None:
    """As tall as the text (a plain text layout measures its height in lines), up to ``MAX_TEXT_HEIGHT``."""
    lines = max(1, int(view.document().documentLayout().documentSize().height()))
    line = view.fontMetrics().lineSpacing()
    view.setFixedHeight(max(line + 12, min(MAX_TEXT_HEIGHT, lines * line + 12)))


def _empty(layout: QHBoxLayout | QVBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.deleteLater()


class ToolBlock(QFrame):
    """One call: header (tool, source, status, time) that folds the arguments, result and pictures."""

    # Signals
    toggled = Signal(bool)
    pictureClicked = Signal(object)  # Path of the picture

    def __init__(self, record: CallRecord, dark: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ToolBlock")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.dark = dark
        self.record = record
        self._frame = 0
        self._full_result = ""

        self.header = DisclosureButton(self, name="ToolHeader", tip="Show or hide this tool call (Space or Enter)")
        self.header.setArrowType(Qt.ArrowType.RightArrow)
        self.header.toggled.connect(self._on_toggled)
        self.status = QLabel(self)
        self.status.setObjectName("ToolStatus")
        self.icon = QLabel("⚙", self)  # a glyph, not an icon theme: it draws the same everywhere
        self.icon.setObjectName("ToolIcon")
        self.icon.setAccessibleName("Tool call")
        top = QHBoxLayout()
        top.setContentsMargins(4, 0, 0, 0)
        top.setSpacing(2)
        top.addWidget(self.icon)
        top.addWidget(self.header)
        top.addWidget(self.status)
        top.addStretch(1)

        self._build_body()
        self.consent_slot = QVBoxLayout()
        self.consent_slot.setContentsMargins(0, 0, 0, 0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addLayout(self.consent_slot)
        layout.addWidget(self.body)

        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._tick)
        self.update_record(record)

    def _build_body(self) -> None:
        """The folded part: arguments, result (with its note and Show all), pictures."""
        self.body = QWidget(self)
        body = QVBoxLayout(self.body)
        body.setContentsMargins(4, 0, 4, 4)
        body.setSpacing(3)
        self.arguments = monospace_view("Arguments of the tool call", self.body)
        self.result = monospace_view("Result of the tool call", self.body)
        self.result_label = QLabel("Result", self.body)
        self.note = QLabel(self.body)
        self.note.setEnabled(False)
        self.show_all = QToolButton(self.body)
        self.show_all.setText("Show all")
        self.show_all.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.show_all.clicked.connect(self._show_whole_result)
        notes = QHBoxLayout()
        notes.setContentsMargins(0, 0, 0, 0)
        notes.addWidget(self.note)
        notes.addWidget(self.show_all)
        notes.addStretch(1)
        self.pictures = QHBoxLayout()
        self.pictures.setContentsMargins(0, 0, 0, 0)
        body.addWidget(QLabel("Arguments", self.body))
        body.addWidget(self.arguments)
        body.addWidget(self.result_label)
        body.addWidget(self.result)
        body.addLayout(notes)
        body.addLayout(self.pictures)
        self.body.hide()

    # -- API ------------------------------------------------------------------------------------------

    def update_record(self, record: CallRecord) -> None:
        """Show the call as it is now (running: a spinner; finished: folded, unless the user opened it)."""
        self.record = record
        shown = pretty_json(record.arguments) if record.arguments or not record.raw else record.raw
        if self.arguments.toPlainText() != shown:
            set_long_text(self.arguments, shown)
        self._set_result(record.result)
        live = not record.finished
        (self._timer.start if live else self._timer.stop)()
        self._update_header()

    def set_pictures(self, pictures: Sequence[tuple[str, Path, QImage | None]]) -> None:
        """The tool's pictures as thumbnails (name, stored file, thumbnail or None while it loads)."""
        _empty(self.pictures)
        for name, path, image in pictures:
            button = QToolButton(self.body)
            button.setAutoRaise(True)
            button.setAccessibleName(f"Picture from the tool: {name}")
            button.setToolTip(f"{name} — click to open")
            if image is not None and not image.isNull():
                button.setIcon(QIcon(QPixmap.fromImage(image)))
                button.setIconSize(QSize(96, 96))
            else:
                button.setText(name)
            button.clicked.connect(lambda _=False, p=path: self.pictureClicked.emit(p))
            self.pictures.addWidget(button)
        self.pictures.addStretch(1)

    @property
    def expanded(self) -> bool:
        return self.header.isChecked()

    def set_expanded(self, on: bool) -> None:
        self.header.setChecked(on)

    def header_text(self) -> str:
        return self.header.text() + "  " + self.status.text()

    # -- internals ------------------------------------------------------------------------------------

    def _set_result(self, text: str) -> None:
        self._full_result = text
        shown = text if len(text) <= DISPLAY_CHARS else text[:DISPLAY_CHARS]
        if self.result.toPlainText() != shown:
            set_long_text(self.result, shown)
        long = len(text) > DISPLAY_CHARS
        self.note.setText(f"Showing the first {DISPLAY_CHARS:,} of {len(text):,} characters." if long else "")
        self.note.setVisible(long)
        self.show_all.setVisible(long)
        self.result.setVisible(bool(text))
        self.result_label.setVisible(bool(text))

    def _show_whole_result(self) -> None:
        set_long_text(self.result, self._full_result)
        self.note.hide()
        self.show_all.hide()

    def _tick(self) -> None:
        self._frame = (self._frame + 1) % len(_SPINNER)
        self._update_header()

    def _update_header(self) -> None:
        r = self.record
        name = r.tool or r.name or "(no name)"
        self.header.setText(f"{name}  ·  {source_label(r.source)}")
        word = STATUS_WORDS.get(r.status, r.status)
        if not r.finished:
            word = f"{_SPINNER[self._frame]}  {'running…' if r.status == 'running' else 'waiting for you…'}"
        elif r.seconds > 0 or r.status in ("done", "error"):
            word += f" · {seconds_text(r.seconds)}"
        colour = _COLOURS[_KIND.get(r.status, _MUTED)][1 if self.dark else 0]
        self.status.setText(word)
        self.status.setStyleSheet(f"color: {colour}; font-weight: 600;")
        spoken = STATUS_WORDS.get(r.status, r.status)  # expanded or collapsed: the header's state says
        self.header.setAccessibleName(f"Tool call {name}, {source_label(r.source)}, {spoken}")

    def _fit(self) -> None:
        fit_height(self.arguments)
        fit_height(self.result)

    def _on_toggled(self, on: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)
        if on:
            QTimer.singleShot(0, self._fit)
        self._update_header()
        self.toggled.emit(on)


class ToolSteps(QWidget):
    """The steps of one answer: each with its thinking, its text and the blocks of its calls."""

    # Signals
    heightChanged = Signal()
    pictureClicked = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ToolSteps")
        self.dark = False
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.blocks: dict[str, ToolBlock] = {}
        self.texts: list[QLabel] = []
        self.hide()

    def clear(self) -> None:
        _empty(self._layout)
        self.blocks, self.texts = {}, []
        self.hide()

    def set_steps(self, steps: Sequence[ToolStep]) -> None:
        """Show stored steps (all folded)."""
        self.clear()
        for step in steps:
            self.add_step(step.thinking, step.text, step.calls)

    def add_step(self, thinking: str, text: str, calls: Sequence[CallRecord]) -> list[ToolBlock]:
        """A step the model took: what it thought and wrote before the calls, and a block per call."""
        if thinking.strip():
            block = ThinkingBlock(self)
            block.set_text(thinking, None)
            block.toggled.connect(lambda _on: self.heightChanged.emit())
            self._layout.addWidget(block)
        if text.strip():
            label = QLabel(text.strip(), self)
            label.setObjectName("ToolStepText")
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._layout.addWidget(label)
            self.texts.append(label)
        added = []
        for record in calls:
            tool_block = ToolBlock(record, self.dark, self)
            tool_block.toggled.connect(lambda _on: self.heightChanged.emit())
            tool_block.pictureClicked.connect(self.pictureClicked)
            self._layout.addWidget(tool_block)
            self.blocks[record.id] = tool_block
            added.append(tool_block)
        self.show()
        self.heightChanged.emit()
        return added
