"""The window's keyboard helpers: the shortcuts sheet (Ctrl+/, F1), the command palette (Ctrl+K), Tab order.

The palette's commands are the window's own menu actions (so one greyed in the menu is greyed there), plus
the Think switch and the light/dark theme; its chats come from the store on the store thread, and opening
one goes through the chat list, which refuses while an answer is being written.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from app.ui.keymap import describe, menu_text, native
from app.ui.shell.focus_order import step_focus
from app.ui.shell.palette import ChatChoice, Command, CommandPalette
from app.ui.shell.shortcuts_sheet import ShortcutsSheet
from app.ui.shell.theme import is_dark
from app.ui.tasks import run_on_db

if TYPE_CHECKING:
    from app.ui.shell.main_window import MainWindow

log = logging.getLogger(__name__)


class Keyboard(QObject):
    """Adds Help → Keyboard shortcuts and Command palette to ``help_menu``, and answers the window's Tab."""

    def __init__(self, window: MainWindow, help_menu: QMenu) -> None:
        super().__init__(window)
        self.w = window
        self.sheet: ShortcutsSheet | None = None
        self.palette: CommandPalette | None = None
        self.sheet_action = QAction("&Keyboard shortcuts", window)
        self.sheet_action.setShortcuts([QKeySequence("Ctrl+/"), QKeySequence(Qt.Key.Key_F1)])
        self.sheet_action.triggered.connect(self.show_shortcuts)
        self.palette_action = QAction("&Command palette…", window)
        self.palette_action.setShortcut(QKeySequence("Ctrl+K"))
        self.palette_action.triggered.connect(self.show_palette)
        for action, text in (
            (self.palette_action, "Command palette: open a chat or run a command"),
            (self.sheet_action, "Keyboard shortcuts: this list"),
        ):
            help_menu.addAction(describe(action, "Help", text))

    # -- the sheet ---------------------------------------------------------------------------------------

    def show_shortcuts(self) -> None:
        if self.sheet is None:
            self.sheet = ShortcutsSheet(self.w)
            self.sheet.finished.connect(self._on_sheet_finished)
        self.sheet.show()
        self.sheet.raise_()
        self.sheet.activateWindow()
        self.sheet.filter.setFocus()

    def _on_sheet_finished(self, _result: int) -> None:
        self.sheet = None

    # -- the palette -------------------------------------------------------------------------------------

    def commands(self) -> list[Command]:
        """Every menu command of the window (its own QAction), then the Think switch and the theme."""
        commands = [
            Command(menu_text(a), native(a.shortcut()), a.isEnabled, a.trigger)
            for a in _menu_actions(self.w.menuBar().actions())
            if a is not self.palette_action
        ]
        think = self.w.composer.think_button
        dark = is_dark(self.w.palette())
        commands.append(
            Command(
                "Think before answering: turn " + ("off" if think.isChecked() else "on"),
                native("Ctrl+T"),
                lambda: think.isEnabled() and think.isVisibleTo(self.w),
                think.click,
            )
        )
        commands.append(
            Command(f"Switch to the {'light' if dark else 'dark'} theme", "", lambda: True, self._toggle_theme)
        )
        return commands

    def show_palette(self) -> None:
        if self.palette is not None:
            self.palette.raise_()
            self.palette.activateWindow()
            return
        palette = CommandPalette(self.w, self.commands(), self.w.chats.open_chat)
        palette.finished.connect(self._on_palette_finished)
        self.palette = palette
        palette.show()
        palette.activateWindow()
        palette.search.setFocus()
        store = self.w.store

        def load() -> list[ChatChoice]:
            return [ChatChoice(c.id, c.title) for c in store.list_conversations("")]

        def show(chats: list[ChatChoice]) -> None:
            if self.palette is palette:  # still open
                palette.set_chats(chats)

        run_on_db(load, show, lambda e: self.w.notice_bar.show_notice(str(e)))

    def _on_palette_finished(self, _result: int) -> None:
        self.palette = None

    def _toggle_theme(self) -> None:
        self.w.settings.update({"theme": "light" if is_dark(self.w.palette()) else "dark"})
        self.w.apply_theme()
        try:
            self.w.settings.save()
        except OSError as exc:
            self.w.notice_bar.show_notice(f"Could not save the settings: {exc}")

    # -- Tab ---------------------------------------------------------------------------------------------

    def step_focus(self, forward: bool) -> bool:
        """Tab (or Shift+Tab) anywhere in the window: the next control in reading order."""
        w = self.w
        regions: list[QWidget] = [w.sidebar, w.notice_bar, w.pages, w.composer]
        try:
            return step_focus(w, regions, forward)
        except RuntimeError:  # a widget went away while the stops were read (a message replaced): Qt's own order
            log.debug("Tab order fell back to Qt's", exc_info=True)
            return False


def _menu_actions(actions: list[QAction]) -> list[QAction]:
    """The commands of a menu bar, submenus opened, separators left out."""
    found: list[QAction] = []
    for action in actions:
        menu = action.menu()
        if isinstance(menu, QMenu):
            found.extend(_menu_actions(menu.actions()))
        elif not action.isSeparator() and action.isVisible():
            found.append(action)
    return found
