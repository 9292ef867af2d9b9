"""One tool in the Tools settings: an enable checkbox named after the tool, its description beneath it, and a word
when it only reads (as its source declares)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QCheckBox, QLabel, QStyle, QVBoxLayout, QWidget

from app.tools.model import ToolSpec

#: The description shown under a tool is cut here; the whole text is the tooltip.
SHORT_DESCRIPTION = 280


def short_description(text: str) -> str:
    """The first paragraph of ``text`` on one line, cut to a readable length."""
    first = " ".join(text.strip().split("\n\n")[0].split())
    if len(first) > SHORT_DESCRIPTION:
        first = first[: SHORT_DESCRIPTION - 1].rstrip() + "…"
    return first or "No description."


class ToolRow(QWidget):
    """``ToolRow(spec, enabled, on_toggled)``: ``on_toggled(bool)`` runs when the user ticks or clears it."""

    def __init__(
        self, spec: ToolSpec, enabled: bool, on_toggled: Callable[[bool], None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.spec = spec
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(1)
        self.checkbox = QCheckBox(spec.name)
        self.checkbox.setChecked(enabled)
        self.checkbox.setAccessibleName(f"Enable {spec.name}")
        self.checkbox.setAccessibleDescription(spec.description)
        self.checkbox.setToolTip(spec.description)
        self.checkbox.toggled.connect(on_toggled)
        layout.addWidget(self.checkbox, 0, Qt.AlignmentFlag.AlignLeft)  # a click beside its text does nothing
        text = short_description(spec.description)
        if spec.read_only:
            text += " · Only reads."
        self.description = QLabel(text)
        self.description.setWordWrap(True)
        self.description.setToolTip(spec.description)
        self.description.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        style = self.style()
        indent = style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth) + style.pixelMetric(
            QStyle.PixelMetric.PM_CheckBoxLabelSpacing
        )
        self.description.setContentsMargins(indent, 0, 0, 0)
        layout.addWidget(self.description)
