"""Screenshots of the shortcuts sheet and the command palette over the window, light or dark (under Xvfb):
``xvfb-run -a -s "-screen 0 1280x860x24" python -m tests.ui.screenshot_keyboard OUT_DIR [--dark]``."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def main(out: Path, dark: bool) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    from PySide6.QtCore import QTimer

    from app.store import Store
    from app.ui.shell.app import create_window
    from tests.ui.shots import themed_app

    app = themed_app(dark)
    store, _ = Store.open_or_recover()
    for title in ("Trip to Lisbon: 3-day plan", "Explain this error log", "Sourdough <b>bread</b> schedule"):
        chat = store.create_conversation(title=title)
        store.add_message(chat.id, parent_id=None, role="user", content=title)
    store.close()
    window = create_window(app)
    window.resize(1240, 820)
    window.move(20, 20)
    window.show()
    theme = "dark" if dark else "light"
    out.mkdir(parents=True, exist_ok=True)

    def screen(name: str) -> None:
        path = out / f"keyboard-{name}-{theme}.png"
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(path))
        print(f"saved {path}")

    def sheet() -> None:
        window.keyboard.show_shortcuts()
        QTimer.singleShot(600, lambda: (screen("sheet"), sheet_filtered()))

    def sheet_filtered() -> None:
        assert window.keyboard.sheet is not None
        window.keyboard.sheet.filter.setText("chat")
        QTimer.singleShot(300, lambda: (screen("sheet-filtered"), palette()))

    def palette() -> None:
        assert window.keyboard.sheet is not None
        window.keyboard.sheet.reject()
        window.keyboard.show_palette()
        QTimer.singleShot(600, lambda: (screen("palette"), palette_typed()))

    def palette_typed() -> None:
        assert window.keyboard.palette is not None
        window.keyboard.palette.search.setText("ex")
        QTimer.singleShot(300, lambda: (screen("palette-typed"), app.quit()))

    QTimer.singleShot(800, sheet)
    app.exec()
    window.close()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "/tmp"), "--dark" in sys.argv)
