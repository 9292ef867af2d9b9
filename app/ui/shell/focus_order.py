"""Tab and Shift+Tab through the window in the order the eye reads it, reaching every control.

Qt's own focus chain is the order widgets were made in: a message's buttons made after the status bar, a
microphone button added to the composer later, come last. The window instead asks ``step_focus`` on each
Tab: its regions in order (sidebar, notice, the page shown, composer, then the rest), and within a region
row by row, left to right. Controls whose style leaves them out of Tab (buttons on macOS-like styles) are
given strong focus so the keyboard reaches them too.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QMenuBar,
    QScrollArea,
    QWidget,
)

#: Controls a keyboard user must be able to reach.
INTERACTIVE = (QAbstractButton, QComboBox, QLineEdit, QAbstractItemView, QAbstractSpinBox)
#: Widgets whose inner parts (a line edit's clear button, a combo box's editor) are not stops of their own.
_COMPOUND = (QLineEdit, QComboBox, QAbstractSpinBox, QMenuBar)


def _inside_compound(widget: QWidget, window: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, _COMPOUND):
            return True
        parent = parent.parentWidget()
    return False


def tab_stops(window: QWidget) -> list[QWidget]:
    """The widgets Tab visits in ``window`` now (shown, enabled, taking focus), not yet in order."""
    stops = []
    for widget in window.findChildren(QWidget):
        if widget.window() is not window or not widget.isVisible() or not widget.isEnabled():
            continue
        if widget.focusProxy() is not None or _inside_compound(widget, window):
            continue
        policy = widget.focusPolicy()
        if isinstance(widget, INTERACTIVE) and not policy & Qt.FocusPolicy.TabFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # e.g. buttons under the macOS style
        elif not policy & Qt.FocusPolicy.TabFocus:
            continue
        stops.append(widget)
    return stops


def _reading_order(widgets: list[QWidget], window: QWidget) -> list[QWidget]:
    """Rows top to bottom, each row left to right. Two widgets share a row when each one's middle lies within
    the other's height (a button beside a taller one does; a button inside a tall box does not)."""
    placed = []
    for widget in widgets:
        top = widget.mapTo(window, QPoint(0, 0))
        placed.append((top.y(), top.y() + max(1, widget.height()), top.x(), widget))
    placed.sort(key=lambda p: (p[0], p[2]))
    rows: list[list[tuple[int, int, int, QWidget]]] = []
    for item in placed:
        lead = rows[-1][0] if rows else None
        if (
            lead is not None
            and lead[0] <= (item[0] + item[1]) // 2 < lead[1]
            and item[0] <= (lead[0] + lead[1]) // 2 < item[1]
        ):
            rows[-1].append(item)
        else:
            rows.append([item])
    return [p[3] for row in rows for p in sorted(row, key=lambda p: p[2])]


def ordered_stops(window: QWidget, regions: Sequence[QWidget]) -> list[QWidget]:
    """``window``'s Tab stops in order: region by region, then whatever lies outside them."""
    buckets: list[list[QWidget]] = [[] for _ in range(len(regions) + 1)]
    for widget in tab_stops(window):
        index = next((i for i, r in enumerate(regions) if r is widget or r.isAncestorOf(widget)), len(regions))
        buckets[index].append(widget)
    return [w for bucket in buckets for w in _reading_order(bucket, window)]


def step_focus(window: QWidget, regions: Sequence[QWidget], forward: bool) -> bool:
    """Move the focus to the next (or previous) stop after the focused widget; False when there is none."""
    stops = ordered_stops(window, regions)
    if not stops:
        return False
    current: QWidget | None = window.focusWidget()
    while current is not None and current not in stops and current is not window:
        current = current.parentWidget()  # the focus is inside a stop (a viewport, a proxy's target)
    if current in stops:
        at = stops.index(current)
        target = stops[(at + (1 if forward else -1)) % len(stops)]
    else:
        target = stops[0 if forward else -1]
    target.setFocus(Qt.FocusReason.TabFocusReason if forward else Qt.FocusReason.BacktabFocusReason)
    area = target.parentWidget()
    while area is not None and not isinstance(area, QScrollArea):
        area = area.parentWidget()
    if isinstance(area, QScrollArea) and area.isAncestorOf(target):
        area.ensureWidgetVisible(target)
    return True
