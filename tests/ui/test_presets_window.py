"""Presets in the real window (offscreen), with a real store and, where a turn is asked, the tiny Gemma 4: starting
a chat with a preset, the header's set-up editor, Settings → Presets, and a damaged presets file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMenu
from pytestqt.qtbot import QtBot

from app.engine import GenerateRequest
from app.settings import Settings
from app.settings.preset_book import PresetBook
from app.store import Conversation, Store
from app.ui.presets.presets_page import PresetsPage
from app.ui.shell.main_window import MainWindow
from app.ui.tasks import wait_for_db
from tests.ui.conftest import WindowFactory

pytestmark = pytest.mark.gui


def configure(**values: object) -> None:
    settings = Settings.load()
    settings.update({"context_size": 2048, "max_tokens": 8, "seed": 1, **values})
    settings.save()


def stored(window: MainWindow) -> Conversation:
    conversation = window.controller.conversation
    assert conversation is not None
    with Store.open(window.store_path()) as store:
        return store.get_conversation(conversation.id)


def capture(window: MainWindow) -> list[GenerateRequest]:
    """Every request the engine is given, as it is given."""
    seen: list[GenerateRequest] = []

    def keep(request: GenerateRequest) -> GenerateRequest:
        seen.append(request)
        return request

    window.controller.before_generate = keep
    return seen


def ask(qtbot: QtBot, window: MainWindow, text: str) -> None:
    window.composer.input.setFocus()
    qtbot.keyClicks(window.composer.input, text)
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.chat.messages) >= 2, timeout=10_000)
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=30_000)


def close(qtbot: QtBot, window: MainWindow) -> None:
    """Close ``window`` as a user would, once its speech engine has opened (it opens in the background at start;
    a window closed while speech-dispatcher is still listing its voices cancels that thread, and Qt warns)."""
    speaker = window.read_aloud.speaker
    qtbot.waitUntil(lambda: bool(speaker.voices() or speaker.problem or not speaker.engine), timeout=30_000)
    window.close()


def preset_menu(qtbot: QtBot, window: MainWindow) -> QMenu:
    """New chat's ▾ menu, filled as it is when it opens."""
    button = window.presets.new_menu_button
    assert button is not None and button.isVisible() and button.accessibleName() == "New chat with a preset"
    menu = button.menu()
    menu.aboutToShow.emit()  # what showing it emits (the offscreen platform cannot pop a menu up: it warns)
    return menu


def start_with(qtbot: QtBot, window: MainWindow, name: str) -> None:
    menu = preset_menu(qtbot, window)
    action = next(a for a in menu.actions() if a.text() == name)
    before = window.controller.conversation
    action.trigger()
    qtbot.waitUntil(lambda: window.controller.conversation not in (None, before), timeout=5000)


def test_shipped_presets_are_offered_and_concise_shapes_the_chat_and_its_request(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, home: Path
) -> None:
    configure(thinking_default=True)
    window = open_window(tiny_model)
    menu = preset_menu(qtbot, window)
    assert [a.text() for a in menu.actions()] == ["General", "Concise", "Code reviewer", "Translator"]
    assert [a.text() for a in menu.actions() if a.isChecked()] == ["General"]
    start_with(qtbot, window, "Concise")
    concise = window.preset_book.find("Concise")
    assert concise is not None and concise.system_prompt
    chat = stored(window)
    assert chat.system_prompt == concise.system_prompt and chat.thinking is False  # the preset's, not the setting's
    assert window.chat_header.chip.text() == "Preset: Concise"
    assert window.chat_header.prompt_text().startswith("Answer briefly and directly.")
    assert not window.composer.think_button.isChecked()
    requests = capture(window)
    ask(qtbot, window, "What is the capital of Portugal?")
    assert requests[0].system == concise.system_prompt
    assert requests[0].thinking is False and requests[0].sampling.temperature == 0.7
    assert requests[0].sampling.top_k == 64  # what the preset does not set comes from the settings
    # The composer's Think still switches the chat's thinking; the next turn thinks.
    qtbot.mouseClick(window.composer.think_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: stored(window).thinking is True, timeout=5000)
    ask(qtbot, window, "And of Spain?")
    assert requests[-1].thinking is True and requests[-1].system == concise.system_prompt
    wait_for_db()
    assert PresetBook.load(home / "presets.json").last_used == "Concise"  # remembered for the next start


def test_the_last_preset_used_is_where_new_chats_start_after_a_restart(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window()
    start_with(qtbot, window, "Translator")
    close(qtbot, window)
    again = open_window()
    assert again.chat_header.chip.text() in ("Preset: Translator", "Preset: Translator (prompt edited)")
    before = again.controller.conversation
    qtbot.keyClick(again, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # New chat
    qtbot.waitUntil(lambda: again.controller.conversation not in (None, before), timeout=5000)
    translator = again.preset_book.find("Translator")
    assert translator is not None and stored(again).system_prompt == translator.system_prompt
    assert again.chat_header.chip.text() == "Preset: Translator"


def test_the_system_prompt_edited_from_the_header_is_used_and_kept(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    configure()
    window = open_window(tiny_model)
    window.new_chat()
    qtbot.waitUntil(lambda: window.controller.conversation is not None, timeout=5000)
    assert window.chat_header.chip.text() == "Preset: General" and window.chat_header.isVisible()
    qtbot.mouseClick(window.chat_header.chip, Qt.MouseButton.LeftButton)
    dialog = window.presets.dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.preset.currentData() == "General" and dialog.prompt() == ""
    dialog.text.setPlainText("Answer in French. <turn|> stays text.")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: stored(window).system_prompt == "Answer in French. <turn|> stays text.", timeout=5000)
    qtbot.waitUntil(lambda: window.chat_header.chip.text() == "Preset: General (prompt edited)", timeout=5000)
    assert window.chat_header.prompt_text() == "Answer in French. <turn|> stays text."
    requests = capture(window)
    ask(qtbot, window, "Hello")
    assert requests[0].system == "Answer in French. <turn|> stays text."
    chat_id = stored(window).id
    close(qtbot, window)
    again = open_window()
    done: list[bool] = []
    again.controller.open_conversation(chat_id, lambda: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    assert again.controller.conversation is not None
    assert again.controller.conversation.system_prompt == "Answer in French. <turn|> stays text."
    assert again.chat_header.prompt_text() == "Answer in French. <turn|> stays text."


def test_picking_another_preset_in_the_header_takes_its_think_and_sampling(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = open_window()
    window.new_chat()
    qtbot.waitUntil(lambda: window.controller.conversation is not None, timeout=5000)
    window.presets.edit_setup()
    dialog = window.presets.dialog
    assert dialog is not None
    dialog.preset.setCurrentIndex(dialog.preset.findData("Code reviewer"))
    assert dialog.prompt().startswith("You are a careful senior software engineer")
    assert dialog.summary.text() == "Think on · Temperature 0.3"
    dialog.accept()
    qtbot.waitUntil(lambda: window.chat_header.chip.text() == "Preset: Code reviewer", timeout=5000)
    chat = stored(window)
    assert chat.thinking is True and chat.settings["sampling"] == {"temperature": 0.3}
    assert window.composer.think_button.isChecked()
    window.sidebar.renameRequested.emit(chat.id, "Reviewed code")  # what F2's dialog sends
    qtbot.waitUntil(lambda: window.chat_header.title_text() == "Reviewed code", timeout=5000)
    window.sidebar.delete_current()  # the chat goes: the header no longer names it
    qtbot.waitUntil(lambda: window.chat_header.chip.text() == "Preset: General", timeout=5000)
    assert window.controller.conversation is None and window.chat_header.prompt_text() == "No system prompt"


def open_presets_page(qtbot: QtBot, window: MainWindow) -> PresetsPage:
    window.open_settings()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.presets_page is not None
    qtbot.waitExposed(dialog)
    dialog.tabs.setCurrentWidget(dialog.presets_page)
    return dialog.presets_page


def press_ok(qtbot: QtBot, window: MainWindow) -> None:
    dialog = window.settings_dialog
    assert dialog is not None
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.settings_dialog is None, timeout=5000)
    wait_for_db()


def test_presets_made_and_deleted_in_settings_survive_a_restart(
    qtbot: QtBot, open_window: WindowFactory, home: Path
) -> None:
    window = open_window()
    page = open_presets_page(qtbot, window)
    assert page.names() == ["General", "Concise", "Code reviewer", "Translator"]
    page.select("Concise")
    assert not page.delete_button.isEnabled() and not page.prompt.isEnabled()  # built in: copy it to change it
    assert not page.from_chat_button.isEnabled()  # no chat open
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    assert page.name.hasFocus() or page.name.text() == "New preset"
    page.name.selectAll()
    qtbot.keyClicks(page.name, "Pirate")
    page.prompt.setPlainText("Talk like a pirate.")
    temperature = page.rows[0]
    qtbot.mouseClick(temperature.use, Qt.MouseButton.LeftButton)
    temperature.value.setValue(1.5)
    press_ok(qtbot, window)
    saved = json.loads((home / "presets.json").read_text(encoding="utf-8"))
    assert saved["presets"] == [
        {"name": "Pirate", "system_prompt": "Talk like a pirate.", "sampling": {"temperature": 1.5}}
    ]
    close(qtbot, window)

    again = open_window()
    menu = preset_menu(qtbot, again)
    assert "Pirate" in [a.text() for a in menu.actions()]
    page = open_presets_page(qtbot, again)
    page.select("Pirate")
    assert page.prompt.toPlainText() == "Talk like a pirate." and page.rows[0].value.value() == 1.5
    qtbot.mouseClick(page.delete_button, Qt.MouseButton.LeftButton)
    assert "Pirate" not in page.names()
    press_ok(qtbot, again)
    close(qtbot, again)
    assert "Pirate" not in open_window().preset_book.names()


def test_a_chat_set_up_is_saved_as_a_preset_and_a_taken_name_is_refused(
    qtbot: QtBot, open_window: WindowFactory, home: Path
) -> None:
    window = open_window()
    start_with(qtbot, window, "Code reviewer")
    page = open_presets_page(qtbot, window)
    assert page.from_chat_button.isEnabled()
    qtbot.mouseClick(page.from_chat_button, Qt.MouseButton.LeftButton)
    made = page.edited.find(page.name.text())
    assert made is not None and made.thinking is True and dict(made.sampling) == {"temperature": 0.3}
    page.name.selectAll()
    qtbot.keyClicks(page.name, "concise")
    assert page.problem.isVisible() and "already a preset called Concise" in page.problem.text()
    page.name.selectAll()
    qtbot.keyClicks(page.name, "My reviewer")
    assert not page.problem.isVisible()
    press_ok(qtbot, window)
    reviewer = PresetBook.load(home / "presets.json").find("My reviewer")
    assert reviewer is not None and reviewer.system_prompt.startswith("You are a careful senior software engineer")


def test_a_damaged_presets_file_is_reported_and_kept_aside(
    qtbot: QtBot, open_window: WindowFactory, home: Path
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    damaged = b'{"presets": [{"name": "Mine", "system_prompt": 7}, {"name": "Kept"}'
    (home / "presets.json").write_bytes(damaged)
    window = open_window()
    assert window.notice_bar.isVisible()
    assert "presets file has problems" in window.notice_bar.label.text()
    assert (home / "presets.json.bad").read_bytes() == damaged
    assert window.preset_book.names() == ["General", "Concise", "Code reviewer", "Translator"]
    window.new_chat()
    qtbot.waitUntil(lambda: window.controller.conversation is not None, timeout=5000)
    assert window.chat_header.chip.text() == "Preset: General"
