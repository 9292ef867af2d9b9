"""The chat's look, read from the real window the way a user sees it: user and model turns apart, the answer's
footer, the code block's language badge, the welcome page's model cards and the starter prompts of an empty chat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from pytestqt.qtbot import QtBot

from app.models.advice import advise
from app.models.catalog import load_catalog
from app.models.speed import Speeds
from app.render.markdown import LIGHT
from app.ui.chat.message_widget import MessageWidget
from app.ui.model_setup.welcome_page import WelcomePage
from app.ui.shell.main_window import MainWindow
from tests.models.test_speed import DESKTOP
from tests.ui.conftest import WindowFactory
from tests.ui.test_main_window import configure, send, wait_idle
from tests.ui.test_speed_ui import desktop

pytestmark = pytest.mark.gui


def distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def test_user_and_model_turns_look_apart_and_the_answer_has_a_footer(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    configure(max_tokens=40)
    window = open_window(tiny_model)
    window.resize(1000, 700)
    send(qtbot, window, "Hello there")
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5000)
    wait_idle(qtbot, window)
    user, answer = window.chat.messages
    qtbot.waitUntil(lambda: user.bubble_x > 0, timeout=5000)
    # The user's short message sits at the right; the answer starts at the left of the column.
    user_left = user.body.mapTo(window, QPoint(0, 0)).x()
    answer_left = answer.body.mapTo(window, QPoint(0, 0)).x()
    assert user_left > answer_left + user.width() // 3
    assert user.width() - (user.body.geometry().right() + 1) <= 16  # flush with the right edge (its padding)
    # Its bubble has a colour of its own: inside differs from outside it, and from the answer's background.
    shot = window.grab().toImage()
    middle = user.mapTo(window, QPoint(0, user.height() // 2))
    inside = shot.pixelColor(middle.x() + user.width() - 6, middle.y())
    outside = shot.pixelColor(middle.x() + 4, middle.y())
    under_answer = shot.pixelColor(answer.mapTo(window, QPoint(answer.width() - 4, 4)))
    assert distance(inside, outside) > 12 and distance(inside, under_answer) > 12
    assert distance(outside, under_answer) <= 6  # the answer has no bubble: the column's own background
    # The model's turn names itself and the model; the user's does not claim to be Gemma.
    assert answer.title.text() == "Gemma" and not answer.avatar.isHidden()
    assert answer.model_name is not None and "Tiny Gemma 4" in answer.model_name.text()
    assert "Gemma" not in user.title.text()
    # A quiet footer: when, how soon the first token came, the speed and the tokens.
    footer = answer.footer.text()
    assert re.match(r"\d\d:\d\d · [\d.]+ s to first token · [\d.]+ tok/s · \d+ tokens?$", footer), footer
    assert answer.footer.foregroundRole() == QPalette.ColorRole.PlaceholderText  # muted, yet readable (WCAG AA)


def test_a_code_block_header_shows_its_language_badge(qtbot: QtBot) -> None:
    message = MessageWidget("assistant", "Gemma 4 E4B", LIGHT)
    qtbot.addWidget(message)
    message.resize(700, 400)
    message.show()
    message.set_content("Here:\n\n```python\nprint('hi')\n```\n")
    doc = message.body.stable.document()
    badges = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().background().color().name() == LIGHT.badge_bg:
                badges.append(fragment.text().strip())
            it += 1
        block = block.next()
    assert badges == ["python"]
    assert "Copy" in doc.toPlainText() and "Save as…" in doc.toPlainText()


def test_welcome_cards_show_what_each_offered_model_can_do(qtbot: QtBot, tmp_path: Path) -> None:
    catalog = load_catalog()
    hw = desktop(96)
    advice = advise(catalog, hw, speeds=Speeds(DESKTOP))
    assert advice.pick is not None and advice.for_voice is not None
    page = WelcomePage()
    qtbot.addWidget(page)
    page.set_machine(hw, tmp_path, advice.pick, None, None, advice)
    pick, voice = page.cards
    assert pick.role.text() == "Recommended" and voice.role.text() == "For voice"
    assert "Sees pictures" in pick.abilities.text() and "Hears" not in pick.abilities.text()  # 26B A4B
    assert "Sees pictures" in voice.abilities.text() and "Hears" in voice.abilities.text()  # E4B
    assert re.search(r"about \d+\stok/s here", pick.facts.text()) and "GB download" in pick.facts.text()
    # Without a speed estimate the card says nothing of speed; a pick that hears needs no second card.
    plain = advise(catalog, desktop(12))
    page.set_machine(desktop(12), tmp_path, plain.pick, None, None, plain)
    (only,) = page.cards
    assert "Hears" in only.abilities.text() and "tok/s" not in only.facts.text()
    assert page.cards_box.isVisibleTo(page)


def starter_button(window: MainWindow, title: str):  # type: ignore[no-untyped-def]
    return next(b for b in window.chat.starters.buttons if b.accessibleName() == title)


def test_starters_follow_the_model_and_fill_the_composer(
    qtbot: QtBot, open_window: WindowFactory, text_only_model: Path
) -> None:
    configure(max_tokens=8)
    window = open_window(text_only_model)
    starters = window.chat.starters
    qtbot.waitUntil(lambda: starters.isVisible(), timeout=5000)
    titles = starters.titles
    assert "Explain a concept simply" in titles and "Help me write an email" in titles
    assert not {"Describe a picture", "Turn a screenshot into HTML", "Ask by voice"} & set(titles)
    qtbot.mouseClick(starter_button(window, "Help me write an email"), Qt.MouseButton.LeftButton)
    assert window.composer.text().startswith("Help me write a short, friendly email")
    qtbot.waitUntil(lambda: window.composer.input.hasFocus(), timeout=3000)
    assert window.chat.messages == []  # filled, not sent
    qtbot.keyClicks(window.composer.input, "my landlord, the heating is broken")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2, timeout=5000)
    assert not starters.isVisible()  # gone once the chat has a message
    wait_idle(qtbot, window)


def test_a_model_that_sees_and_hears_gets_picture_and_voice_starters(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tiny_mmproj: Path
) -> None:
    window = open_window(tiny_model, tiny_mmproj)
    starters = window.chat.starters
    qtbot.waitUntil(lambda: "Ask by voice" in starters.titles, timeout=5000)
    assert {"Describe a picture", "Turn a screenshot into HTML"} <= set(starters.titles)
    qtbot.mouseClick(starter_button(window, "Describe a picture"), Qt.MouseButton.LeftButton)
    assert window.composer.text().startswith("Describe this picture")
    assert "add the picture" in window.notice_bar.label.text() and window.notice_bar.isVisible()
    qtbot.mouseClick(starter_button(window, "Ask by voice"), Qt.MouseButton.LeftButton)
    assert "microphone" in window.notice_bar.label.text()
