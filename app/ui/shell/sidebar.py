"""The list of conversations: new, search (titles and text), open, rename, pin, delete with undo.

A plain view: it shows what the window gives it and emits what the user asks for; the window does the store work
off the GUI thread. Chats are grouped under small headers (Pinned, Today, Yesterday, Previous 7 days, Older: see
``chat_groups``) that cannot be selected and that the arrow keys step over. A title is one line, cut with "…" to
the sidebar's width (the whole title is in the tooltip): the list never scrolls sideways.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QFontMetrics, QIcon, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.icons import set_icon
from app.ui.keymap import describe
from app.ui.shell.chat_groups import ConversationRow, grouped, seconds_to_midnight

__all__ = ["ConversationRow", "Sidebar"]

ID_ROLE = Qt.ItemDataRole.UserRole  # a chat's id (headers have none)
PINNED_ROLE = Qt.ItemDataRole.UserRole + 1
HEADER_ROLE = Qt.ItemDataRole.UserRole + 2  # True on a group's header
PAD = 10  # text inset from the row's edges
ROW_GAP = 14  # a chat row's height beyond its line of text
HEADER_TOP, HEADER_BOTTOM = 14, 4  # space above (below the previous group) and below a header's text


def _when(ts: float) -> str:
    age = time.time() - ts
    if age < 60:
        return "just now"
    if age < 3600:
        return f"{int(age // 60)} min ago"
    if age < 86400:
        return time.strftime("%H:%M", time.localtime(ts))
    return time.strftime("%d %b %Y", time.localtime(ts))


def one_line(title: str) -> str:
    """A title as the list shows it: one line (an old title with line breaks runs on), "New chat" when empty."""
    return " ".join(title.split()) or "New chat"


def _header_font(font: QFont) -> QFont:
    small = QFont(font)
    small.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
    small.setWeight(QFont.Weight.DemiBold)
    return small


class ChatDelegate(QStyledItemDelegate):
    """Draws a chat as one elided line on a rounded selection, a header as small muted text.

    Its size hint is one pixel wide, so the list's contents are never wider than the list: no horizontal scrolling.
    """

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        if index.data(HEADER_ROLE):
            top = HEADER_TOP if index.row() > 0 else HEADER_TOP // 2
            return QSize(1, QFontMetrics(_header_font(option.font)).height() + top + HEADER_BOTTOM)
        return QSize(1, option.fontMetrics.height() + ROW_GAP)

    def shown_text(self, index: QModelIndex | QPersistentModelIndex, rect: QRect, font: QFont) -> str:
        """The text drawn for ``index`` in ``rect``: cut at the right with "…" when it does not fit."""
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        header = bool(index.data(HEADER_ROLE))
        metrics = QFontMetrics(_header_font(font) if header else font)
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(0, rect.width() - 2 * PAD))

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        palette: QPalette = option.palette
        rect = QRect(option.rect)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if index.data(HEADER_ROLE):
            font = _header_font(option.font)
            painter.setFont(font)
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            text_rect = rect.adjusted(PAD, 0, -PAD, -HEADER_BOTTOM)
            align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
            painter.drawText(text_rect, align, self.shown_text(index, rect, option.font))
            painter.restore()
            return
        state = option.state
        back = rect.adjusted(4, 1, -4, -1)
        if state & QStyle.StateFlag.State_Selected:
            fill = QColor(palette.color(QPalette.ColorRole.Highlight))
            fill.setAlpha(70 if state & QStyle.StateFlag.State_HasFocus else 45)
        elif state & QStyle.StateFlag.State_MouseOver:
            fill = QColor(palette.color(QPalette.ColorRole.Text))
            fill.setAlpha(18)
        else:
            fill = QColor(Qt.GlobalColor.transparent)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(back, 6, 6)
        painter.setFont(option.font)
        painter.setPen(palette.color(QPalette.ColorRole.Text))
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(rect.adjusted(PAD, 0, -PAD, 0), align, self.shown_text(index, rect, option.font))
        painter.restore()


class ChatListView(QListWidget):
    """The list itself: the arrow, page and Home/End keys land only on chats, never on a group's header."""

    def moveCursor(self, cursorAction: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        index = super().moveCursor(cursorAction, modifiers)
        actions = QAbstractItemView.CursorAction
        row = index.row() if index.isValid() else -1
        if cursorAction == actions.MoveHome:
            row = 0
        elif cursorAction == actions.MoveEnd:
            row = self.count() - 1
        if self._is_chat(row):
            return index
        up = cursorAction in (actions.MoveUp, actions.MovePrevious, actions.MovePageUp, actions.MoveEnd)
        for step in (-1, 1) if up else (1, -1):
            found = next((r for r in range(row, -1 if step < 0 else self.count(), step) if self._is_chat(r)), None)
            if found is not None:
                return self.model().index(found, 0)
        return self.currentIndex()

    def _is_chat(self, row: int) -> bool:
        item = self.item(row) if 0 <= row < self.count() else None
        return item is not None and item.data(ID_ROLE) is not None


class Sidebar(QWidget):
    """New chat button, search box and the conversation list (pinned first, then newest first, by date)."""

    # Signals
    newRequested = Signal()
    conversationSelected = Signal(int)
    renameRequested = Signal(int, str)
    pinRequested = Signal(int, bool)  # chat id, pinned or no longer
    deleteRequested = Signal(int)
    searchChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.new_button = QPushButton("New chat", self)
        set_icon(self.new_button, "new_chat")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.setAccessibleName("New chat")
        self.new_button.clicked.connect(self.newRequested)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search chats")
        self.search.setClearButtonEnabled(True)
        magnifier = self.search.addAction(QIcon(), QLineEdit.ActionPosition.LeadingPosition)
        set_icon(magnifier, "search")
        magnifier.setToolTip("Search conversation titles and text (Ctrl+F)")
        magnifier.triggered.connect(lambda: self.search.setFocus())
        for shown in magnifier.associatedObjects():  # the line edit's button that shows it
            if isinstance(shown, QWidget):
                shown.setAccessibleName("Search chats")
        self.search.setToolTip("Search conversation titles and text (Ctrl+F)")
        self.search.setAccessibleName("Search chats")
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(lambda: self.searchChanged.emit(self.search.text().strip()))
        self.search.textChanged.connect(lambda _t: self._search_timer.start())

        self.list = ChatListView(self)
        self._build_list()
        self._build_actions()
        top = QHBoxLayout()
        top.addWidget(self.new_button, 1)
        self._new_row = top
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.addLayout(top)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        self._current_id: int | None = None
        self._filling = False
        self._menu_for: int | None = None  # the chat whose context menu is open
        self._rows: list[ConversationRow] = []
        self._day_timer = QTimer(self)  # at midnight, today's chats become yesterday's
        self._day_timer.setSingleShot(True)
        self._day_timer.timeout.connect(lambda: self.set_conversations(self._rows, self._current_id))

    def _build_list(self) -> None:
        view = self.list
        view.setObjectName("ChatList")
        view.setAccessibleName("Conversations")
        keys = "F2 renames, Ctrl+P pins or unpins, Delete deletes"
        view.setToolTip(f"Your conversations, pinned first, then by date ({keys})")  # (a chat's own: its title)
        view.setAccessibleDescription(f"Pinned chats first, then by date. {keys}.")
        view.setItemDelegate(ChatDelegate(view))
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.setWordWrap(False)
        view.setMouseTracking(True)
        view.setFrameShape(QListWidget.Shape.NoFrame)
        view.viewport().setAutoFillBackground(False)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_context_menu)
        view.currentItemChanged.connect(self._on_current_changed)

    def _build_actions(self) -> None:
        def action(text: str, key: QKeySequence, slot: object, said: str) -> QAction:
            act = describe(QAction(text, self.list), "Chat list", said)
            act.setShortcut(key)
            act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            act.triggered.connect(slot)
            self.list.addAction(act)
            return act

        self._rename_action = action(
            "Rename…", QKeySequence(Qt.Key.Key_F2), self.rename_current, "Rename the selected chat"
        )
        self._pin_action = action(
            "Pin to the top",
            QKeySequence("Ctrl+P"),
            self.toggle_pin_current,
            "Pin to the top or Unpin the selected chat",
        )
        self._delete_action = action(
            "Delete", QKeySequence(QKeySequence.StandardKey.Delete), self.delete_current, "Delete the selected chat"
        )
        set_icon(self._rename_action, "rename")
        set_icon(self._pin_action, "pin")
        set_icon(self._delete_action, "delete")

    # -- API ----------------------------------------------------------------------------

    def set_conversations(self, rows: Sequence[ConversationRow], current_id: int | None) -> None:
        """Show ``rows`` (pinned first, then newest first) under their groups, ``current_id`` selected."""
        now = time.time()
        self._rows = list(rows)
        self._filling = True
        scrolled = self.list.verticalScrollBar().value()  # a refresh (a title, a pin) leaves the list where it was
        try:
            self.list.clear()
            for name, members in grouped(self._rows, now):
                self._add_header(name)
                for row in members:
                    item = self._add_chat(row, name)
                    if row.id == current_id:
                        self.list.setCurrentItem(item)
            if not rows and self.search.text().strip():
                self._add_header("No chats match")
            self.list.doItemsLayout()
            self.list.updateGeometries()  # (the scroll range follows the rows now, not at the next paint)
            self.list.verticalScrollBar().setValue(scrolled)
        finally:
            self._filling = False
        self._current_id = current_id
        self._day_timer.start(int(seconds_to_midnight(now) * 1000) + 1000)

    def _add_header(self, name: str) -> None:
        item = QListWidgetItem(name)
        item.setData(HEADER_ROLE, True)
        item.setFlags(Qt.ItemFlag.NoItemFlags)  # not selectable; the keys step over it
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{name}:")
        self.list.addItem(item)

    def _add_chat(self, row: ConversationRow, group: str) -> QListWidgetItem:
        item = QListWidgetItem(one_line(row.title))
        item.setData(ID_ROLE, row.id)
        item.setData(PINNED_ROLE, row.pinned)
        when = _when(row.updated_at)
        item.setToolTip(  # rich text (so it wraps), the title escaped: a title is never markup
            f"<p>{html.escape(one_line(row.title))}</p><p><small>Last message {html.escape(when)}"
            f"{' · pinned' if row.pinned else ''}</small></p>"
        )
        item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, f"{group}, last message {when}")
        self.list.addItem(item)
        return item

    def add_beside_new(self, widget: QWidget) -> None:
        """Put ``widget`` (New chat's preset menu) beside the New chat button."""
        self._new_row.addWidget(widget)

    def ids(self) -> list[int]:
        """The chats' ids in the order shown (headers left out)."""
        return [int(item.data(ID_ROLE)) for item in self._chat_items()]

    def titles(self) -> list[str]:
        """The chats' titles in the order shown, as the list holds them (whole, before any "…")."""
        return [item.text() for item in self._chat_items()]

    def groups(self) -> list[tuple[str, list[int]]]:
        """The groups shown, in order, each with its chats' ids."""
        shown: list[tuple[str, list[int]]] = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(HEADER_ROLE):
                shown.append((item.text(), []))
            elif shown:
                shown[-1][1].append(int(item.data(ID_ROLE)))
        return shown

    def shown_title(self, conversation_id: int) -> str:
        """A chat's title as drawn now (cut with "…" to the list's width)."""
        item = self._item(conversation_id)
        if item is None:
            return ""
        delegate = self.list.itemDelegate()
        assert isinstance(delegate, ChatDelegate)
        index = self.list.indexFromItem(item)
        return delegate.shown_text(index, self.list.visualRect(index), self.list.font())

    def select(self, conversation_id: int) -> None:
        item = self._item(conversation_id)
        if item is not None:
            self.list.setCurrentItem(item)

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(ID_ROLE)) if item is not None and item.data(ID_ROLE) is not None else None

    def rename_current(self) -> None:
        item = self._target()
        if item is None:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "New name:", QLineEdit.EchoMode.Normal, item.text())
        if ok and title.strip():
            self.renameRequested.emit(int(item.data(ID_ROLE)), one_line(title))

    def toggle_pin_current(self) -> None:
        """Pin the selected chat to the top of the list, or unpin it."""
        item = self._target()
        if item is not None:
            self.pinRequested.emit(int(item.data(ID_ROLE)), not item.data(PINNED_ROLE))

    def delete_current(self) -> None:
        item = self._target()
        if item is not None:
            self.deleteRequested.emit(int(item.data(ID_ROLE)))

    # -- internals ----------------------------------------------------------------------

    def _chat_items(self) -> list[QListWidgetItem]:
        items = (self.list.item(i) for i in range(self.list.count()))
        return [item for item in items if item.data(ID_ROLE) is not None]

    def _item(self, conversation_id: int) -> QListWidgetItem | None:
        return next((item for item in self._chat_items() if item.data(ID_ROLE) == conversation_id), None)

    def _target(self) -> QListWidgetItem | None:
        """The chat an action is for: the one whose menu is open, else the selected one."""
        if self._menu_for is not None:
            return self._item(self._menu_for)
        item = self.list.currentItem()
        return item if item is not None and item.data(ID_ROLE) is not None else None

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if self._filling or current is None or current.data(ID_ROLE) is None:
            return
        cid = int(current.data(ID_ROLE))
        if cid != self._current_id:
            self._current_id = cid
            self.conversationSelected.emit(cid)

    def _on_context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None or item.data(ID_ROLE) is None:
            return
        self._pin_action.setText("Unpin" if item.data(PINNED_ROLE) else "Pin to the top")
        menu = QMenu(self)
        menu.addAction(self._rename_action)
        menu.addAction(self._pin_action)
        menu.addSeparator()
        menu.addAction(self._delete_action)
        self._menu_for = int(item.data(ID_ROLE))  # (the selection may not follow: no switching mid-answer)
        try:
            menu.exec(self.list.mapToGlobal(pos))
        finally:
            self._menu_for = None
