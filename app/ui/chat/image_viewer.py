"""A picture at full size, in its own window (a message's picture, a tool's picture)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QLabel, QScrollArea, QVBoxLayout, QWidget


class ImageViewer(QDialog):
    """A picture at full size (scrolls when larger than the screen)."""

    def __init__(self, image: QImage, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        label = QLabel()
        label.setPixmap(QPixmap.fromImage(image))
        label.setAccessibleName(title)
        area = QScrollArea(self)
        area.setWidget(label)
        area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(area)
        screen = self.screen().availableGeometry() if self.screen() else None
        max_w = int(screen.width() * 0.85) if screen else 1200
        max_h = int(screen.height() * 0.85) if screen else 900
        self.resize(min(image.width() + 24, max_w), min(image.height() + 24, max_h))
