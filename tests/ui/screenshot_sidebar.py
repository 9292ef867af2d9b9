"""Screenshot of the sidebar: pinned chats, chats grouped by date, a long title cut to one line (run under xvfb-run).

A real window on a real store filled with chats of known dates; no model is loaded.

    xvfb-run -a -s "-screen 0 1280x860x24" python -m tests.ui.screenshot_sidebar /tmp/sidebar.png [--dark]
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

CHATS = (  # title, days ago, pinned
    ("Weekly meal plan", 12, True),
    ("Trip to Lisbon: a three-day plan with museums, food markets and a day by the sea in Cascais", 0, False),
    ("Explain this error log", 0, False),
    ("Regex for ISO dates", 1, False),
    ("Screenshot → landing page HTML", 3, False),
    ("Why is the sky blue?", 5, False),
    ("Birthday card poem", 30, False),
    ("Python packaging questions", 45, True),
    ("Sourdough starter schedule", 60, False),
)


def _fill(path: Path) -> int:
    from app.store import Store

    ids = []
    with Store.open(path) as store:
        for title, _days, pinned in CHATS:
            chat = store.create_conversation(title)
            store.add_message(chat.id, parent_id=None, role="user", content=title)
            store.set_pinned(chat.id, pinned)
            ids.append(chat.id)
    with closing(sqlite3.connect(path)) as db, db:
        for cid, (_title, days, _pinned) in zip(ids, CHATS, strict=True):
            noon = dt.datetime.combine(dt.date.today() - dt.timedelta(days=days), dt.time(10, cid))
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (noon.timestamp(), cid))
    return ids[2]


def main(out: Path) -> None:
    home = Path(os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-")))
    from PySide6.QtCore import QTimer

    from app.ui.shell.app import create_window
    from tests.ui.shots import themed_app

    app = themed_app("--dark" in sys.argv)
    selected = _fill(home / "chats.sqlite3")
    window = create_window(app)
    window.resize(1000, 640)
    window.show()

    def shoot() -> None:
        window.sidebar.select(selected)
        QTimer.singleShot(300, lambda: (window.grab().save(str(out)), app.quit()))

    QTimer.singleShot(800, shoot)
    app.exec()
    window.close()
    window.store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else Path("/tmp/sidebar.png"))
