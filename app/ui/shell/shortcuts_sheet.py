"""The shortcuts sheet (Ctrl+/, Help → Keyboard shortcuts): every key the window has, grouped, with a filter.

Its lines come from ``keymap.shortcuts_of(window)`` each time it opens, so it lists the keys the window holds
now, written as the platform writes them (⌘ on macOS). Esc closes it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.keymap import KeyEntry, shortcuts_of


class ShortcutsSheet(QDialog):
    """A list of (what it does, keys) under group headings; typing in the filter keeps the lines that match."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("ShortcutsSheet")
        self.setWindowTitle("Keyboard shortcuts")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter: type what you want to do, or a key")
        self.filter.setAccessibleName("Filter shortcuts")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._on_filter_textChanged)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Keyboard shortcuts")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tree.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.entries: list[KeyEntry] = shortcuts_of(window)
        self._fill()
        self.resize(560, 620)

    def _fill(self) -> None:
        bold = QFont(self.font())
        bold.setBold(True)
        headings: dict[str, tuple[QTreeWidgetItem, list[QTreeWidgetItem]]] = {}
        for entry in self.entries:
            if entry.group not in headings:
                heading = QTreeWidgetItem(self.tree, [entry.group])  # plain text, as every line here
                heading.setFont(0, bold)
                heading.setFlags(Qt.ItemFlag.ItemIsEnabled)
                heading.setFirstColumnSpanned(True)
                headings[entry.group] = (heading, [])
            heading, lines = headings[entry.group]
            line = QTreeWidgetItem(heading, [entry.text, entry.keys_text])
            line.setToolTip(0, entry.text)
            line.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            lines.append(line)
        self._sections = list(headings.values())
        self.tree.expandAll()

    def lines(self) -> list[tuple[str, str, str]]:
        """(group, what it does, keys) of every line shown now."""
        return [
            (heading.text(0), line.text(0), line.text(1))
            for heading, lines in self._sections
            if not heading.isHidden()
            for line in lines
            if not line.isHidden()
        ]

    def _on_filter_textChanged(self, text: str) -> None:
        words = text.lower().split()
        for heading, lines in self._sections:
            for line in lines:
                haystack = f"{heading.text(0)} {line.text(0)} {line.text(1)}".lower()
                line.setHidden(not all(w in haystack for w in words))
            heading.setHidden(all(line.isHidden() for line in lines))
