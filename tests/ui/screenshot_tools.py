"""Screenshots of tool calls in the real window, for the README (run under Xvfb).

A real window and store: a stored answer that called the calculator and the clock (its block opened), and an
answer waiting at the consent card for an MCP server's call. The model is not needed: the stored chat is what
the window re-renders, and the waiting call is the card the window shows.

    xvfb-run -s "-screen 0 1280x860x24" python -m tests.ui.screenshot_tools BLOCK.png CARD.png [--dark]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from app.chat.tool_steps import CallRecord, ToolStep

STEP = ToolStep(
    text="I'll work out the total and check today's date.",
    calls=[
        CallRecord(
            "call_1",
            "calculator",
            {"expression": "3 * 89.50 + 2 * 12.75"},
            source="builtin",
            tool="calculator",
            status="done",
            result="294",
            seconds=0.003,
        ),
        CallRecord(
            "call_2",
            "current_time",
            {"timezone": "Europe/Lisbon"},
            source="builtin",
            tool="current_time",
            status="done",
            result="2026-12-02 10:41 (Wednesday), Europe/Lisbon (UTC+00:00)",
            seconds=0.001,
        ),
    ],
)
ANSWER = "Three nights at €89.50 and two dinners at €12.75 come to **€294**, as of Wednesday 2 December."

ARGS = {
    "path": "~/projects/lisbon-trip",
    "pattern": "**/*.md",
    "recursive": True,
    "options": {"include_hidden": False, "max_results": 200},
}


def main(block_png: Path, card_png: Path) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.settings import Settings
    from app.store import Store
    from app.tools.consent import ConsentRequest
    from app.tools.model import ToolSpec
    from app.tools.toolbox import OfferedTool
    from app.ui.chat.consent_card import ConsentCard
    from app.ui.shell.app import create_window

    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    settings = Settings.load()
    settings.set("theme", "dark" if "--dark" in sys.argv else "light")
    settings.save()
    store, _ = Store.open_or_recover()
    ask = store.create_conversation(title="Ask before a tool runs")
    user = store.add_message(ask.id, parent_id=None, role="user", content="Which notes do I have for the trip?")
    chat = store.create_conversation(title="Trip budget")
    user = store.add_message(
        chat.id, parent_id=None, role="user", content="3 nights at €89.50 and 2 dinners at €12.75: total? And the date?"
    )
    answer = store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER, model="Gemma 4 E4B")
    store.update_message(answer.id, status="complete", tools=[STEP.to_json()])
    store.close()

    window = create_window(app)
    window.resize(1100, 760)
    window.show()

    def open_budget() -> None:
        window.controller.open_conversation(chat.id, expand)

    def expand() -> None:
        blocks = list(window.chat.messages[1].tools.blocks.values())
        blocks[0].set_expanded(True)
        QTimer.singleShot(400, lambda: shoot(block_png, open_ask))

    def open_ask() -> None:
        window.controller.open_conversation(ask.id, lambda: QTimer.singleShot(300, show_card))

    def show_card() -> None:
        widget = window.chat.add_message("assistant", "Gemma 4 E4B")
        widget.begin_stream()
        spec = ToolSpec("find_files", "Lists files under a folder that match a pattern.", source="notes")
        record = CallRecord("call_1", "find_files", ARGS, source="notes", tool="find_files")
        (block,) = widget.tools.add_step("", "I'll look for your trip notes.", [record])
        card = ConsentCard(ConsentRequest("call_1", OfferedTool("find_files", spec, "notes"), ARGS), block)
        block.consent_slot.addWidget(card)
        card.focus()
        QTimer.singleShot(400, lambda: shoot(card_png, app.quit))

    def shoot(out: Path, then: object) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        window.notice_bar.hide()  # (no model here: the machine check's notice is not the subject)
        window.grab().save(str(out))
        print(f"saved {out}")
        QTimer.singleShot(100, then)  # type: ignore[arg-type]

    QTimer.singleShot(300, open_budget)
    app.exec()
    window.close()
    _ = user


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "/tmp/tool_block.png"), Path(args[1] if len(args) > 1 else "/tmp/consent_card.png"))
