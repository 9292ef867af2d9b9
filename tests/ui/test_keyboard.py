"""The keyboard in the real window: the shortcuts sheet (Ctrl+/), the command palette (Ctrl+K) and Tab order."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMenuBar,
    QPlainTextEdit,
    QScrollBar,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.settings import Settings
from app.store import Store
from app.ui.shell.main_window import MainWindow
from app.ui.shell.palette import CommandPalette
from app.ui.shell.shortcuts_sheet import ShortcutsSheet
from tests.ui.conftest import Launch, WindowFactory

pytestmark = pytest.mark.gui

CTRL = Qt.KeyboardModifier.ControlModifier
TITLES = ("Trip to Lisbon", "Bread recipe", "Tax questions")  # made in this order: Tax questions is the newest


def native(keys: str) -> str:
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)


def plain(text: str) -> str:
    return text.split("\t")[0].replace("&", "").rstrip("…").strip().lower()


def make_chats(titles: tuple[str, ...] = TITLES, *, with_messages: bool = False) -> None:
    """Chats in the store the window will open (the test's private home)."""
    store, _notice = Store.open_or_recover()
    try:
        for title in titles:
            chat = store.create_conversation(title=title)
            if with_messages:
                question = store.add_message(chat.id, parent_id=None, role="user", content=f"A question on {title}")
                store.add_message(chat.id, parent_id=question.id, role="assistant", content="An answer, in words.")
    finally:
        store.close()


def press(qtbot: QtBot, window: MainWindow, key: Qt.Key, modifiers: Qt.KeyboardModifier = CTRL) -> None:
    """A key pressed in the window, as a user presses it: the window is the active one."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(QApplication.focusWidget() or window, key, modifiers)


def open_sheet(qtbot: QtBot, window: MainWindow) -> ShortcutsSheet:
    press(qtbot, window, Qt.Key.Key_Slash)
    qtbot.waitUntil(lambda: window.keyboard.sheet is not None and window.keyboard.sheet.isVisible())
    sheet = window.keyboard.sheet
    assert sheet is not None
    qtbot.waitUntil(sheet.isActiveWindow)  # the keys go to it
    return sheet


def open_palette(qtbot: QtBot, window: MainWindow, chats: int = 0) -> CommandPalette:
    press(qtbot, window, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: window.keyboard.palette is not None and window.keyboard.palette.isVisible())
    palette = window.keyboard.palette
    assert palette is not None
    qtbot.waitUntil(palette.isActiveWindow)  # the keys go to it
    qtbot.waitUntil(lambda: len(palette.chats) == chats)  # read from the store off the GUI thread
    return palette


# -- the shortcuts sheet ----------------------------------------------------------------------------------


def test_ctrl_slash_opens_the_sheet_with_the_real_keys_and_esc_closes_it(qtbot: QtBot, launch: Launch) -> None:
    window = launch()
    sheet = open_sheet(qtbot, window)
    lines = sheet.lines()
    assert ("Chat", "New chat", native("Ctrl+N")) in lines
    assert ("Composer", "Think on/off", native("Ctrl+T")) in lines
    assert ("Voice", "Hold to talk: records while held, sends when let go", native("Ctrl+Space")) in lines
    assert any(text.startswith("Stop the answer") and keys == native("Esc") for _g, text, keys in lines)
    assert any(text.startswith("Command palette") and keys == native("Ctrl+K") for _g, text, keys in lines)

    qtbot.keyClicks(sheet.filter, "think")
    assert sheet.lines() and all("think" in f"{g} {t} {k}".lower() for g, t, k in sheet.lines())
    qtbot.keyClick(sheet.filter, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.keyboard.sheet is None)


def test_every_action_with_a_shortcut_is_in_the_sheet(qtbot: QtBot, launch: Launch) -> None:
    make_chats(with_messages=True)  # the messages' own shortcuts (editing) exist too
    window = launch()
    qtbot.waitUntil(lambda: len(window.chat.messages) == 2)
    help_menu = next(a.menu() for a in window.menuBar().actions() if plain(a.text()) == "help")
    sheet_item = next(a for a in help_menu.actions() if plain(a.text()) == "keyboard shortcuts")
    sheet_item.trigger()  # from the Help menu, as well as by Ctrl+/
    qtbot.waitUntil(lambda: window.keyboard.sheet is not None)
    sheet = window.keyboard.sheet
    assert sheet is not None
    lines = sheet.lines()
    missing = []
    for action in window.findChildren(QAction):
        keys = [native(s.toString()) for s in action.shortcuts() if not s.isEmpty()]
        if not keys:
            continue
        found = [
            line
            for line in lines
            if plain(action.text()) in line[1].lower() and all(k in line[2].split("   ") for k in keys)
        ]
        if not found:
            missing.append(f"{action.text()} ({', '.join(keys)})")
    for shortcut in window.findChildren(QShortcut):  # keys without a menu item: Esc, Ctrl+T, Ctrl+Space, …
        keys = [native(s.toString()) for s in shortcut.keys() if not s.isEmpty()]  # noqa: SIM118
        if keys and not any(all(k in line[2].split("   ") for k in keys) for line in lines):
            missing.append(f"shortcut {', '.join(keys)} of {type(shortcut.parent()).__name__}")
    assert not missing, f"not in the shortcuts sheet: {missing}"


# -- the command palette ----------------------------------------------------------------------------------


def test_palette_opens_a_chat_by_part_of_its_title(qtbot: QtBot, launch: Launch) -> None:
    make_chats()
    window = launch()
    qtbot.waitUntil(lambda: window.controller.conversation is not None)
    assert window.controller.conversation is not None and window.controller.conversation.title == "Tax questions"
    palette = open_palette(qtbot, window, chats=3)
    assert [text for text, _ok in palette.choices()][:3] == list(reversed(TITLES))  # newest first
    qtbot.keyClicks(palette.search, "bread rec")
    assert palette.choices()[0] == ("Bread recipe", True)
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.keyboard.palette is None)
    qtbot.waitUntil(
        lambda: window.controller.conversation is not None and window.controller.conversation.title == "Bread recipe"
    )
    current = window.sidebar.list.currentItem()
    assert current is not None and current.text() == "Bread recipe"


def test_palette_does_not_switch_chats_while_an_answer_is_written(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path
) -> None:
    make_chats()
    settings = Settings.load()
    settings.update({"context_size": 2048, "max_tokens": 4000, "seed": 1})
    settings.save()
    window = open_window(tiny_model)
    qtbot.waitUntil(lambda: window.controller.conversation is not None)
    qtbot.keyClicks(window.composer.input, "Write a long story")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.controller.generating)
    palette = open_palette(qtbot, window, chats=3)
    qtbot.keyClicks(palette.search, "lisbon")
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "stop it (Esc) to switch chats" in window.notice_bar.label.text())
    assert window.controller.generating, "the answer was still being written when the palette asked"
    conversation = window.controller.conversation
    assert conversation is not None and conversation.title != "Trip to Lisbon"
    window.stop_answer()
    qtbot.waitUntil(lambda: not window.controller.generating, timeout=10_000)


def test_palette_runs_settings_and_esc_closes_it(qtbot: QtBot, launch: Launch) -> None:
    window = launch()
    palette = open_palette(qtbot, window)
    qtbot.keyClicks(palette.search, "settings")
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.settings_dialog is not None and window.settings_dialog.isVisible())
    assert window.keyboard.palette is None
    window.settings_dialog.reject()
    qtbot.waitUntil(lambda: window.settings_dialog is None)

    palette = open_palette(qtbot, window)
    qtbot.keyClicks(palette.search, "settings")
    qtbot.keyClick(palette.search, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.keyboard.palette is None)
    assert window.settings_dialog is None


def test_palette_arrows_move_over_commands_it_cannot_run(qtbot: QtBot, launch: Launch) -> None:
    """Without a local server, "Copy the server address" is greyed in the menu and in the palette, and the
    arrows step over it."""
    window = launch()
    palette = open_palette(qtbot, window)
    qtbot.keyClicks(palette.search, "server")
    choices = palette.choices()
    assert ("Copy the server address", False) in choices
    rows = [text for text, _ok in choices]
    for _ in range(len(rows)):
        qtbot.keyClick(palette.search, Qt.Key.Key_Down)
        item = palette.list.currentItem()
        assert item is not None and item.text() != "Copy the server address"
    qtbot.keyClick(palette.search, Qt.Key.Key_Escape)


def test_palette_shows_titles_as_plain_text(qtbot: QtBot, launch: Launch) -> None:
    hostile = '<b>bold</b> <img src="x.png"> &amp;'
    make_chats((hostile,))
    window = launch()
    palette = open_palette(qtbot, window, chats=1)
    assert palette.choices()[0] == (hostile, True)
    qtbot.keyClick(palette.search, Qt.Key.Key_Escape)


# -- Tab order ----------------------------------------------------------------------------------------------

INTERACTIVE = (
    QAbstractButton,
    QComboBox,
    QLineEdit,
    QAbstractItemView,
    QTextEdit,
    QPlainTextEdit,
    QAbstractSpinBox,
    QAbstractSlider,
)


def controls(window: MainWindow) -> list[QWidget]:
    """What a user can operate in the window now: shown, enabled controls (not a line edit's own parts)."""
    found = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or isinstance(widget, QScrollBar):
            continue
        if widget.window() is not window or not widget.isVisible() or not widget.isEnabled():
            continue
        parent = widget.parentWidget()
        while parent is not None and not isinstance(parent, (QLineEdit, QComboBox, QAbstractSpinBox, QMenuBar)):
            parent = parent.parentWidget()
        if parent is None:
            found.append(widget)
    return found


def label(widget: QWidget) -> str:
    return f"{type(widget).__name__} {widget.accessibleName() or widget.objectName()!r}"


def walk(qtbot: QtBot, start: QWidget, key: Qt.Key, steps: int) -> list[QWidget]:
    """The widgets the focus visits from ``start`` on, one Tab (or Shift+Tab) at a time, until it comes back."""
    start.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start)
    seen: list[QWidget] = [start]
    for _ in range(steps):
        focus = QApplication.focusWidget()
        assert focus is not None
        qtbot.keyClick(focus, key)
        focus = QApplication.focusWidget()
        assert focus is not None
        if focus is start:
            return seen
        seen.append(focus)
    raise AssertionError(f"the focus never came back to {label(start)}: {[label(w) for w in seen]}")


def test_tab_visits_every_control_once_in_reading_order(
    qtbot: QtBot, open_window: WindowFactory, tiny_model: Path, tiny_mmproj: Path
) -> None:
    make_chats(with_messages=True)
    window = open_window(tiny_model, tiny_mmproj)  # a model that sees and hears: the mic and camera buttons too
    window.resize(1100, 780)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow() and len(window.chat.messages) == 2)
    qtbot.keyClicks(window.composer.input, "hello")  # Send is enabled
    expected = controls(window)
    side, comp = window.sidebar, window.composer
    for widget in (side.new_button, side.search, side.list, comp.input, comp.send_button, comp.think_button):
        assert widget in expected
    assert any(window.chat.isAncestorOf(w) for w in expected)  # the messages' buttons

    forward = walk(qtbot, side.new_button, Qt.Key.Key_Tab, 3 * len(expected))
    missed = [label(w) for w in expected if w not in forward]
    assert not missed, f"Tab never reaches: {missed}"
    assert len(forward) == len(set(forward)), "a control is visited twice in one cycle"
    order = [forward.index(w) for w in (side.new_button, side.search, side.list, comp.input, comp.send_button)]
    assert order == sorted(order), [label(w) for w in forward]
    assert all(forward.index(w) < forward.index(comp.input) for w in forward if window.chat.isAncestorOf(w))

    backward = walk(qtbot, side.new_button, Qt.Key.Key_Backtab, 3 * len(expected))
    assert backward == [forward[0], *reversed(forward[1:])]
