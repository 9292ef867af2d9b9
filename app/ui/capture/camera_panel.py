"""The camera panel: a live preview from a webcam, a video file or a stream, and Snap to attach the picture.

The ``Capture`` worker reads frames and turns the newest one into a QImage
on its own thread; the GUI thread only paints it, and a frame arriving while
the last one is still waiting to be painted is dropped, so a fast camera
never loads the window. The chooser lists the cameras that open (found in
the background), a video file or stream URL the user gives, and remembers
the last one. A camera that does not open, stops, or a video that ends is a
message with Retry. Closing the panel releases the device.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.media import image_to_png_bytes
from app.media.camera import CameraError, CameraSource, Capture, list_cameras
from app.settings import Settings
from app.ui.keymap import SNAP, describe
from app.ui.tasks import run_in_background

log = logging.getLogger(__name__)

_FILE, _URL = "__file__", "__url__"


class CameraPanel(QDialog):
    """Live preview and Snap. ``snapped(png_bytes, name)`` carries the picture to the composer."""

    # Signals
    snapped = Signal(bytes, str)
    frameShown = Signal()  # a frame was painted (tests, and the first-frame status)
    _frame = Signal(int, QImage)  # from the capture thread, tagged with the capture's number
    _problem = Signal(int, str)
    _ended = Signal(int)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Camera")
        self.setModal(False)
        self.settings = settings
        self.capture: Capture | None = None
        self.source: CameraSource | None = None
        self.frames_shown = 0
        self._waiting = threading.Event()  # the current capture's frame is queued for painting: drop newer ones
        self._image: QImage | None = None
        self._generation = 0  # which capture is current: reports from an earlier one are dropped

        self.chooser = QComboBox(self)
        self.chooser.setAccessibleName("Camera")
        self.chooser.setToolTip("Which camera to use; a video file or a stream URL (an IP camera) works too")
        self.chooser.activated.connect(self._on_chooser_activated)
        self.preview = QLabel("Opening the camera…", self)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(320, 240)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.preview.setAccessibleName("Camera preview")
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Camera status")
        self.snap_button = QPushButton("Snap", self)
        self.snap_button.setAccessibleName("Snap a picture")
        self.snap_button.setToolTip("Attach the picture the camera shows now (Space)")
        self.snap_button.setShortcut(Qt.Key.Key_Space)
        describe(self.snap_button, "Camera", SNAP)
        self.snap_button.setEnabled(False)
        self.snap_button.clicked.connect(self.snap)
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setAccessibleName("Try the camera again")
        self.retry_button.setToolTip("Open the camera again")
        self.retry_button.clicked.connect(lambda: self.open_source(self.source) if self.source else None)
        self.retry_button.hide()

        top = QHBoxLayout()
        top.addWidget(QLabel("Source:", self))
        top.addWidget(self.chooser, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.snap_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.preview, 1)
        layout.addLayout(buttons)
        self.resize(680, 560)

        self._frame.connect(self._on_frame)
        self._problem.connect(self._on_problem)
        self._ended.connect(self._on_ended)
        self._fill_chooser([])

    # -- sources -------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the last source (or camera 1) and look for the other cameras in the background."""
        saved = self.settings.get_str("camera_source")
        try:
            source = CameraSource.parse(saved) if saved else CameraSource.device(0)
        except CameraError:
            source = CameraSource.device(0)
        self.open_source(source)
        run_in_background(list_cameras, self._on_cameras_listed, lambda exc: log.info("listing cameras: %s", exc))

    def open_source(self, source: CameraSource) -> None:
        self._stop_capture()
        self.source = source
        self.frames_shown = 0
        self._image = None
        self.preview.setPixmap(QPixmap())
        self.preview.setText(f"Opening {source.label}…")
        self.status.setText("")
        self.retry_button.hide()
        self.snap_button.setEnabled(False)
        self._select(source)
        self._generation += 1
        gen, waiting = self._generation, threading.Event()
        self._waiting = waiting
        capture = Capture(
            source,
            on_frame=lambda rgb: self._from_worker(gen, waiting, rgb),
            on_error=lambda message: self._problem.emit(gen, message),
            on_end=lambda: self._ended.emit(gen),
        )
        self.capture = capture
        capture.start()

    def _from_worker(self, gen: int, waiting: threading.Event, rgb: np.ndarray) -> None:
        """On the capture thread: make the QImage here, and only when the last one has been painted."""
        if waiting.is_set():
            return
        height, width = rgb.shape[:2]
        image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        waiting.set()
        self._frame.emit(gen, image)

    def _fill_chooser(self, cameras: list[CameraSource]) -> None:
        self.chooser.blockSignals(True)
        self.chooser.clear()
        known = list(cameras)
        if self.source is not None and self.source not in known:
            known.insert(0, self.source)
        for source in known:
            self.chooser.addItem(source.label, source)
        self.chooser.addItem("Video file…", _FILE)
        self.chooser.addItem("Stream URL…", _URL)
        self.chooser.blockSignals(False)
        if self.source is not None:
            self._select(self.source)

    def _select(self, source: CameraSource) -> None:
        for i in range(self.chooser.count()):
            if self.chooser.itemData(i) == source:
                self.chooser.setCurrentIndex(i)
                return
        self.chooser.insertItem(0, source.label, source)
        self.chooser.setCurrentIndex(0)

    def _on_cameras_listed(self, cameras: list[CameraSource]) -> None:
        self._fill_chooser(cameras)

    def _on_chooser_activated(self, index: int) -> None:
        data = self.chooser.itemData(index)
        text = ""
        if data == _FILE:
            text, _ = QFileDialog.getOpenFileName(
                self, "Use a video file as the camera", "", "Videos (*.mp4 *.webm *.avi *.mkv *.mov)"
            )
        elif data == _URL:
            text, ok = QInputDialog.getText(self, "Stream URL", "The camera's stream address (rtsp://… or http://…):")
            text = text if ok else ""
        elif isinstance(data, CameraSource):
            self.use(data)
            return
        if text:
            self.use_text(text)
        elif self.source is not None:
            self._select(self.source)

    def use_text(self, text: str) -> None:
        """A camera number, file path or URL typed by the user."""
        try:
            self.use(CameraSource.parse(text))
        except CameraError as exc:
            self.status.setText(str(exc))

    def use(self, source: CameraSource) -> None:
        """Switch to ``source`` and remember it."""
        self.settings.set("camera_source", source.to_setting())
        try:
            self.settings.save()
        except OSError as exc:
            log.warning("could not save the camera choice: %s", exc)
        self.open_source(source)

    # -- frames and faults (GUI thread) -----------------------------------------------------------

    def _on_frame(self, gen: int, image: QImage) -> None:
        if gen != self._generation or self.capture is None:
            return
        self._waiting.clear()
        self._image = image
        self._paint()
        self.frames_shown += 1
        if self.frames_shown == 1:
            self.snap_button.setEnabled(True)
            self.status.setText(f"{self.source.label if self.source else 'Camera'} · Space or Snap to attach")
        self.frameShown.emit()

    def _paint(self) -> None:
        if self._image is None:
            return
        pixmap = QPixmap.fromImage(self._image).scaled(
            self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.preview.setPixmap(pixmap)

    def _on_problem(self, gen: int, message: str) -> None:
        if gen != self._generation:
            return
        self.status.setText(message)
        self.retry_button.show()
        if self._image is None:
            self.preview.setText("No picture")
            self.snap_button.setEnabled(False)

    def _on_ended(self, gen: int) -> None:
        if gen != self._generation:
            return
        self.status.setText("The video has ended; Snap takes its last frame, Retry plays it again.")
        self.retry_button.show()

    # -- snap ------------------------------------------------------------------------------------------

    def snap(self) -> None:
        """Attach the newest frame: scaled, hashed and encoded as PNG off the GUI thread."""
        capture = self.capture
        if capture is None:
            return
        name = f"Camera {datetime.now().strftime('%Y-%m-%d %H.%M.%S')}.png"

        def done(png: bytes) -> None:
            self.status.setText("Snapped: the picture is attached to your message.")
            self.snapped.emit(png, name)

        def failed(exc: BaseException) -> None:
            self.status.setText(str(exc) if isinstance(exc, CameraError) else f"The picture could not be taken: {exc}")

        run_in_background(lambda: image_to_png_bytes(capture.snapshot(name)), done, failed)

    # -- closing -----------------------------------------------------------------------------------------

    def _stop_capture(self, *, wait: bool = False) -> None:
        capture, self.capture = self.capture, None
        if capture is not None:
            if wait:
                capture.stop(timeout=5)
            else:
                run_in_background(lambda: capture.stop(timeout=5))

    def release(self, *, wait: bool = False) -> None:
        """Stop the preview and release the device (``wait``: before returning, as when the app quits)."""
        self._stop_capture(wait=wait)

    def hideEvent(self, event: QHideEvent) -> None:
        self.release()
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.release()
        super().closeEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._paint()
