"""The sidebar in the real window (offscreen, real store): chats grouped by date under headers the keys step over,
long titles cut to one line with the whole title in the tooltip and never a horizontal scrollbar, and pinned chats
on top, kept across a restart."""

from __future__ import annotations

import datetime as dt
import html
import sqlite3
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from app.store import Store
from app.ui.shell.main_window import MainWindow
from app.ui.shell.sidebar import ConversationRow, Sidebar
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui


def _noon(days_ago: int) -> float:
    """Local noon ``days_ago`` days before today (a time of day no test run can fall on the wrong side of)."""
    day = dt.date.today() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(12)).timestamp()


def _chats(home: Path, *chats: tuple[str, int]) -> list[int]:
    """Chats of one question each, named and last active ``days_ago`` as given; their ids."""
    path = home / "chats.sqlite3"
    ids = []
    with Store.open(path) as store:
        for title, _days in chats:
            chat = store.create_conversation()
            store.add_message(chat.id, parent_id=None, role="user", content=title)
            store.rename(chat.id, title)
            ids.append(chat.id)
    with closing(sqlite3.connect(path)) as db, db:
        for cid, (_title, days) in zip(ids, chats, strict=True):
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (_noon(days), cid))
    return ids


def _shown(qtbot: QtBot, window: MainWindow, count: int) -> None:
    qtbot.waitUntil(lambda: len(window.sidebar.ids()) == count, timeout=5_000)


def test_chats_are_grouped_by_their_last_activity_under_headers_the_keys_skip(
    qtbot: QtBot, launch: Launch, home: Path
) -> None:
    today, yesterday, three, month = _chats(
        home, ("tides today", 0), ("tides yesterday", 1), ("three days ago", 3), ("a month ago tides", 30)
    )
    window = launch()
    _shown(qtbot, window, 4)
    sidebar = window.sidebar
    assert sidebar.groups() == [
        ("Today", [today]),
        ("Yesterday", [yesterday]),
        ("Previous 7 days", [three]),
        ("Older", [month]),
    ]
    view = sidebar.list
    headers = [view.item(i) for i in range(view.count()) if view.item(i).text() in ("Today", "Yesterday")]
    assert headers and not any(h.flags() & Qt.ItemFlag.ItemIsSelectable for h in headers)

    # The keys land on chats only.
    sidebar.select(today)
    qtbot.waitUntil(lambda: window.controller.conversation is not None, timeout=5_000)
    view.setFocus()
    seen = []
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Up):
        qtbot.keyClick(view, key)
        seen.append(sidebar.current_id())
    assert seen == [yesterday, three, month, month, three]
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert sidebar.current_id() == today
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert sidebar.current_id() == month
    # A click on a header selects nothing.
    header_rect = view.visualItemRect(headers[0])
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=header_rect.center())
    assert sidebar.current_id() == month

    # Search results are grouped the same way.
    sidebar.search.setText("tides")
    qtbot.waitUntil(lambda: len(sidebar.ids()) == 3, timeout=5_000)
    assert sidebar.groups() == [("Today", [today]), ("Yesterday", [yesterday]), ("Older", [month])]
    sidebar.search.setText("zebra")
    qtbot.waitUntil(lambda: not sidebar.ids(), timeout=5_000)
    assert [g for g, _ in sidebar.groups()] == ["No chats match"]


def test_a_long_title_is_cut_to_one_line_and_the_list_never_scrolls_sideways(
    qtbot: QtBot, launch: Launch, home: Path
) -> None:
    title = ("<b>Not bold</b> " + " ".join(f"word{n}" for n in range(60)))[:299] + "!"
    assert len(title) == 300
    (long_id, short_id) = _chats(home, (title, 0), ("Short one", 0))
    window = launch()
    window.resize(1000, 700)
    _shown(qtbot, window, 2)
    sidebar, view = window.sidebar, window.sidebar.list
    assert sidebar.titles()[1] == title  # (the newest, "Short one", first)

    for width in (240, 150, 400):
        window.splitter.setSizes([width, 1000 - width])
        qtbot.waitUntil(lambda w=width: abs(sidebar.width() - w) < 20, timeout=3_000)
        shown = sidebar.shown_title(long_id)
        assert shown.endswith("…") and title.startswith(shown[:-1]) and len(shown) < 100
        assert sidebar.shown_title(short_id) == "Short one"
        assert view.visualItemRect(view.item(2)).right() < view.viewport().width() + 1
        bar = view.horizontalScrollBar()
        assert not bar.isVisible() and bar.maximum() == 0

    row = next(view.item(i) for i in range(view.count()) if view.item(i).text() == title)
    tooltip = row.toolTip()
    assert html.escape(title) in tooltip and "<b>Not bold</b>" not in tooltip  # whole, and never markup


def _open_menu_and(qtbot: QtBot, window: MainWindow, chat_id: int, choose: str, seen: list[str]) -> None:
    """Right-click the chat, note the menu's entries and choose one (the menu runs its own event loop)."""
    view = window.sidebar.list
    item = next(view.item(i) for i in range(view.count()) if view.item(i).data(Qt.ItemDataRole.UserRole) == chat_id)

    def pick() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(20, pick)
            return
        seen.extend(a.text() for a in menu.actions() if a.text())
        next(a for a in menu.actions() if a.text() == choose).trigger()
        menu.close()

    QTimer.singleShot(20, pick)
    view.customContextMenuRequested.emit(view.visualItemRect(item).center())


@pytest.mark.qt_log_ignore("This plugin does not support grabbing the keyboard")  # (a menu, offscreen)
def test_a_pinned_chat_goes_to_the_top_and_stays_there_after_a_restart(
    qtbot: QtBot, launch: Launch, home: Path
) -> None:
    old, new = _chats(home, ("an old chat", 30), ("a new chat", 0))
    window = launch()
    _shown(qtbot, window, 2)
    assert window.sidebar.groups() == [("Today", [new]), ("Older", [old])]
    window.sidebar.select(old)
    window.sidebar.list.setFocus()
    qtbot.keyClick(window.sidebar.list, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.sidebar.groups()[0] == ("Pinned", [old]), timeout=5_000)
    assert window.sidebar.groups() == [("Pinned", [old]), ("Today", [new])]
    window.close()
    window.store.close()

    again = launch()
    _shown(qtbot, again, 2)
    assert again.sidebar.groups() == [("Pinned", [old]), ("Today", [new])]
    opened = again.controller
    qtbot.waitUntil(lambda: opened.conversation is not None and opened.conversation.id == new, timeout=5_000)
    assert again.sidebar.current_id() == new  # the app opens on the latest chat, not on the pinned one
    entries: list[str] = []
    _open_menu_and(qtbot, again, old, "Unpin", entries)
    assert entries == ["Rename…", "Unpin", "Delete"]
    qtbot.waitUntil(lambda: again.sidebar.groups() == [("Today", [new]), ("Older", [old])], timeout=5_000)
    entries.clear()
    _open_menu_and(qtbot, again, new, "Pin to the top", entries)
    assert entries == ["Rename…", "Pin to the top", "Delete"]
    qtbot.waitUntil(lambda: again.sidebar.groups()[0] == ("Pinned", [new]), timeout=5_000)
    with Store.open(home / "chats.sqlite3") as store:
        assert [(c.id, c.pinned) for c in store.list_conversations()] == [(new, True), (old, False)]


def test_the_groups_follow_the_date_when_the_app_stays_open_past_midnight(
    qtbot: QtBot, launch: Launch, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (chat,) = _chats(home, ("a chat from today", 0))
    window = launch()
    _shown(qtbot, window, 1)
    assert window.sidebar.groups() == [("Today", [chat])]
    tomorrow = time.time() + 86_400
    monkeypatch.setattr(time, "time", lambda: tomorrow)
    window.sidebar._day_timer.setInterval(1)  # (midnight, now)
    window.sidebar._day_timer.start()
    qtbot.waitUntil(lambda: window.sidebar.groups() == [("Yesterday", [chat])], timeout=3_000)


def test_a_refresh_leaves_the_list_scrolled_where_it_was(qtbot: QtBot) -> None:
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    sidebar.resize(240, 300)
    sidebar.show()
    rows = [ConversationRow(i, f"chat {i}", _noon(i)) for i in range(1, 61)]
    sidebar.set_conversations(rows, 5)
    bar = sidebar.list.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 400)
    bar.setValue(400)
    sidebar.set_conversations([replace(rows[50], pinned=True), *rows[:50], *rows[51:]], 5)  # e.g. a pin
    assert bar.value() == 400
