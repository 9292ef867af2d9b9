"""The composer's document actions: token counts on the chips, long pastes as chips, and picking pages.

``DocumentActions`` sits between the intake (what is attached), the tray (what is shown) and the
``TokenCounter``: a ready chip is counted and its count shown; a long paste becomes a "Pasted text" chip that
can go back into the message box; "Pages…" (or a PDF too long to send whole) reads the page summaries in the
background, opens the ``PagePicker`` and reads the document again with the pages chosen.
"""

from __future__ import annotations

import logging
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from app.media import MediaError
from app.media.documents import Document, PageChoice, read_document
from app.media.documents.pdf import MAX_PDF_PAGES, MAX_PICTURE_PAGES, pdf_page_summaries
from app.media.documents.reader import document_format
from app.ui.composer.attachment_tray import AttachmentTray, Chip
from app.ui.composer.document_chip import is_multi_page, unit_of
from app.ui.composer.intake import AttachmentIntake
from app.ui.composer.message_input import MessageInput
from app.ui.composer.page_picker import PagePicker, PageSummary
from app.ui.composer.token_counts import TokenCounter
from app.ui.tasks import run_in_background

log = logging.getLogger(__name__)


def page_summaries(path: Path, name: str) -> tuple[bool, list[PageSummary]]:
    """Whether the document is a PDF (by its name, else its first bytes), and every page (slide, sheet) with its
    label and amount of text: a PDF's counted without drawing any, other documents read as text (a worker
    thread: this reads the file; raises MediaError)."""
    if document_format(path, name) == "pdf":
        return True, [PageSummary(p.number, f"Page {p.number}", p.chars) for p in pdf_page_summaries(path, name)]
    document = read_document(path, name=name, choice=PageChoice(pictures=()))
    return False, [PageSummary(s.number, s.label, len("".join(s.text.split()))) for s in document.sections]


class DocumentActions(QObject):
    """Token counts, long pastes and page picking for one composer."""

    # Signals
    countsChanged = Signal()  # a chip's token count changed: the context meter follows
    noticeRequested = Signal(str)

    def __init__(self, intake: AttachmentIntake, tray: AttachmentTray, text_box: MessageInput, parent: QWidget) -> None:
        super().__init__(parent)
        self.intake = intake
        self.tray = tray
        self.text_box = text_box
        self.counter = TokenCounter(self)
        self.page_picker: PagePicker | None = None  # the open picker (tests reach it here)
        intake.ready.connect(self._on_intake_ready)
        intake.dropped.connect(self._on_intake_dropped)
        intake.rereading.connect(self._on_intake_rereading)
        intake.pagesNeeded.connect(self._on_intake_pagesNeeded)
        tray.pagesRequested.connect(self.choose_pages)
        tray.pasteBackRequested.connect(self.paste_back)
        text_box.longTextPasted.connect(self.add_pasted_text)
        self.counter.counted.connect(self._on_counter_counted)

    # --- long pastes --------------------------------------------------------------------------------------

    @Slot(str)
    def add_pasted_text(self, text: str) -> None:
        """A long paste becomes a "Pasted text" chip (with "Paste as text instead")."""
        token = self.intake.add_pasted_text(text)
        if token is None:  # no room for another attachment (the intake said so): the text goes in as text
            self.text_box.insert_text(text)
        else:
            self.tray.set_pasted(token)

    @Slot(int)
    def paste_back(self, token: int) -> None:
        """ "Paste as text instead": the text goes back into the box at the cursor, exactly as pasted."""
        text = self.intake.take_pasted(token)
        if text is not None:
            self.text_box.insert_text(text)
            self.text_box.setFocus()

    # --- pages --------------------------------------------------------------------------------------------

    @Slot(int)
    def choose_pages(self, token: int) -> None:
        """Read the document's page summaries in the background, then open the page picker."""
        source = self.intake.source(token)
        if source is None:
            return
        path, name = source
        chip = self.intake.chip(token)
        payload = chip.attachment.payload if chip is not None else None
        current = payload.choice if isinstance(payload, Document) else PageChoice()

        def show(found: tuple[bool, list[PageSummary]]) -> None:
            if shiboken6.isValid(self) and self.intake.source(token) == source:
                self._open_picker(token, name, found, current)

        def failed(error: BaseException) -> None:
            if not isinstance(error, MediaError):
                log.error("reading the pages of %s failed", name, exc_info=error)
            if shiboken6.isValid(self):
                self.noticeRequested.emit(str(error) if isinstance(error, MediaError) else f"{name}: {error}")

        run_in_background(lambda: page_summaries(path, name), show, failed)

    def _open_picker(self, token: int, name: str, found: tuple[bool, list[PageSummary]], current: PageChoice) -> None:
        if self.page_picker is not None:
            self.page_picker.close()
        pdf, pages = found  # only a PDF's pages can go as pictures
        abilities = self.intake.abilities
        picker = PagePicker(
            name,
            pages,
            current,
            vision=pdf and (abilities.vision or not abilities.model_loaded),
            picture_tokens=self.counter.picture_tokens(),
            max_pages=MAX_PDF_PAGES if pdf else 0,
            max_pictures=MAX_PICTURE_PAGES if pdf else 0,
            unit=unit_of(None, name),
            parent=self.tray.window(),
        )
        picker.accepted.connect(lambda: self.intake.choose_pages(token, picker.choice()))
        picker.finished.connect(lambda _result: self._forget_picker(picker))
        self.page_picker = picker
        picker.open()

    def _forget_picker(self, picker: PagePicker) -> None:
        if self.page_picker is picker:
            self.page_picker = None
        picker.deleteLater()

    # --- what the documents cost -----------------------------------------------------------------------------

    def document_tokens(self) -> list[tuple[str, int]]:
        """Each read document's name and tokens (measured, or estimated while counting)."""
        found: list[tuple[str, int]] = []
        for token in self.intake.tokens():
            chip = self.intake.chip(token)
            if chip is not None and isinstance(chip.attachment.payload, Document):
                count = self.counter.count(token)
                tokens = count.tokens if count.tokens is not None and not count.counting else None
                found.append((chip.attachment.name, tokens if tokens is not None else self.counter.estimate(token)))
        return found

    def largest_multi_page(self) -> int | None:
        """The token of the multi-page document that costs most (or waits for its pages), or None."""
        best: tuple[int, int] | None = None  # (tokens, token)
        for token in self.intake.tokens():
            chip = self.intake.chip(token)
            if self.intake.page_count(token):
                return token
            if chip is None or not isinstance(chip.attachment.payload, Document):
                continue
            if not is_multi_page(chip.attachment.payload):
                continue
            tokens = self.counter.count(token).tokens or self.counter.estimate(token)
            if best is None or tokens > best[0]:
                best = (tokens, token)
        return best[1] if best else None

    # --- the intake's news --------------------------------------------------------------------------------

    @Slot(int, object)
    def _on_intake_ready(self, token: int, chip: Chip) -> None:
        self.counter.add(token, chip)

    @Slot(int)
    def _on_intake_dropped(self, token: int) -> None:
        self.counter.remove(token)
        self.countsChanged.emit()

    @Slot(int)
    def _on_intake_rereading(self, token: int) -> None:
        self.tray.set_reading(token)
        self.counter.remove(token)
        self.countsChanged.emit()

    @Slot(int, int)
    def _on_intake_pagesNeeded(self, token: int, page_count: int) -> None:
        self.tray.set_needs_pages(token, page_count)
        self.choose_pages(token)

    @Slot(int)
    def _on_counter_counted(self, token: int) -> None:
        self.tray.set_tokens(token, self.counter.count(token).label())
        self.countsChanged.emit()
