"""Which answer the preview pane shows, the pictures beside it, following it while it streams, and Fix this.

The pane (and Qt WebEngine with it) is made the first time a preview is asked for, so the window starts
without loading a browser engine.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QSplitter

from app.ui.chat.message_widget import MessageWidget
from app.ui.composer.composer import Composer

if TYPE_CHECKING:
    from app.ui.preview.pane import PreviewPane

FIX_PROMPT = (
    "The first picture is the page I want; the second is how your HTML renders now. List the differences "
    "you see (layout, sizes, colours, text), then write the corrected, complete HTML file."
)


class PreviewController(QObject):
    def __init__(self, splitter: QSplitter, composer: Composer, messages: object) -> None:
        super().__init__(splitter)
        self.splitter = splitter
        self.composer = composer
        self._messages = messages  # the ChatView: .messages, in order
        self.pane: PreviewPane | None = None
        self.widget: MessageWidget | None = None
        self.index = 0

    def show_for(self, widget: MessageWidget, index: int) -> PreviewPane | None:
        """Preview code block ``index`` of ``widget`` (an answer) and keep it up to date while it streams."""
        html = widget.preview_source(index)
        if html is None:
            return None
        pane = self._ensure_pane()
        self._follow(widget, index)
        title = "Preview — the page" if index < 0 or widget.page() == (index, html) else f"Preview — block {index + 1}"
        pane.show_html(html, references=self.references_for(widget), title=title)
        pane.show()
        sizes = self.splitter.sizes()
        if len(sizes) == 3 and sizes[2] == 0:
            total = sum(sizes)
            self.splitter.setSizes([sizes[0], int((total - sizes[0]) * 0.45), int((total - sizes[0]) * 0.55)])
        return pane

    def references_for(self, widget: MessageWidget) -> list[Path]:
        """The pictures of the user message this answer replies to."""
        messages: list[MessageWidget] = list(getattr(self._messages, "messages", []))
        if widget not in messages:
            return []
        for earlier in reversed(messages[: messages.index(widget)]):
            if earlier.role == "user":
                return [a.path for a in earlier.attachments if a.kind == "image" and a.path is not None]
        return []

    def _ensure_pane(self) -> PreviewPane:
        if self.pane is None:
            from app.ui.preview.pane import PreviewPane

            self.pane = PreviewPane()
            self.pane.dock_into(self.splitter)
            self.pane.fixRequested.connect(self._on_pane_fixRequested)
            self.pane.closed.connect(self._unfollow)
        return self.pane

    def _follow(self, widget: MessageWidget, index: int) -> None:
        self._unfollow()
        self.widget, self.index = widget, index
        widget.textUpdated.connect(self._on_widget_textUpdated)

    def _unfollow(self) -> None:
        if self.widget is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # the widget is already gone
                self.widget.textUpdated.disconnect(self._on_widget_textUpdated)
        self.widget = None

    def _on_widget_textUpdated(self) -> None:
        widget, pane = self.widget, self.pane
        if widget is None or pane is None:
            return
        html = widget.preview_source(self.index)
        if html is not None:
            pane.update_html(html, final=not widget.streaming)

    def _on_pane_fixRequested(self, rendering: QImage, references: list[Path]) -> None:
        self.composer.add_files(list(references))
        self.composer.add_qimage(rendering, "rendered page.png")
        self.composer.set_text(FIX_PROMPT)
        self.composer.focus_input()

    def shutdown(self) -> None:
        if self.pane is not None:
            self.pane.close_pane()
            shiboken6.delete(self.pane)  # now, while the app runs: the page goes before its profile
            self.pane = None
