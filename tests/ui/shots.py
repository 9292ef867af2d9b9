"""What the screenshot scripts share: the application in the Fusion style with the theme they picture."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication


def themed_app(dark: bool) -> QApplication:
    """The QApplication, its theme saved in the settings of the home the script set (``GEMMA_DESK_HOME``)."""
    from app.settings import Settings

    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    settings = Settings.load()
    settings.set("theme", "dark" if dark else "light")
    settings.save()
    return app
