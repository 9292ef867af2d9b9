"""Screenshot of a chat with a document, for the README (run under xvfb-run).

A real window and store: a user message with a Python file and a PDF attached (stored as the app stores
them, read back by the document cards), the code file's card expanded, and a scripted answer (the tiny test
model writes random text). The composer holds a PDF chip with its token count, estimated as before a model is
loaded.

    xvfb-run -s "-screen 0 1280x860x24" uv run python -m tests.ui.screenshot_document resources/screenshots/document.png
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

CODE = '''"""Reading temperature logs."""

import csv
from statistics import mean


def daily_means(path: str) -> dict[str, float]:
    """The mean temperature of each day in a CSV log (date, time, celsius)."""
    by_day: dict[str, list[float]] = {}
    with open(path, newline="") as file:
        for date, _time, celsius in csv.reader(file):
            by_day.setdefault(date, []).append(float(celsius))
    return {day: mean(values) for day, values in by_day.items()}
'''

QUESTION = "Why does daily_means crash on the attached log? The report explains the format."

ANSWER = """The log starts with a **header row** (`date,time,celsius`, page 1 of the report), so the first
`float(celsius)` call gets the word `"celsius"` and raises `ValueError`.

Skip the header and tolerate blank lines:

```python
with open(path, newline="") as file:
    rows = csv.reader(file)
    next(rows, None)  # the header
    for row in rows:
        if len(row) == 3:
            date, _time, celsius = row
            by_day.setdefault(date, []).append(float(celsius))
```

The report also says missing readings are written as `NA` (page 2); add `if celsius == "NA": continue`
before converting."""


def _pdf(path: Path) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in (
        "Temperature log format. Each file starts with the header row date,time,celsius.",
        "Missing readings are written as NA. Times are local, 24-hour clock.",
        "Sensors are calibrated every spring; see the appendix for the procedure.",
    ):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def main(out: Path) -> None:
    os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.store import Store
    from app.ui.shell.app import create_window

    work = Path(tempfile.mkdtemp(prefix="gemma-desk-doc-"))
    code = work / "temperatures.py"
    code.write_text(CODE, encoding="utf-8")
    report = _pdf(work / "log-format.pdf")
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    store, _ = Store.open_or_recover()
    for title in ("Trip to Lisbon: 3-day plan", "Explain this error log"):
        c = store.create_conversation(title=title)
        store.add_message(c.id, parent_id=None, role="user", content=title)
    chat = store.create_conversation(title="Why does daily_means crash?")
    refs = [
        store.store_attachment_file(code, code.name, "document", "text/x-python"),
        store.store_attachment_file(report, report.name, "document", "application/pdf"),
    ]
    user = store.add_message(chat.id, parent_id=None, role="user", content=QUESTION, attachments=refs)
    answer = store.add_message(chat.id, parent_id=user.id, role="assistant", content=ANSWER, model="Gemma 4 E4B it")
    store.update_message(answer.id, stats={"completion_tokens": 168, "decode_tps": 14.2, "ttft_s": 0.41})
    store.close()

    window = create_window(app)
    window.resize(1240, 820)
    window.show()
    window.status.model_label.setText("Gemma 4 E4B it · Q4_K_M · CPU · vision, audio")
    window.composer.set_capabilities(model_loaded=True, vision=True, audio=True, model_name="Gemma 4 E4B it")
    window.media.set_model(loaded=True, vision=True, audio=True, name="Gemma 4 E4B it")

    def start() -> None:
        window.controller.open_conversation(chat.id, expand)
        window.composer.add_files([report])
        window.composer.set_text("And what does the appendix say about calibration?")

    def expand() -> None:
        cards = window.chat.messages[0].document_cards
        if not cards or any(card.preview is None for card in cards):
            QTimer.singleShot(100, expand)
            return
        cards[0].set_expanded(True)
        QTimer.singleShot(600, shoot)

    def shoot() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        window.chat.verticalScrollBar().setValue(0)  # the message with its documents, from its top
        QApplication.processEvents()
        window.chat.jump_button.hide()
        window.grab().save(str(out))
        print(f"saved {out}")
        window.close()
        app.quit()

    QTimer.singleShot(200, start)
    app.exec()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "resources/screenshots/document.png"))
