"""The window as the app starts on a damaged chat database: the salvaged chats in the sidebar, and the notice."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.store import Store
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui


def _smash_root(path: Path, table: str) -> None:
    """Random bytes over a table's root page: SQLite can no longer reach a single one of its rows."""
    with sqlite3.connect(path) as db:
        size = db.execute("PRAGMA page_size").fetchone()[0]
        (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(random.Random(root).randbytes(size))


def test_the_window_shows_the_chats_salvaged_from_a_damaged_database(qtbot: QtBot, launch: Launch, home: Path) -> None:
    path = home / "chats.sqlite3"
    with Store.open(path) as store:
        for n in range(3):
            chat = store.create_conversation(f"trip plan {n}")
            q = store.add_message(chat.id, parent_id=None, role="user", content=f"day {n}: " + "museum walk " * 600)
            store.add_message(chat.id, parent_id=q.id, role="assistant", content=f"answer for day {n}")
    _smash_root(path, "messages")

    window = launch()
    kept = next(home.glob("chats.corrupt-*.sqlite3"))
    assert window.notice_bar.isVisible()
    assert window.notice_bar.label.text() == (
        "The chat database was damaged. Recovered 3 chats and 6 messages, and nothing is known to be missing. "
        f"The damaged file was kept as {kept}."
    )
    qtbot.waitUntil(lambda: window.sidebar.list.count() == 3, timeout=5_000)
    titles = [window.sidebar.list.item(i).text() for i in range(3)]
    assert titles == ["trip plan 2", "trip plan 1", "trip plan 0"]
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5_000)  # the newest chat opens, whole
    assert window.chat.messages[0].text().startswith("day 2: museum walk museum walk")
    assert window.chat.messages[1].text() == "answer for day 2"
