"""The context meter's arithmetic and the page picker, with real widgets (offscreen) and no model."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.chat.budget import ContextBudget, answer_room, format_context, history_tokens
from app.media.documents import Document, PageChoice, Section
from app.store import Message
from app.ui.chat.document_view import MAX_LINES, DocumentCard, preview_of
from app.ui.composer.context_meter import ContextMeter
from app.ui.composer.context_offers import context_for
from app.ui.composer.intake import file_filter
from app.ui.composer.page_picker import PICTURE, PagePicker, PageSummary

pytestmark = pytest.mark.gui


def _message(role: str, content: str, stats: dict[str, object] | None = None) -> Message:
    return Message(1, 1, None, role, content, "", None, "complete", None, stats, None, 0.0, 0.0)  # type: ignore[arg-type]


# --- the budget ---------------------------------------------------------------------------------------------


def test_budget_is_hidden_when_small_and_warns_near_the_limit(qtbot: QtBot) -> None:
    meter = ContextMeter()
    qtbot.addWidget(meter)
    meter.show_budget(ContextBudget(history=1000, attachments=2000, draft=100, n_ctx=12_288))
    assert meter.isHidden()
    meter.show_budget(ContextBudget(history=4000, attachments=3000, draft=100, n_ctx=12_288))
    assert not meter.isHidden() and meter.text() == "7,116 of 12,288 tokens"
    assert "font-weight" not in meter.styleSheet()
    meter.show_budget(ContextBudget(history=10_000, attachments=1000, draft=100, n_ctx=12_288))
    assert meter.budget.state == "warning" and "#b26a00" in meter.styleSheet()


def test_a_message_that_alone_does_not_fit_is_blocked_with_a_reason() -> None:
    budget = ContextBudget(history=0, attachments=38_200, draft=10, n_ctx=12_288)
    assert budget.state == "blocked"
    assert budget.text() == "38,226 of 12,288 tokens"
    reason = budget.blocker()
    assert reason is not None and "38,226 tokens" in reason and "12,288" in reason and "pick pages" in reason
    # The same message in a long conversation that does fit alone: sent, the oldest messages left out.
    overflow = ContextBudget(history=11_000, attachments=2000, draft=10, n_ctx=12_288)
    assert overflow.state == "overflow" and overflow.blocker() is None
    assert budget.needed() >= 38_226 + answer_room(38_226)


def test_context_sizes_offered_are_round_and_capped() -> None:
    assert context_for(38_226 + 1024, 131_072) == 49_152
    assert format_context(49_152) == "48K"
    assert format_context(12_288) == "12K"
    assert format_context(10_000) == "10,000"
    assert context_for(3000, 8192) == 3072
    assert context_for(200_000, 131_072) == 131_072


def test_history_is_the_last_answers_context_plus_what_came_after() -> None:
    path = [
        _message("user", "hi"),
        _message("assistant", "hello", {"context_used": 1500}),
        _message("user", "x" * 400),
    ]
    assert history_tokens(path) == 1500 + 100 + 16
    assert history_tokens([]) == 0
    assert history_tokens([_message("user", "y" * 40)]) == 10 + 16  # no answer yet: estimated


def test_file_picker_offers_documents() -> None:
    filters = file_filter().split(";;")
    assert any(f.startswith("Documents") and "*.pdf" in f and "*.py" in f and "*.docx" in f for f in filters)
    assert "*.md" in filters[0] and "*.png" in filters[0]


# --- the page picker ----------------------------------------------------------------------------------------


@pytest.fixture
def picker(qtbot: QtBot) -> Iterator[PagePicker]:
    pages = [PageSummary(n, f"Page {n}", 0 if n == 3 else 1200) for n in range(1, 7)]
    dialog = PagePicker("report.pdf", pages, PageChoice(), vision=True, picture_tokens=280)
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog


def _ok(dialog: PagePicker) -> QDialogButtonBox:
    return dialog.buttons


def test_page_picker_starts_with_every_page_and_scans_as_pictures(picker: PagePicker) -> None:
    assert picker.range_field.text() == "1-6"
    assert picker.choice() == PageChoice((), (3,))
    assert picker.estimate() == 5 * (300 + 2) + 280 + 12
    assert "6 of 6 pages, 1 as picture" in picker.total.text()


def test_typing_a_range_and_toggling_pictures_update_the_estimate(qtbot: QtBot, picker: PagePicker) -> None:
    picker.range_field.clear()
    qtbot.keyClicks(picker.range_field, "2-3, 5")
    assert picker.choice() == PageChoice((2, 3, 5), (3,))
    before = picker.estimate()
    model = picker.model
    model.setData(model.index(1, PICTURE), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)  # page 2
    assert picker.choice() == PageChoice((2, 3, 5), (2, 3))
    assert picker.estimate() != before
    assert "3 of 6 pages, 2 as pictures" in picker.total.text()
    # Unticking a page rewrites the range.
    model.setData(model.index(4, 0), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)  # page 5
    assert picker.range_field.text() == "2-3"


def test_a_bad_range_says_why_and_disables_ok(qtbot: QtBot, picker: PagePicker) -> None:
    ok = picker.buttons.button(QDialogButtonBox.StandardButton.Ok)
    picker.range_field.clear()
    qtbot.keyClicks(picker.range_field, "2-9")
    assert not ok.isEnabled()
    assert picker.error.text() == "There are only 6 pages."
    picker.range_field.clear()
    qtbot.keyClicks(picker.range_field, "4")
    assert ok.isEnabled() and picker.error.isHidden()


def test_pictures_cannot_be_chosen_without_vision(qtbot: QtBot) -> None:
    pages = [PageSummary(1, "Page 1", 0), PageSummary(2, "Page 2", 900)]
    dialog = PagePicker("scan.pdf", pages, PageChoice(), vision=False, picture_tokens=280)
    qtbot.addWidget(dialog)
    assert dialog.choice() == PageChoice((), ())
    flags = dialog.model.flags(dialog.model.index(0, PICTURE))
    assert not flags & Qt.ItemFlag.ItemIsUserCheckable


def test_ten_thousand_pages_open_quickly_and_a_limit_is_kept(qtbot: QtBot) -> None:
    pages = [PageSummary(n, f"Page {n}", 2000) for n in range(1, 10_001)]
    start = time.perf_counter()
    dialog = PagePicker("huge.pdf", pages, PageChoice(), vision=True, picture_tokens=280, max_pages=500)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert time.perf_counter() - start < 1.0
    assert dialog.range_field.text() == "1-500"
    dialog.range_field.clear()
    qtbot.keyClicks(dialog.range_field, "1-501")
    assert dialog.error.text() == "At most 500 pages can be sent at once."


# --- the document card --------------------------------------------------------------------------------------


def _code_document(lines: int) -> Document:
    text = "".join(f"print({i})  # line {i}\n" for i in range(lines))
    return Document("big.py", "Python", "python", (Section(1, "", text),), 1)


def test_a_megabyte_of_text_is_capped_and_costs_the_gui_thread_little(qtbot: QtBot) -> None:
    document = _code_document(50_000)  # ~1.3 MB
    assert len(document.text) > 1_000_000
    preview = preview_of(document)  # a worker thread's job
    assert preview.more_lines == 50_000 - MAX_LINES and preview.monospace
    card = DocumentCard("big.py", len(document.text), None)
    qtbot.addWidget(card)
    card.show()
    start = time.perf_counter()
    card.set_preview(preview)
    card.set_expanded(True)
    qtbot.waitExposed(card)
    assert time.perf_counter() - start < 0.2
    assert card.text_view.toPlainText().splitlines()[-1] == f"print({MAX_LINES - 1})  # line {MAX_LINES - 1}"
    assert card.more.text() == f"… {50_000 - MAX_LINES:,} more lines" and card.more.isVisible()
    assert card.detail.text() == "Python · 1.3 MB"
