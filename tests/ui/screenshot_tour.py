"""The README's tour of the window (run under Xvfb): the welcome page, and a chat with thinking, code and a
formula beside the sidebar's date groups, with a picture and a document waiting in the composer.

A real window and store. The answer is scripted (the test model has random weights): it is stored as a finished
answer and re-rendered by the window, as a chat reopened after a real run is. Each run writes four pictures:
``welcome``, ``chat`` (the whole window), and crops of it, ``sidebar`` and ``composer``; with ``--dark`` their
names end in ``-dark``; run with ``QT_SCALE_FACTOR=2`` (and a screen twice the size) for 2× pictures.

    xvfb-run -a -s "-screen 0 1280x860x24" python -m tests.ui.screenshot_tour OUT_DIR [--dark] [--suffix @2x]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tests.ui.screenshot import THINKING

QUESTION = "Write a Python function that checks for palindromes, and say how many comparisons it makes."

ANSWER = r"""Here is a compact version that ignores case, spaces and punctuation:

```python
def is_palindrome(text: str) -> bool:
    # letters and digits only, lower-cased
    cleaned = [c.lower() for c in text if c.isalnum()]
    return all(cleaned[i] == cleaned[-1 - i] for i in range(len(cleaned) // 2))
```

It compares the two ends and walks inwards, so for $n$ letters it makes at most

$$\left\lfloor \frac{n}{2} \right\rfloor \text{ comparisons,}$$

and it stops at the first pair that differs. "A man, a plan, a canal: Panama" has $n = 21$ letters: 10 comparisons.
"""

STATS = {"completion_tokens": 168, "decode_tps": 14.2, "ttft_s": 0.41}


def _fill(home: Path) -> int:
    """The store: the sidebar screenshot's chats of known dates (two pinned), and the palindrome chat, today's
    newest; returns its id."""
    from app.store import Store
    from tests.ui.screenshot_sidebar import _fill as dated_chats

    path = home / "chats.sqlite3"
    dated_chats(path)
    with Store.open(path) as store:
        chat = store.create_conversation("Palindrome check in Python", thinking=True)
        user = store.add_message(chat.id, parent_id=None, role="user", content=QUESTION)
        answer = store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER, model="Gemma 4 E4B")
        store.update_message(answer.id, status="complete", thinking=THINKING, thinking_seconds=7.0, stats=STATS)
    return chat.id


def _attachments(work: Path) -> list[Path]:
    """A photo-like picture and a small text document for the composer."""
    from PIL import Image, ImageDraw

    picture = work / "whiteboard.png"
    image = Image.new("RGB", (640, 420), (238, 240, 236))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(((66, 133, 244), (219, 68, 55), (244, 180, 0), (15, 157, 88))):
        draw.rounded_rectangle((40 + i * 150, 120, 160 + i * 150, 320), radius=18, fill=colour)
    image.save(picture)
    notes = work / "meeting-notes.md"
    notes.write_text("# Meeting notes\n\n- Ship the palindrome checker\n- Measure it on long texts\n", "utf-8")
    return [picture, notes]


def main(out_dir: Path, dark: bool, suffix: str) -> None:
    home = Path(os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-")))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.models.advice import advise
    from app.models.catalog import load_catalog
    from app.models.speed import Speeds
    from app.ui.shell.app import create_window
    from tests.models.test_speed import DESKTOP
    from tests.ui.shots import themed_app
    from tests.ui.test_speed_ui import desktop

    app = themed_app(dark)
    chat_id = _fill(home)
    files = _attachments(Path(tempfile.mkdtemp(prefix="gemma-desk-tour-")))
    window = create_window(app)
    window.resize(1240, 820)
    window.show()
    tail = ("-dark" if dark else "") + suffix
    out_dir.mkdir(parents=True, exist_ok=True)

    def save(name: str, picture: object) -> None:
        path = out_dir / f"{name}{tail}.png"
        picture.save(str(path))  # type: ignore[attr-defined]
        print(f"saved {path}")

    def welcome() -> None:
        hw = desktop(32)
        advice = advise(load_catalog(), hw, speeds=Speeds(DESKTOP))
        window.welcome.set_machine(hw, Path.home() / "Gemma Desk" / "models", advice.pick, None, None, advice)
        window.pages.setCurrentWidget(window.welcome)
        window.notice_bar.hide()
        QTimer.singleShot(400, lambda: (save("welcome", window.grab()), open_chat()))

    def open_chat() -> None:
        window.status.model_label.setText("Gemma 4 E4B it · Q4_K_M · CPU · vision, audio")
        window.composer.set_capabilities(model_loaded=True, vision=True, audio=True, model_name="Gemma 4 E4B it")
        window.media.set_model(loaded=True, vision=True, audio=True, name="Gemma 4 E4B it")
        window.controller.open_conversation(chat_id, lambda: QTimer.singleShot(300, compose))

    def compose() -> None:
        window.pages.setCurrentWidget(window.chat)
        window.composer.add_files(files)
        window.composer.set_text("Now make it work on a whole file, line by line.")
        QTimer.singleShot(2500, shoot)  # the thinking folded, the formula drawn, the chips' token counts

    def shoot() -> None:
        window.chat.messages[1].thinking.set_expanded(True)
        window.notice_bar.hide()
        window.chat.jump_button.hide()
        window.chat.verticalScrollBar().setValue(0)
        QApplication.processEvents()
        whole = window.grab()
        save("chat", whole)
        save("sidebar", window.sidebar.grab())
        save("composer", window.composer.grab())
        app.quit()

    QTimer.singleShot(500, welcome)
    app.exec()
    window.close()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    suffix = sys.argv[sys.argv.index("--suffix") + 1] if "--suffix" in sys.argv else ""
    args = [a for a in args if a != suffix]
    main(Path(args[0] if args else "/tmp/tour"), "--dark" in sys.argv, suffix)
