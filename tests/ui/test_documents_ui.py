"""Documents in the real window: chips with token counts from the tiny Gemma 4, long pastes, the page picker,
the context meter and its offers, and document cards in the conversation. Real files written by the tests
(PDFs with fpdf2), offscreen Qt, the real engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fpdf import FPDF
from PIL import Image
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.engine import GenerateRequest
from app.media.documents import Document, PageChoice
from app.settings import Settings
from app.ui.composer.composer import MAX_ATTACHMENTS, Composer
from app.ui.composer.document_chip import DocumentTile
from app.ui.composer.page_picker import PICTURE
from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import WindowFactory
from tests.ui.test_main_window import configure as main_window_configure
from tests.ui.test_main_window import stored_path, wait_idle

pytestmark = pytest.mark.gui

CODE = '''"""Sums and products."""


def add(a: int, b: int) -> int:
    return a + b  # the sum


def product(values: list[int]) -> int:
    result = 1
    for value in values:
        result *= value
    return result
'''


# --- real files -------------------------------------------------------------------------------------------


def write_pdf(path: Path, pages: list[str], scan_page: int | None = None) -> Path:
    """A PDF with one page per text; ``scan_page`` (1-based) is a picture of noise with no text (a scan)."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for number, text in enumerate(pages, 1):
        pdf.add_page()
        if number == scan_page:
            picture = path.with_suffix(f".scan{number}.png")
            noise = np.random.default_rng(number).integers(0, 255, (200, 160, 3), dtype=np.uint8)
            Image.fromarray(noise).save(picture)
            pdf.image(str(picture), x=20, y=20, w=160)
        else:
            pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def page_text(number: int) -> str:
    return f"Page {number} of the quarterly report. " + " ".join(f"item{number}x{i}" for i in range(30))


# --- windows ----------------------------------------------------------------------------------------------


def configure(**values: object) -> None:
    """Settings for these windows: answers of 8 tokens (the documents are what is tested)."""
    main_window_configure(**{"max_tokens": 8, **values})


def document_tiles(composer: Composer) -> list[DocumentTile]:
    return [t for t in composer.tray.tiles() if isinstance(t, DocumentTile)]


def wait_counted(qtbot: QtBot, composer: Composer, count: int, timeout: int = 20_000) -> list[DocumentTile]:
    """Wait until ``count`` document chips are read and counted by the model (no "~", no "counting…")."""

    def counted() -> bool:
        tiles = document_tiles(composer)
        return (
            len(tiles) == count
            and composer.pending_decodes() == 0
            and all(t.tokens.endswith("tokens") and not t.tokens.startswith("~") for t in tiles)
        )

    qtbot.waitUntil(counted, timeout=timeout)
    return document_tiles(composer)


def tokens_of(tile: DocumentTile) -> int:
    return int(tile.tokens.split()[0].lstrip("~").replace(",", ""))


def record_requests(window: MainWindow) -> list[GenerateRequest]:
    """Keep every request the window gives its engine (the real engine still answers it)."""
    seen: list[GenerateRequest] = []
    generate = window.bridge.generate

    def keep(request: GenerateRequest) -> int:
        seen.append(request)
        return generate(request)

    window.bridge.generate = keep  # type: ignore[method-assign]
    return seen


# --- long pastes ------------------------------------------------------------------------------------------


@pytest.fixture
def composer(qtbot: QtBot) -> Iterator[Composer]:
    widget = Composer()
    qtbot.addWidget(widget)
    widget.set_capabilities(model_loaded=True, vision=True, audio=True, model_name="Gemma 4 E4B")
    widget.resize(720, 220)
    widget.show()
    qtbot.waitExposed(widget)
    widget.focus_input()
    yield widget
    qtbot.waitUntil(lambda: widget.pending_decodes() == 0, timeout=10_000)


def _paste(composer: Composer, text: str) -> None:
    mime = QMimeData()
    mime.setText(text)
    composer.input.insertFromMimeData(mime)


def test_a_long_paste_becomes_a_chip_and_goes_back_byte_for_byte(qtbot: QtBot, composer: Composer) -> None:
    rng = np.random.default_rng(7)
    words = ["naïve", "café", "δ", "tab\there", "  two  spaces", "emoji 🙂", "line\n", "back\\slash", '"q"']
    text = "".join(str(rng.choice(words)) + " " for _ in range(1200))[:5000]
    composer.set_text("Before  after")
    cursor = composer.input.textCursor()
    cursor.setPosition(len("Before "))
    composer.input.setTextCursor(cursor)
    _paste(composer, text)
    qtbot.waitUntil(lambda: len(composer.attachments()) == 1, timeout=10_000)
    assert composer.text() == "Before  after"  # the box is not flooded
    [tile] = document_tiles(composer)
    assert tile.name == "Pasted text.txt" and tile.paste_button.isVisible()
    assert "tokens" in tile.detail.text()  # "~1,250 tokens": estimated, no model here
    document = composer.attachments()[0].payload
    assert isinstance(document, Document) and document.text == text
    qtbot.mouseClick(tile.paste_button, Qt.MouseButton.LeftButton)
    assert composer.text() == "Before " + text + " after"
    assert composer.attachments() == [] and composer.tray.isHidden()


def test_a_short_paste_stays_text(qtbot: QtBot, composer: Composer) -> None:
    text = "x" * 2000
    _paste(composer, text)
    assert composer.text() == text
    assert composer.intake.count() == 0


def test_a_long_paste_with_no_room_left_goes_in_as_text(qtbot: QtBot, composer: Composer) -> None:
    notices: list[str] = []
    composer.noticeRequested.connect(notices.append)
    for i in range(MAX_ATTACHMENTS):
        _paste(composer, f"paste {i} " + "y" * 2100)
    qtbot.waitUntil(lambda: len(composer.attachments()) == MAX_ATTACHMENTS, timeout=10_000)
    text = "the one too many " * 200
    _paste(composer, text)
    assert composer.text() == text  # not lost: in the box, as a short paste would be
    assert notices == [f"Only {MAX_ATTACHMENTS} attachments fit in one message; 1 was left out."]


# --- chips, sending and cards -------------------------------------------------------------------------------


def test_code_and_pdf_chips_count_tokens_send_and_show_as_cards(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    code = tmp_path / "sums.py"
    code.write_text(CODE, encoding="utf-8")
    report = write_pdf(tmp_path / "report.pdf", [page_text(1), page_text(2), ""], scan_page=3)
    picture = tmp_path / "chart.png"
    Image.fromarray(np.random.default_rng(5).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(picture)
    configure(context_size=4096)
    window = open_window(tiny_model, tiny_mmproj)
    requests = record_requests(window)
    window.composer.add_files([code, report, picture])
    tiles = wait_counted(qtbot, window.composer, 2)
    [picture_tile] = [t for t in window.composer.tray.tiles() if not isinstance(t, DocumentTile)]
    qtbot.waitUntil(lambda: picture_tile.tokens.endswith("tokens"), timeout=10_000)
    assert not picture_tile.tokens.startswith("~")  # counted by the model, as documents are
    assert picture_tile.toolTip().endswith(picture_tile.tokens)
    picture_tile.remove_button.click()  # this test is about the documents
    by_name = {t.name: t for t in tiles}
    assert by_name["report.pdf"].detail.text().startswith("3 pages · ")
    code_tokens, pdf_tokens = tokens_of(by_name["sums.py"]), tokens_of(by_name["report.pdf"])
    assert code_tokens > 20 and pdf_tokens > code_tokens  # two pages of text and a page picture
    window.composer.set_text("Summarise both.")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=10_000)
    wait_idle(qtbot, window)
    [request] = requests
    sent = "".join(p.text for p in request.messages[-1].parts if p.type == "text")
    assert "sums.py" in sent and "def product(values: list[int]) -> int:" in sent
    assert "report.pdf" in sent and "item2x29" in sent
    assert sum(p.type == "image" for p in request.messages[-1].parts) == 1  # the scanned third page
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "complete", timeout=10_000)
    stats = stored_path(window)[1].stats
    assert stats["media_encoded"] == 1 and stats["prompt_tokens"] >= code_tokens + pdf_tokens
    user = window.chat.messages[0]
    cards = {card.name: card for card in user.document_cards}
    assert set(cards) == {"sums.py", "report.pdf"}
    qtbot.waitUntil(lambda: all(c.preview is not None for c in cards.values()), timeout=10_000)
    cards["sums.py"].expand_button.click()
    assert cards["sums.py"].text_view.isVisible()
    assert cards["sums.py"].text_view.toPlainText() == CODE.rstrip("\n")
    assert cards["report.pdf"].detail.text().startswith("PDF · 3 pages · 1 as picture · ")


def test_a_reopened_chat_shows_its_document_cards(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tmp_path: Path
) -> None:
    code = tmp_path / "sums.py"
    code.write_text(CODE, encoding="utf-8")
    configure()
    window = open_window(tiny_model)
    window.composer.add_files([code])
    wait_counted(qtbot, window.composer, 1)
    window.composer.set_text("What does this do?")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=10_000)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: stored_path(window)[1].status == "complete", timeout=10_000)
    code.unlink()  # the chat keeps its own copy
    window.close()
    again = open_window()

    def shown() -> bool:
        messages = again.chat.messages
        return len(messages) == 2 and all(c.preview is not None for c in messages[0].document_cards)

    qtbot.waitUntil(shown, timeout=10_000)
    [card] = again.chat.messages[0].document_cards
    card.set_expanded(True)
    assert card.text_view.toPlainText() == CODE.rstrip("\n")
    assert card.detail.text().startswith("Python · ")


# --- the page picker ----------------------------------------------------------------------------------------


def test_picking_pages_and_a_picture_page_rereads_the_chip(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tiny_mmproj: Path, tmp_path: Path
) -> None:
    report = write_pdf(tmp_path / "report.pdf", [page_text(n) for n in range(1, 5)])
    configure(context_size=4096)
    window = open_window(tiny_model, tiny_mmproj)
    composer = window.composer
    composer.add_files([report])
    [tile] = wait_counted(qtbot, composer, 1)
    before = tokens_of(tile)
    assert tile.pages_button.isVisible()
    assert [a.text() for a in tile.context_menu().actions()] == ["Pages…", "Remove"]
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)  # a click on the chip opens the picker too
    qtbot.waitUntil(lambda: composer.documents.page_picker is not None, timeout=10_000)
    picker = composer.documents.page_picker
    assert picker is not None and picker.range_field.text() == "1-4"
    picker.range_field.clear()
    qtbot.keyClicks(picker.range_field, "2-3")
    model = picker.model
    model.setData(model.index(2, PICTURE), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)  # page 3
    assert "2 of 4 pages, 1 as picture" in picker.total.text()
    picker.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    [tile] = wait_counted(qtbot, composer, 1)
    document = composer.attachments()[0].payload
    assert isinstance(document, Document)
    assert document.choice == PageChoice((2, 3), (3,))
    assert [s.number for s in document.sections] == [2, 3] and [s.number for s in document.pictures] == [3]
    assert tile.detail.text().startswith("2 of 4 pages · ")
    assert tokens_of(tile) != before


def test_a_decks_slides_are_picked_the_same_way(qtbot: QtBot, composer: Composer, tmp_path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    for n in range(1, 4):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Slide title {n}"
        slide.placeholders[1].text = f"Point {n}: " + "details " * 12
    path = tmp_path / "deck.pptx"
    deck.save(str(path))
    composer.add_files([path])
    qtbot.waitUntil(lambda: len(composer.attachments()) == 1, timeout=10_000)
    [tile] = document_tiles(composer)
    assert tile.detail.text().startswith("3 slides · ") and tile.pages_button.text() == "Slides…"
    tile.pages_button.click()
    qtbot.waitUntil(lambda: composer.documents.page_picker is not None, timeout=10_000)
    picker = composer.documents.page_picker
    assert picker is not None and picker.windowTitle() == "Slides of deck.pptx"
    assert not picker.model.flags(picker.model.index(0, PICTURE)) & Qt.ItemFlag.ItemIsUserCheckable
    picker.range_field.clear()
    qtbot.keyClicks(picker.range_field, "2")
    picker.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: tile.detail.text().startswith("1 of 3 slides · "), timeout=10_000)
    document = composer.attachments()[0].payload
    assert isinstance(document, Document) and "Slide title 2" in document.text and "Slide title 1" not in document.text


# --- too long for the context -------------------------------------------------------------------------------


def test_a_document_too_big_for_the_context_blocks_send_and_reload_makes_room(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("".join(f"Line {i}: the measured value was {i * 7} units.\n" for i in range(150)))
    configure(context_size=2048)
    window = open_window(tiny_model)
    composer = window.composer
    composer.add_files([notes])
    [tile] = wait_counted(qtbot, composer, 1)
    tokens = tokens_of(tile)
    assert 2048 < tokens < 6000, tokens
    composer.set_text("Which line has 700 units?")
    assert composer.meter.isVisible()
    assert composer.meter.text().endswith(" of 2,048 tokens")
    assert not composer.send_button.isEnabled()
    assert "more than the model's context of 2,048" in composer.send_button.toolTip()
    bar = composer.overflow_bar
    qtbot.waitUntil(lambda: bar.button("Reload with a") is not None, timeout=20_000)
    assert "the model reloads" in bar.label.text()
    reload = bar.button("Reload with a")
    assert reload is not None and reload.isVisible()
    bar.close_button.click()  # dismissed: it stays away while the message is still too long…
    qtbot.keyClicks(composer.input, " Thanks!")
    assert bar.isHidden() and not composer.send_button.isEnabled()
    wanted = window.context_offers.reloading_to
    reload.click()
    target = window.context_offers.reloading_to
    assert target > wanted and target >= tokens
    qtbot.waitUntil(
        lambda: window.bridge.model_info is not None and window.bridge.model_info.n_ctx == target, timeout=30_000
    )
    wait_counted(qtbot, composer, 1)
    qtbot.waitUntil(composer.send_button.isEnabled, timeout=10_000)
    assert bar.isHidden()
    assert Settings.load().get_int("context_size") == target


def test_a_document_over_the_models_largest_context_is_refused_in_one_line(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tmp_path: Path
) -> None:
    lines = [f"Line {i}: the measured value was {i * 7} units." for i in range(1000)]
    notes = write_pdf(tmp_path / "notes.pdf", ["\n".join(lines[i : i + 50]) for i in range(0, 1000, 50)])
    configure(context_size=2048)
    window = open_window(tiny_model)
    composer = window.composer
    composer.add_files([notes])
    [tile] = wait_counted(qtbot, composer, 1, timeout=40_000)
    tokens = tokens_of(tile)
    info = window.bridge.model_info
    assert info is not None and tokens > info.n_ctx_train
    bar = composer.overflow_bar
    qtbot.waitUntil(bar.isVisible, timeout=10_000)
    assert bar.label.text() == (
        f"notes.pdf is {tokens:,} tokens; {info.name} holds at most {info.n_ctx_train:,} even at its largest context."
    )
    assert bar.button("Reload") is None
    assert not composer.send_button.isEnabled()
    pick = bar.button("Pick pages")
    assert pick is not None
    pick.click()
    qtbot.waitUntil(lambda: composer.documents.page_picker is not None, timeout=10_000)


def test_a_pdf_with_too_many_pages_opens_the_picker_instead_of_failing(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tmp_path: Path
) -> None:
    long_pdf = write_pdf(tmp_path / "manual.pdf", [f"Section {n}." for n in range(1, 502)])
    configure()
    window = open_window(tiny_model)
    composer = window.composer
    composer.add_files([long_pdf])
    qtbot.waitUntil(lambda: composer.documents.page_picker is not None, timeout=20_000)
    [tile] = document_tiles(composer)
    assert tile.page_count == 501 and tile.pages_button.text() == "Pick pages…"
    assert "Choose the pages of manual.pdf" in composer.send_button.toolTip()
    picker = composer.documents.page_picker
    assert picker is not None and picker.range_field.text() == "1-500"
    picker.range_field.clear()
    qtbot.keyClicks(picker.range_field, "1-20")
    picker.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert tile.attachment is None and tile.detail.text() == "Reading…"  # read again in the background
    [tile] = wait_counted(qtbot, composer, 1)
    assert tile.detail.text().startswith("20 of 501 pages · ")


def test_a_pdf_saved_without_its_suffix_is_picked_as_a_pdf(tmp_path: Path) -> None:
    """Its pages may go as pictures and its page limits apply, as for any PDF (judged by its first bytes)."""
    from app.ui.composer.documents import page_summaries
    from tests.media.documents.sample_files import write_pdf

    bare = write_pdf(tmp_path / "notes.pdf", ["one " * 30, "two " * 30]).rename(tmp_path / "scan-0042")
    pdf, pages = page_summaries(bare, bare.name)
    assert pdf and [p.label for p in pages] == ["Page 1", "Page 2"]
