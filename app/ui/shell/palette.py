"""The command palette (Ctrl+K): type a few letters, then Enter opens that chat or runs that command.

A search box over one list: the window's commands (its own QActions, so a command greyed in the menu is
greyed here) and the chats (newest first, read from the store off the GUI thread). Words match anywhere in a
name, and letters in order match as a fallback ("nwc" finds "New chat"). Up/Down move, Enter or a click
chooses, Esc closes. Chat titles are untrusted and shown as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

_ROLE = Qt.ItemDataRole.UserRole
_HINT = Qt.ItemDataRole.UserRole + 1  # drawn at the right, dimmed: a command's keys, or "chat"


@dataclass(frozen=True)
class Command:
    text: str  # plain text
    keys: str  # its shortcut as the platform writes it, or ""
    enabled: Callable[[], bool]
    run: Callable[[], None]


@dataclass(frozen=True)
class ChatChoice:
    id: int
    title: str  # untrusted: plain text only


Choice = Command | ChatChoice


def match_score(query: str, text: str) -> int | None:
    """How well ``query`` names ``text`` (lower is better), or None when it does not.

    Every word of the query must appear in the text (0 at its start, 1 at a word's start, 2 elsewhere);
    failing that, the query's letters in order (100 and up, by how spread out they are)."""
    words, haystack = query.lower().split(), text.lower()
    if not words:
        return 0
    score = 0
    for word in words:
        at = haystack.find(word)
        if at < 0:
            break
        score += 0 if at == 0 else 1 if not haystack[at - 1].isalnum() else 2
    else:
        return score
    letters, position, spread = "".join(words), -1, 0
    for letter in letters:
        found = haystack.find(letter, position + 1)
        if found < 0:
            return None
        spread += found - position - 1
        position = found
    return 100 + spread


class _HintDelegate(QStyledItemDelegate):
    """Draws each line's hint (keys, or "chat") right-aligned and dimmed, as plain text."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().paint(painter, option, index)
        hint = index.data(_HINT)
        if not hint:
            return
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        painter.save()
        painter.setPen(option.palette.color(role))
        rect = option.rect.adjusted(0, 0, -8, 0)
        painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(hint))
        painter.restore()


class CommandPalette(QDialog):
    """A frameless box near the top of the window: a search field over chats and commands."""

    def __init__(self, window: QWidget, commands: list[Command], open_chat: Callable[[int], None]) -> None:
        super().__init__(window, Qt.WindowType.Dialog | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("CommandPalette")
        self.setAccessibleName("Command palette")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.commands = commands
        self.chats: list[ChatChoice] = []
        self._open_chat = open_chat
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Open a chat or run a command…")
        self.search.setAccessibleName("Search chats and commands")
        self.search.textChanged.connect(lambda _t: self._refill())
        self.search.installEventFilter(self)  # Up, Down and Enter work while the search field has the focus
        self.list = QListWidget(self)
        self.list.setAccessibleName("Chats and commands")
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the search field keeps the keys
        self.list.setUniformItemSizes(True)
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.list.setItemDelegate(_HintDelegate(self.list))
        self.list.itemClicked.connect(self._on_list_itemClicked)
        self.setStyleSheet(
            "#CommandPalette { border: 1px solid palette(mid); border-radius: 8px; }"
            "#CommandPalette QListWidget::item { padding: 3px 2px; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        width = max(360, min(640, window.width() - 80))
        self.resize(width, 420)
        top = window.mapToGlobal(window.rect().topLeft())
        self.move(top.x() + (window.width() - width) // 2, top.y() + 60)
        self._refill()

    def set_chats(self, chats: list[ChatChoice]) -> None:
        """The store's chats, newest first (they arrive a moment after the palette opens)."""
        self.chats = chats
        self._refill()

    def choices(self) -> list[tuple[str, bool]]:
        """(text, can be chosen) of each line shown, top to bottom."""
        return [(self.list.item(i).text(), self._usable(self.list.item(i))) for i in range(self.list.count())]

    # -- the list --------------------------------------------------------------------------------------

    def _refill(self) -> None:
        query = self.search.text()
        ranked: list[tuple[int, int, Choice]] = []
        everything: list[Choice] = [*self.chats, *self.commands]
        for order, choice in enumerate(everything):
            text = choice.title if isinstance(choice, ChatChoice) else choice.text
            score = match_score(query, text)
            if score is not None:
                ranked.append((score, order, choice))
        ranked.sort(key=lambda r: (r[0], r[1]))
        self.list.clear()
        for _score, _order, choice in ranked:
            self.list.addItem(self._item(choice))
        self._select(0, 1)

    def _item(self, choice: Choice) -> QListWidgetItem:
        if isinstance(choice, ChatChoice):
            item = QListWidgetItem(choice.title or "New chat")  # QListWidgetItem text is never markup
            item.setToolTip(f"Open the chat “{choice.title}”")
            item.setData(_HINT, "chat")
        else:
            item = QListWidgetItem(choice.text)
            item.setData(_HINT, choice.keys)
            item.setToolTip(choice.text if choice.enabled() else f"{choice.text} (not available now)")
            if not choice.enabled():
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
        item.setData(_ROLE, choice)
        return item

    @staticmethod
    def _usable(item: QListWidgetItem) -> bool:
        return bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)

    def _select(self, start: int, step: int) -> None:
        """Make the first choosable line from ``start`` on (going by ``step``) the current one."""
        row = start
        while 0 <= row < self.list.count():
            if self._usable(self.list.item(row)):
                self.list.setCurrentRow(row)
                return
            row += step

    def _choose(self, item: QListWidgetItem | None) -> None:
        if item is None or not self._usable(item):
            return
        choice, open_chat = item.data(_ROLE), self._open_chat
        self.accept()
        # after the palette has gone: a command may open a dialog of its own
        if isinstance(choice, ChatChoice):
            QTimer.singleShot(0, lambda: open_chat(choice.id))
        elif isinstance(choice, Command) and choice.enabled():
            QTimer.singleShot(0, choice.run)

    def _on_list_itemClicked(self, item: QListWidgetItem) -> None:
        self._choose(item)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key, row = event.key(), self.list.currentRow()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._choose(self.list.currentItem())
                return True
            steps = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 8, Qt.Key.Key_PageUp: -8}
            if key in steps:
                step = steps[Qt.Key(key)]
                target = max(0, min(self.list.count() - 1, row + step))
                self._select(target, 1 if step > 0 else -1)
                return True
        return super().eventFilter(watched, event)

    def changeEvent(self, event: QEvent) -> None:
        """Clicking elsewhere closes it, as a popup would."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow() and self.isVisible():
            QTimer.singleShot(0, self._close_if_inactive)

    def _close_if_inactive(self) -> None:
        if self.isVisible() and not self.isActiveWindow():
            self.reject()
