"""The preview pane: a generated page rendered in the sandbox, beside the picture it was made from.

It shows the user's picture(s) on the left and the page on the right, at a
chosen width (phone 390 px, tablet 820 px, or the whole pane). While the
answer streams, ``update_html`` re-renders at most about twice a second.
The toolbar has Reload, Open in browser (a file written to a temporary
folder, for the user's own browser), per-preview switches for scripts and for
remote images and fonts (asked first), Fix this (the rendered page and the
original go back to the model), Detach (its own window) and Close.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import shiboken6
from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import confirm
from app.ui.preview.sandbox import SandboxedPage
from app.ui.tasks import run_in_background

log = logging.getLogger(__name__)

WIDTHS = (("Desktop", 0), ("Tablet (820 px)", 820), ("Phone (390 px)", 390))
UPDATE_INTERVAL_MS = 400


def _web_view(parent: QWidget) -> QWidget:
    from PySide6.QtWebEngineWidgets import QWebEngineView

    return QWebEngineView(parent)


class _FitImage(QLabel):
    """A picture scaled to the label's width as the splitter moves."""

    def __init__(self, image: QImage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap.fromImage(image)
        self.setMinimumWidth(80)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        width = max(1, self.width())
        if self.pixmap().isNull() or self.pixmap().width() != width:
            self.setPixmap(self._pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation))


class PreviewPane(QWidget):
    # Signals
    fixRequested = Signal(QImage, list)  # the page as rendered, the reference pictures' paths
    closed = Signal()
    detachedChanged = Signal(bool)
    rendered = Signal()  # a page finished loading (tests; the status line)
    referencesShown = Signal()  # the user's pictures are on screen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PreviewPane")
        self.setAccessibleName("Page preview")
        self.html = ""
        self.references: list[Path] = []
        self.loads = 0
        self._pending: str | None = None
        self._reference_request = 0
        self._dock: QSplitter | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(UPDATE_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

        self.page = SandboxedPage(self)
        self.view = _web_view(self)
        self.view.setPage(self.page)  # type: ignore[attr-defined]
        self.view.setAccessibleName("Rendered page")
        self.page.loadFinished.connect(self._on_page_loadFinished)
        self.page.refused.connect(self._on_page_refused)

        self._build_controls()
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Preview status")

        self.reference_box = QWidget(self)
        self.reference_layout = QVBoxLayout(self.reference_box)
        self.reference_layout.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidget(self.reference_box)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setAccessibleName("The picture it was made from")
        self.reference_scroll = scroll
        self.frame = QWidget(self)
        frame_layout = QHBoxLayout(self.frame)
        frame_layout.setContentsMargins(0, 0, 0, 0)
        frame_layout.addWidget(self.view)
        self.inner = QSplitter(Qt.Orientation.Horizontal, self)
        self.inner.addWidget(scroll)
        self.inner.addWidget(self.frame)
        self.inner.setStretchFactor(1, 2)

        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.width_choice)
        bar.addWidget(self.scripts)
        bar.addWidget(self.remote)
        for button in self.buttons.values():
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.inner, 1)
        layout.addWidget(self.status)
        self._update_status()

    def _build_controls(self) -> None:
        """The bar above the page: title, width, the Scripts and Remote switches, and the buttons."""
        self.title = QLabel("Preview", self)
        self.width_choice = QComboBox(self)
        self.width_choice.setAccessibleName("Preview width")
        self.width_choice.setToolTip("See the page as on a desktop, a tablet or a phone")
        for label, px in WIDTHS:
            self.width_choice.addItem(label, px)
        self.width_choice.currentIndexChanged.connect(self._apply_width)
        self.scripts = QCheckBox("Scripts", self)
        self.scripts.setAccessibleName("Run the page's scripts")
        self.scripts.setToolTip("Off: the page's JavaScript does not run. Turn on only for a page you trust.")
        self.scripts.toggled.connect(self._on_scripts_toggled)
        self.remote = QCheckBox("Remote images and fonts", self)
        self.remote.setAccessibleName("Load remote images and fonts")
        self.remote.setToolTip("Off: the page cannot reach the network. On: images, fonts and styles may load.")
        self.remote.toggled.connect(self._on_remote_toggled)
        self.buttons: dict[str, QToolButton] = {}
        actions = (
            ("reload", "Reload", "Render the page again", self.reload),
            ("browser", "Open in browser", "Open the page in your web browser (outside the sandbox)",
             self.open_in_browser),
            ("fix", "Fix this", "Send this rendering and the original picture back so Gemma fixes the differences",
             self.request_fix),
            ("detach", "Detach", "Show the preview in its own window", self.toggle_detached),
            ("close", "Close", "Close the preview", self.close_pane),
        )  # fmt: skip
        for key, text, tip, slot in actions:
            button = QToolButton(self)
            button.setText(text)
            button.setToolTip(tip)
            button.setAccessibleName(text)
            button.clicked.connect(slot)
            self.buttons[key] = button

    # -- content -------------------------------------------------------------------------------

    def show_html(self, html: str, *, references: list[Path] | None = None, title: str = "Preview") -> None:
        """Render ``html`` now, next to ``references`` (the user's pictures)."""
        self._timer.stop()
        self._pending = None
        self.title.setText(title)
        if references is not None:
            self._set_references(references)
        self._load(html)

    def update_html(self, html: str, *, final: bool = False) -> None:
        """The answer grew: render again soon (at most every ``UPDATE_INTERVAL_MS``), or now when ``final``."""
        if html == self.html and self._pending is None:
            return
        self._pending = html
        if final:
            self._timer.stop()
            self._on_timer_timeout()
        elif not self._timer.isActive():
            self._timer.start()

    def reload(self) -> None:
        self._load(self.html)

    def _load(self, html: str) -> None:
        self.html = html
        if self.page.show_html(html):
            self.loads += 1

    def _on_timer_timeout(self) -> None:
        if self._pending is not None:
            html, self._pending = self._pending, None
            self._load(html)

    def _set_references(self, paths: list[Path]) -> None:
        """Show the user's pictures beside the page: read and decoded off the GUI thread."""
        self.references = list(paths)
        self._reference_request += 1
        request = self._reference_request
        self.reference_scroll.setVisible(bool(paths))
        if paths:
            width = max(400, self.inner.width())
            self.inner.setSizes([int(width * 0.4), int(width * 0.6)])
        run_in_background(
            lambda: [(path, QImage(str(path))) for path in paths],
            lambda images: self._show_references(request, images),
        )

    def _show_references(self, request: int, images: list[tuple[Path, QImage]]) -> None:
        if request != self._reference_request or not shiboken6.isValid(self):
            return  # another answer's pictures were asked for meanwhile, or the pane is gone
        while self.reference_layout.count():
            item = self.reference_layout.takeAt(0)
            old = item.widget() if item is not None else None
            if old is not None:
                old.deleteLater()
        for path, image in images:
            label = QLabel(path.name, self.reference_box) if image.isNull() else _FitImage(image, self.reference_box)
            label.setAccessibleName(f"Original picture {path.name}")
            self.reference_layout.addWidget(label)
        self.reference_layout.addStretch(1)
        self.referencesShown.emit()

    def _apply_width(self) -> None:
        px = int(self.width_choice.currentData() or 0)
        if px:
            self.view.setFixedWidth(px)
        else:
            self.view.setMinimumWidth(0)
            self.view.setMaximumWidth(16_777_215)

    # -- switches ------------------------------------------------------------------------------------

    def _on_scripts_toggled(self, on: bool) -> None:
        self.page.set_scripts(on)
        self.reload()
        self._update_status()

    def _on_remote_toggled(self, on: bool) -> None:
        if on and not confirm.ask(
            self,
            "Load remote images and fonts?",
            "The page will be able to fetch images, fonts and styles from the internet, which tells those "
            "servers you opened it. Scripts, frames and other requests stay blocked.",
        ):
            self.remote.blockSignals(True)
            self.remote.setChecked(False)
            self.remote.blockSignals(False)
            return
        self.page.set_remote(on)
        self.reload()
        self._update_status()

    # -- actions --------------------------------------------------------------------------------------

    def open_in_browser(self) -> Path | None:
        try:
            folder = Path(tempfile.mkdtemp(prefix="gemma-desk-page-"))
            path = folder / "index.html"
            path.write_text(self.html, encoding="utf-8")
        except OSError as exc:
            self.status.setText(f"Could not write the page for the browser: {exc}")
            return None
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        return path

    def request_fix(self) -> None:
        """The page as rendered and the original pictures go back to the composer (it encodes them)."""
        self.fixRequested.emit(self.view.grab().toImage(), list(self.references))

    def dock_into(self, splitter: QSplitter) -> None:
        """Where the pane lives when it is not detached."""
        self._dock = splitter
        if self.parent() is not splitter:
            splitter.addWidget(self)

    def toggle_detached(self) -> None:
        detached = self.isWindow()
        if detached and self._dock is not None:
            self._dock.addWidget(self)
            self.show()
            self.buttons["detach"].setText("Detach")
        elif not detached:
            self.setParent(None)
            self.setWindowFlag(Qt.WindowType.Window, True)
            self.setWindowTitle("Gemma Desk — Preview")
            self.resize(1000, 700)
            self.show()
            self.buttons["detach"].setText("Attach")
        self.detachedChanged.emit(not detached)

    def close_pane(self) -> None:
        self._timer.stop()
        if self.isWindow() and self._dock is not None:
            self._dock.addWidget(self)
            self.buttons["detach"].setText("Detach")
        self.hide()
        self.closed.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.isWindow() and self._dock is not None:  # the detached window's close button: dock and hide
            event.ignore()
            self.close_pane()
            return
        super().closeEvent(event)

    # -- status -----------------------------------------------------------------------------------------

    def _on_page_loadFinished(self, ok: bool) -> None:
        self._update_status()
        self.rendered.emit()

    def _on_page_refused(self, message: str) -> None:
        self.status.setText(message)

    def _update_status(self) -> None:
        parts = ["Sandboxed: no files", "remote images and fonts only" if self.remote.isChecked() else "no network"]
        parts.append("scripts on" if self.scripts.isChecked() else "scripts off")
        blocked = len(self.page.guard.blocked)
        if blocked:
            parts.append(f"{blocked} request{'s' * (blocked != 1)} blocked")
        self.status.setText(" · ".join(parts))
