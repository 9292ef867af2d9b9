"""Screenshots of presets in the real window (run under Xvfb): the chat header with its preset chip, the chat's
set-up dialog, and Settings → Presets.

A real window and store; no model is needed (a stored chat is what the window shows).

    xvfb-run -a -s "-screen 0 1280x860x24" python -m tests.ui.screenshot_presets OUT_PREFIX [--dark]

writes OUT_PREFIX-header.png, OUT_PREFIX-dialog.png and OUT_PREFIX-settings.png.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

QUESTION = "Can you look at this?\n\n```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```"
ANSWER = (
    "**1. Empty input.** `mean([])` raises `ZeroDivisionError`. Decide what an empty list means and say so:\n\n"
    '```python\ndef mean(xs: list[float]) -> float:\n    if not xs:\n        raise ValueError("mean of no numbers")\n'
    "    return sum(xs) / len(xs)\n```\n\n**2. Names and types.** `xs` is fine for a helper this small; a type hint "
    "tells callers what to pass."
)


def main(prefix: Path) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    from PySide6.QtCore import QTimer

    from app.settings.preset_book import PresetBook
    from app.settings.presets import Preset
    from app.store import Store
    from app.ui.shell.app import create_window
    from tests.ui.shots import themed_app

    app = themed_app("--dark" in sys.argv)
    book = PresetBook.load()
    book.add(Preset("Lisbon trip planner", "You plan trips to Lisbon on a student budget.", True, {"top_k": 40}))
    book.save()
    reviewer = book.find("Code reviewer")
    assert reviewer is not None
    store, _ = Store.open_or_recover()
    chat = store.create_conversation("Review: mean()", reviewer.system_prompt, True, reviewer.chat_settings())
    user = store.add_message(chat.id, parent_id=None, role="user", content=QUESTION)
    answer = store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER, model="Gemma 4 E4B")
    store.update_message(answer.id, status="complete")
    store.close()

    window = create_window(app)
    window.resize(1100, 720)
    window.show()

    def shoot(widget: object, name: str, then: object) -> None:
        out = prefix.with_name(f"{prefix.name}-{name}.png")
        out.parent.mkdir(parents=True, exist_ok=True)
        window.notice_bar.hide()  # (no model here: the machine check's notice is not the subject)
        widget.grab().save(str(out))  # type: ignore[attr-defined]
        print(f"saved {out}")
        QTimer.singleShot(200, then)  # type: ignore[arg-type]

    def open_chat() -> None:
        window.controller.open_conversation(chat.id, lambda: QTimer.singleShot(500, header))

    def header() -> None:
        shoot(window, "header", dialog)

    def dialog() -> None:
        window.presets.edit_setup()
        QTimer.singleShot(400, lambda: shoot(window.presets.dialog, "dialog", settings_page))

    def settings_page() -> None:
        if window.presets.dialog is not None:
            window.presets.dialog.reject()
        window.open_settings()
        settings_dialog = window.settings_dialog
        assert settings_dialog is not None and settings_dialog.presets_page is not None
        settings_dialog.tabs.setCurrentWidget(settings_dialog.presets_page)
        settings_dialog.presets_page.select("Lisbon trip planner")
        settings_dialog.resize(900, 640)
        QTimer.singleShot(400, lambda: shoot(settings_dialog, "settings", app.quit))

    QTimer.singleShot(300, open_chat)
    app.exec()
    window.close()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "/tmp/presets"))
