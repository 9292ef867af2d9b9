"""The conversation core runs without a screen and without llama.cpp until a model is used."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_core_loads_neither_qt_nor_llama_cpp() -> None:
    code = (
        "import sys, app.chat, app.chat.answer, app.chat.conversation, app.chat.payloads, app.chat.request\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'llama_cpp'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
