"""Screenshots of the chat's look (run under Xvfb): a user's bubble, an answer with its thinking, a tool call,
a code block and the stats footer; an empty chat's starter prompts; the welcome page's model cards.

A real window and store; the stored chat is what the window re-renders (no model needed), the starters are those
of a model that sees and hears, the cards those the advice gives a 96 GB desktop.

    xvfb-run -s "-screen 0 1280x860x24" python -m tests.ui.screenshot_messages OUT_DIR [--dark]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from tests.ui.screenshot import ANSWER, THINKING
from tests.ui.screenshot_tools import STEP

STATS = {"completion_tokens": 412, "decode_tps": 38.4, "ttft_s": 1.21}


def main(out_dir: Path, dark: bool) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    from PySide6.QtCore import QTimer

    from app.models.advice import advise
    from app.models.catalog import load_catalog
    from app.models.speed import Speeds
    from app.store import Store
    from app.ui.shell.app import create_window
    from tests.models.test_speed import DESKTOP
    from tests.ui.shots import themed_app
    from tests.ui.test_speed_ui import desktop

    app = themed_app(dark)
    store, _ = Store.open_or_recover()
    chat = store.create_conversation(title="Palindrome check in Python", thinking=True)
    user = store.add_message(chat.id, parent_id=None, role="user", content="Write a Python palindrome check.")
    answer = store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER, model="Gemma 4 E4B")
    store.update_message(
        answer.id, status="complete", thinking=THINKING, thinking_seconds=7.0, stats=STATS, tools=[STEP.to_json()]
    )
    store.close()
    suffix = "-dark" if dark else ""
    window = create_window(app)
    window.resize(1100, 800)
    window.show()

    def shoot(name: str) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        window.notice_bar.hide()  # (no model here: the machine check's notice is not the subject)
        path = out_dir / f"{name}{suffix}.png"
        window.grab().save(str(path))
        print(f"saved {path}")

    def open_chat() -> None:
        window.controller.open_conversation(chat.id, lambda: QTimer.singleShot(400, chat_shown))

    def chat_shown() -> None:
        window.chat.messages[1].thinking.set_expanded(True)
        QTimer.singleShot(300, lambda: (shoot("messages"), starters()))

    def starters() -> None:
        window.chats.new_chat()
        window.chat.starters.set_abilities(loaded=True, vision=True, audio=True)
        QTimer.singleShot(1500, lambda: (window.pages.setCurrentWidget(window.chat), shoot("starters"), welcome()))

    def welcome() -> None:
        hw = desktop(96)
        advice = advise(load_catalog(), hw, speeds=Speeds(DESKTOP))
        window.welcome.set_machine(hw, Path("models"), advice.pick, None, None, advice)
        window.pages.setCurrentWidget(window.welcome)
        QTimer.singleShot(300, lambda: (shoot("welcome"), app.quit()))

    QTimer.singleShot(300, open_chat)
    app.exec()
    window.close()
    _ = time


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "/tmp/messages"), "--dark" in sys.argv)
