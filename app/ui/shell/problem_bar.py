"""The one-line problem shown at the foot of a dialog (a warning icon and the reason), hidden while all is well."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QWidget


def problem_bar(owner: QWidget) -> tuple[QWidget, QLabel]:
    """A hidden row for ``owner``: the row, and the label its reason goes in."""
    bar = QWidget()
    row = QHBoxLayout(bar)
    row.setContentsMargins(0, 0, 0, 0)
    icon = QLabel()
    size = owner.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
    icon.setPixmap(owner.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size))
    text = QLabel()
    text.setWordWrap(True)
    text.setAccessibleName("Problem")
    row.addWidget(icon)
    row.addWidget(text, 1)
    bar.hide()
    return bar, text
