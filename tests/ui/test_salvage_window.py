"""The window as the app starts on a damaged chat database: the salvaged chats in the sidebar, and the notice."""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QProgressDialog
from pytestqt.qtbot import QtBot

from app.store import Store
from app.ui.shell import app as app_module
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui


def _smash_root(path: Path, table: str) -> None:
    """Random bytes over a table's root page: SQLite can no longer reach a single one of its rows."""
    with closing(sqlite3.connect(path)) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(random.Random(root).randbytes(size))


def _trip_chats(path: Path, count: int) -> None:
    with Store.open(path) as store:
        for n in range(count):
            chat = store.create_conversation(f"trip plan {n}")
            q = store.add_message(chat.id, parent_id=None, role="user", content=f"day {n}: " + "museum walk " * 600)
            store.add_message(chat.id, parent_id=q.id, role="assistant", content=f"answer for day {n}")


def test_the_window_shows_the_chats_salvaged_from_a_damaged_database(qtbot: QtBot, launch: Launch, home: Path) -> None:
    path = home / "chats.sqlite3"
    _trip_chats(path, 3)
    _smash_root(path, "messages")

    window = launch()
    kept = next(home.glob("chats.corrupt-*.sqlite3"))
    assert window.notice_bar.isVisible()
    assert window.notice_bar.label.text() == (
        "The chat database was damaged. Recovered 3 chats and 6 messages, and nothing is known to be missing. "
        f"The damaged file was kept as {kept}."
    )
    qtbot.waitUntil(lambda: len(window.sidebar.ids()) == 3, timeout=5_000)
    assert window.sidebar.titles() == ["trip plan 2", "trip plan 1", "trip plan 0"]
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5_000)  # the newest chat opens, whole
    assert window.chat.messages[0].text().startswith("day 2: museum walk museum walk")
    assert window.chat.messages[1].text() == "answer for day 2"


def test_the_salvage_runs_off_the_gui_thread_behind_a_busy_window(
    qtbot: QtBot, launch: Launch, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _trip_chats(home / "chats.sqlite3", 40)
    _smash_root(home / "chats.sqlite3", "messages")
    monkeypatch.setattr(app_module, "QUIET_OPEN_S", 0)  # show the busy window however quick the salvage is
    seen: list[str] = []

    def look() -> None:  # runs only while the GUI thread is free to handle events
        seen.extend(
            w.labelText() for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible()
        )

    ticker = QTimer(interval=5)
    ticker.timeout.connect(look)
    ticker.start()
    window = launch()
    ticker.stop()
    assert seen and set(seen) == {"Opening your chats…"}
    assert window.notice_bar.label.text().startswith(
        "The chat database was damaged. Recovered 40 chats and 80 messages"
    )
    qtbot.waitUntil(lambda: len(window.sidebar.ids()) == 40, timeout=5_000)
