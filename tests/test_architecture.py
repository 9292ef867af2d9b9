"""The core packages run without a screen: they never import Qt widgets."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "app.chat",
    "app.engine",
    "app.media",
    "app.media.camera",
    "app.media.recorder",
    "app.settings",
    "app.store",
    "app.models",
    "app.models.variants",
    "app.models.load_plan",
    "app.models.download",
    "app.cli.main",
    "app.cli.models",
    "app.cli.self_check",
    "app.cli.chat",
    "app.render.markdown",
    "app.ui",
    "app.paths",
    "app.applog",
]


def test_core_imports_no_qt_gui_or_widgets() -> None:
    code = (
        "import sys\n"
        f"for name in {CORE!r}: __import__(name)\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('PySide6.QtWidgets', 'PySide6.QtGui')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
