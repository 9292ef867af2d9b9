"""A screenshot of hands-free mode for the README: a real spoken turn, taken while the answer is read aloud.

The question is espeak-ng played into the virtual microphone (``tests/media/virtual_mic.py``); the tiny Gemma 4
with its audio projector hears it and answers (forced by a grammar: its weights are random), and the OS voice
reads the answer. The shot is taken while it speaks: the hands-free bar says so, with Stop speaking.

    xvfb-run -s "-screen 0 1280x860x24" python -m tests.ui.screenshot_voice OUT.png
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ANSWER = (
    "The Seine is about 777 kilometres long. It rises on the Langres plateau near Dijon, "
    "flows through **Paris**, and reaches the English Channel at Le Havre."
)


def main(out: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gemma-desk-shot-"))
    os.environ.setdefault("GEMMA_DESK_HOME", str(tmp / "home"))
    from PySide6.QtWidgets import QApplication

    from app.settings import Settings
    from app.ui.shell.app import create_window
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4
    from tests.fixtures.tiny_mmproj import write_tiny_mmproj
    from tests.media.virtual_mic import ensure_virtual_speaker, play, speech_wav

    ensure_virtual_speaker()
    question = speech_wav(tmp / "question.wav", "How long is the Seine?")
    model = write_tiny_gemma4(tmp / "models" / "tiny.gguf")
    mmproj = write_tiny_mmproj(tmp / "models" / "mmproj-tiny.gguf")
    settings = Settings.load()
    settings.update({"theme": "light", "context_size": 4096, "seed": 1, "auto_titles": False})  # random-weight titles
    settings.save()
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    window = create_window(app)
    window.resize(1100, 760)
    window.show()

    def wait(condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the window did not get there in time")
            app.processEvents()
            time.sleep(0.005)

    def force(request: Any) -> Any:
        grammar = 'root ::= "' + ANSWER.replace('"', '\\"') + '"\n'
        return replace(request, max_tokens=400, sampling=replace(request.sampling, grammar=grammar))

    window.load_model(model, mmproj)
    wait(lambda: window.bridge.model_info is not None and window.media.voice.status is not None)
    window.controller.before_generate = force
    window.hands_free.set_on(True)
    listener = window.hands_free.listener
    assert listener is not None, window.notice_bar.label.text()
    wait(lambda: listener.listening and bool(window.read_aloud.speaker.voices()))
    play(question)
    wait(lambda: window.read_aloud.audible)
    wait(lambda: not window.controller.generating)
    end = time.perf_counter() + 1.0
    wait(lambda: time.perf_counter() > end)
    window.notice_bar.hide()
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"saved {out}")
    window.close()
    window.store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/hands-free.png"))
