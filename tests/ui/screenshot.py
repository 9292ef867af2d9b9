"""Screenshot of the real window mid-answer, for the README (run under xvfb-run).

The tiny test model writes random text, so the answer here is scripted: a real
window, a real store and the real message widgets, fed a realistic answer the
way the engine feeds them (thinking first, then the answer in small pieces).

    xvfb-run -s "-screen 0 1280x860x24" uv run python -m tests.ui.screenshot resources/screenshots/chat.png
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

THINKING = (
    "The user wants a Python function that checks whether a string is a palindrome, ignoring case "
    "and punctuation. I should normalise the text first: keep only alphanumeric characters and lower-case "
    "them. Then compare the string with its reverse. I'll add a short docstring and two examples, and "
    "mention the time complexity.\n\nEdge cases: empty string (a palindrome), a single character, Unicode "
    "letters — str.isalnum handles those."
)

ANSWER = """Here is a compact version that ignores case, spaces and punctuation:

```python
def is_palindrome(text: str) -> bool:
    \"\"\"True if text reads the same backwards (letters and digits only).\"\"\"
    cleaned = [c.lower() for c in text if c.isalnum()]
    return cleaned == cleaned[::-1]


print(is_palindrome("A man, a plan, a canal: Panama"))  # True
print(is_palindrome("Gemma"))                           # False
```

| Input | Result |
|---|---|
| `"Racecar"` | **True** |
| `"No lemon, no melon"` | **True** |
| `"Gemma Desk"` | False |

It runs in *O(n)* time and memory. For very long texts you can compare from both ends with two indices instead of
"""


def main(out: Path) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.store import Store
    from app.ui.shell.app import create_window

    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if "--dark" in sys.argv:
        from app.settings import Settings

        settings = Settings.load()
        settings.set("theme", "dark")
        settings.save()
    store, _ = Store.open_or_recover()
    for title in ("Trip to Lisbon: 3-day plan", "Explain this error log", "Screenshot → landing page HTML"):
        c = store.create_conversation(title=title)
        store.add_message(c.id, parent_id=None, role="user", content=title)
    chat = store.create_conversation(title="Palindrome check in Python", thinking=True)
    user = store.add_message(
        chat.id, parent_id=None, role="user", content="Write a Python function that checks for palindromes."
    )
    store.close()

    window = create_window(app)
    window.resize(1240, 820)
    window.show()
    window.status.model_label.setText("Gemma 4 E4B it · Q4_K_M · CPU · vision, audio")
    window.status.n_ctx = 8192
    window.composer.set_thinking(True)
    window.composer.set_capabilities(model_loaded=True, vision=True, audio=True, model_name="Gemma 4 E4B it")
    window.media.set_model(loaded=True, vision=True, audio=True, name="Gemma 4 E4B it")
    window.composer.set_busy(True)

    def start() -> None:
        window.controller.open_conversation(chat.id, stream)

    def stream() -> None:
        widget = window.chat.add_message("assistant", "Gemma 4 E4B")
        widget.begin_stream()
        pieces = [THINKING[:i] for i in range(0, len(THINKING) + 1, 24)] + [THINKING]
        steps = [(p, None) for p in pieces]
        steps += [(THINKING, ANSWER[:i]) for i in range(16, len(ANSWER) + 1, 16)]
        state = {"i": 0}

        def tick() -> None:
            i = state["i"]
            if i >= len(steps):
                timer.stop()
                widget.thinking.finish(seconds=7.0, collapse=False)  # the scripted thinking took no time
                widget.thinking.set_expanded(True)
                window.status.speed_label.setText("14.2 tok/s")
                window.status.reuse_label.setText("reused 412/446")
                window.status.set_context(1630, 0)
                QTimer.singleShot(400, shoot)
                return
            thinking, answer = steps[i]
            widget.stream(thinking, answer)
            state["i"] = i + 1

        timer = QTimer(window)
        timer.timeout.connect(tick)
        timer.start(5)
        _ = user

    def shoot() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        print(f"saved {out}")
        window.close()
        app.quit()

    QTimer.singleShot(200, start)
    app.exec()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "resources/screenshots/chat.png"))
