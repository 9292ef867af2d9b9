"""The "Screenshot → HTML" quick action: attach a screenshot and fill in a prompt that asks for one good page.

It takes the picture on the clipboard, or asks for a file; writes a prompt the user can edit before sending
(one self-contained file, semantic HTML, responsive CSS, no external resources); and, when thinking is off
or the vision budget is below the finest, offers to switch both on for this task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QToolButton, QWidget

from app.settings import Settings
from app.ui.composer.composer import Composer
from app.ui.icons import set_icon
from app.ui.keymap import describe

FINEST_BUDGET = 1120
SHORTCUT = "Ctrl+Shift+H"
PROMPT = """Recreate the web page in this screenshot as one self-contained HTML file.
- Use semantic HTML5 (header, nav, main, section, article, footer) and keep the text exactly as it appears.
- Match the layout, colours, font sizes and spacing as closely as you can; put all CSS in one <style> element.
- Make it responsive with flexbox or grid so it also works on a phone.
- No external resources: no CDNs, web fonts, scripts or remote images.
  Use a system font stack, and CSS or inline SVG for images and icons.
Reply with the complete file in a single ```html code block that starts with <!DOCTYPE html>."""


class ScreenshotToHtml(QObject):
    def __init__(
        self,
        window: QWidget,
        composer: Composer,
        settings: Settings,
        *,
        notice: Callable[[str, str, Callable[[], None]], None],
        reload_model: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.composer = composer
        self.settings = settings
        self._notice = notice
        self._reload_model = reload_model
        self.button = QToolButton(composer)
        self.button.setText("Screenshot → HTML")
        set_icon(self.button, "screenshot_html")
        self.button.setAccessibleName("Screenshot to HTML")
        keys = QKeySequence(SHORTCUT).toString(QKeySequence.SequenceFormat.NativeText)
        self.button.setToolTip(
            f"Attach a screenshot (the clipboard's, or a file) and ask for it as a web page ({keys})"
        )
        self.button.clicked.connect(self.run)
        composer.add_tool(self.button)
        shortcut = describe(QShortcut(QKeySequence(SHORTCUT), window), "Composer", "Screenshot → HTML")
        shortcut.activated.connect(self.run)

    def run(self) -> None:
        image = QGuiApplication.clipboard().image()
        if not image.isNull():
            self.composer.add_qimage(image, "screenshot.png")
        else:
            path, _ = QFileDialog.getOpenFileName(
                self.window, "Choose a screenshot of the page", "", "Pictures (*.png *.jpg *.jpeg *.webp *.bmp *.gif)"
            )
            if not path:
                return
            self.composer.add_files([Path(path)])
        if not self.composer.text().strip():
            self.composer.set_text(PROMPT)
        self.composer.focus_input()
        self._suggest()

    def _suggest(self) -> None:
        thinking = self.composer.think_button.isChecked()
        budget = self.settings.get_int("vision_budget")
        if thinking and budget >= FINEST_BUDGET:
            return
        wants = [
            w
            for w, needed in (
                ("Think", not thinking),
                (f"the {FINEST_BUDGET}-token vision budget", budget < FINEST_BUDGET),
            )
            if needed
        ]
        reload_note = " (the model reloads)" if budget < FINEST_BUDGET else ""
        self._notice(
            f"Screenshots come out best with {' and '.join(wants)}: small text and layout are read more exactly"
            f"{reload_note}.",
            "Use them",
            self.use_best_settings,
        )

    def use_best_settings(self) -> None:
        if not self.composer.think_button.isChecked():
            self.composer.think_button.setChecked(True)  # the chat's thinking, as the Think button does
        if self.settings.get_int("vision_budget") < FINEST_BUDGET:
            self.settings.set("vision_budget", FINEST_BUDGET)
            with contextlib.suppress(OSError):
                self.settings.save()
            self._reload_model()
