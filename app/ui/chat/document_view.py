"""A sent document in the conversation: a compact card (icon, name, kind, pages, size) with an expander that
shows the text the model read.

The card's details and text come from the stored file, read in the background by a loader the controller
passes in (the chat core reads it as it was sent, with the same pages). ``preview_of`` caps what is shown
(the first lines, "… N more lines"), so even a megabyte of text costs the GUI thread only a short insert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QTextOption
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from app.media.documents import Document
from app.ui.accessible import DisclosureButton
from app.ui.composer.document_chip import DocumentIcon
from app.ui.shell.theme import muted
from app.ui.tasks import run_in_background
from app.units import format_size

log = logging.getLogger(__name__)

#: What the expander shows at most: lines, and characters (a file of a few very long lines).
MAX_LINES = 400
MAX_CHARS = 64_000
#: Fence languages read as prose (shown in the normal font); anything else is code or data (monospace).
#: The expander's text box grows with the text up to this height (then it scrolls).
VIEW_MAX_HEIGHT = 360
PROSE = frozenset({"", "text", "markdown", "md", "rst", "org", "html", "xhtml", "tex", "latex", "adoc"})


@dataclass(frozen=True)
class DocumentPreview:
    """What a card shows: the document's kind and parts, and its text cut to what the expander holds."""

    kind: str  # "Python", "PDF"
    sections: int  # sections sent
    section_count: int  # sections in the file
    unit: str  # "page", "slide", "sheet", "part"
    text: str  # the first MAX_LINES lines (at most MAX_CHARS characters)
    more_lines: int  # lines left out
    monospace: bool
    pictures: int = 0  # pages sent as pictures

    def parts_text(self) -> str:
        """ "pages 2-3 of 10", "3 pages", "" for a one-part text file."""
        if self.section_count <= 1:
            return ""
        if self.sections < self.section_count:
            return f"{self.sections:,} of {self.section_count:,} {self.unit}s"
        return f"{self.section_count:,} {self.unit}s"


def preview_of(document: Document) -> DocumentPreview:
    """The card's preview of a read document (any thread; bounded work on the GUI thread afterwards)."""
    text = document.text
    head_end, lines = 0, 0
    while lines < MAX_LINES and head_end < len(text) and head_end < MAX_CHARS:
        newline = text.find("\n", head_end)
        head_end = len(text) if newline < 0 else newline + 1
        lines += 1
    head_end = min(head_end, MAX_CHARS)
    head = text[:head_end].rstrip("\n")
    rest = text[head_end:]
    more = rest.count("\n") + (1 if rest and not rest.endswith("\n") else 0)
    return DocumentPreview(
        kind=document.kind,
        sections=len(document.sections),
        section_count=document.section_count,
        unit=document.unit,
        text=head,
        more_lines=more,
        monospace=document.language.lower() not in PROSE,
        pictures=len(document.pictures),
    )


class DocumentCard(QFrame):
    """One sent document: icon, name, "Python · 4.1 KB", and "Show text" expanding its text below."""

    # Signals
    toggled = Signal(bool)  # expanded or collapsed (the message's height changes)
    loaded = Signal()  # the preview arrived (tests wait for it)

    def __init__(
        self, name: str, size: int, load: Callable[[], Document] | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("DocumentCard")
        self.name = name
        self.file_size = size
        self.preview: DocumentPreview | None = None
        self.error = ""
        self._build()
        self._describe()
        if load is not None:
            self._load(load)
        else:
            self.error = "The file is no longer stored."
            self._describe()

    def _build(self) -> None:
        self.icon = DocumentIcon(self.name, self)
        self.icon.reading = False
        self.title = QLabel(self.name, self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel(self)
        muted(self.detail)
        self.expand_button = DisclosureButton(self)
        self.expand_button.toggled.connect(self.set_expanded)
        self.text_view = QPlainTextEdit(self)
        self.text_view.setReadOnly(True)
        self.text_view.setAccessibleName(f"Text of {self.name}")
        self.text_view.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.text_view.setMaximumHeight(VIEW_MAX_HEIGHT)
        self.text_view.hide()
        self.more = QLabel(self)
        self.more.setEnabled(False)
        self.more.hide()
        words = QVBoxLayout()
        words.setSpacing(0)
        words.addWidget(self.title)
        words.addWidget(self.detail)
        head = QHBoxLayout()
        head.setSpacing(8)
        head.addWidget(self.icon)
        head.addLayout(words, 1)
        head.addWidget(self.expand_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.text_view)
        layout.addWidget(self.more)
        self.setFrameShape(QFrame.Shape.StyledPanel)

    def _load(self, load: Callable[[], Document]) -> None:
        def done(preview: DocumentPreview) -> None:
            if shiboken6.isValid(self):
                self.set_preview(preview)

        def failed(error: BaseException) -> None:
            log.info("could not show %s: %s", self.name, error)
            if shiboken6.isValid(self):
                self.error = str(error) or type(error).__name__
                self._describe()
                self.loaded.emit()

        run_in_background(lambda: preview_of(load()), done, failed)

    def set_preview(self, preview: DocumentPreview) -> None:
        self.preview = preview
        self.error = ""
        if preview.monospace:
            self.text_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text_view.setPlainText(preview.text)
        lines = preview.text.count("\n") + 1
        chrome = 2 * self.text_view.document().documentMargin() + 2 * self.text_view.frameWidth() + 4
        wanted = int(lines * self.text_view.fontMetrics().lineSpacing() + chrome)
        self.text_view.setFixedHeight(min(VIEW_MAX_HEIGHT, wanted))
        more = preview.more_lines
        self.more.setText(f"… {more:,} more line{'s' * (more != 1)}" if more else "")
        self._describe()
        if self.is_expanded:
            self.more.setVisible(bool(more))
        self.loaded.emit()

    @property
    def is_expanded(self) -> bool:
        return self.expand_button.isChecked()

    def set_expanded(self, on: bool) -> None:
        if self.expand_button.isChecked() != on:
            self.expand_button.setChecked(on)  # its toggled signal comes back here
            return
        self.text_view.setVisible(on)
        self.more.setVisible(on and bool(self.more.text()))
        self._describe()
        self.toggled.emit(on)

    def _describe(self) -> None:
        preview = self.preview
        pieces = [preview.kind if preview else (Path(self.name).suffix.lstrip(".").upper() or "Text")]
        if preview is not None and (parts := preview.parts_text()):
            pieces.append(parts)
        if preview is not None and preview.pictures:
            pieces.append(f"{preview.pictures} as picture{'s' * (preview.pictures != 1)}")
        if self.file_size:
            pieces.append(format_size(self.file_size))
        if self.error:
            pieces.append(self.error)
        detail = " · ".join(pieces)
        self.detail.setText(detail)
        expanded = self.is_expanded
        self.expand_button.setText("Hide text ▴" if expanded else "Show text ▾")
        self.expand_button.setToolTip(("Hide" if expanded else "Show") + f" the text Gemma read from {self.name}")
        self.expand_button.setAccessibleName(f"The text Gemma read from {self.name}")  # shown: its expanded state
        self.expand_button.setEnabled(preview is not None)
        if preview is not None and not preview.text and not self.error:
            self.text_view.setPlaceholderText("No text: its pages were sent as pictures.")
        self.setAccessibleName(f"Attached document {self.name}: {detail}")
