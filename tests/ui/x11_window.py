"""The real app on an X display, reporting what a person would see, for tests that press real keys (xdotool).

    DISPLAY=:N QT_QPA_PLATFORM=xcb python -m tests.ui.x11_window

Starts Gemma Desk the way ``gemma-desk`` does (``run_app``: the settings, store and last model of
``GEMMA_DESK_HOME``) and prints one line per change on stdout: ``READY`` once the model is loaded, the
microphone checked and the composer has the keyboard focus of the active window; ``STATE <voice state>``;
``BAR <recording bar text>``; ``NOTICE <notice text>``; ``TEXT <composer text>``; ``ATTACHED <attachments
waiting in the composer>``; ``CHAT <messages shown> writing|answered``. It closes the window when the file
named by ``GEMMA_DESK_QUIT`` appears.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.ui.shell.app import run_app
from app.ui.shell.main_window import MainWindow


def _say(*words: object) -> None:
    print(*words, flush=True)


class Watcher:
    def __init__(self, app: QApplication, quit_file: Path) -> None:
        self.app = app
        self.quit_file = quit_file
        self.window: MainWindow | None = None
        self.ready = False
        self.seen: dict[str, str] = {}
        self.timer = QTimer()
        self.timer.setInterval(15)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def report(self, what: str, value: str) -> None:
        if self.seen.get(what) != value:
            self.seen[what] = value
            _say(what, value)

    def tick(self) -> None:
        if self.window is None:
            found = [w for w in self.app.topLevelWidgets() if isinstance(w, MainWindow)]
            if not found:
                return
            self.window = found[0]
            self.window.media.voice.stateChanged.connect(lambda state: self.report("STATE", state))
            self.window.media.voice.failed.connect(lambda text: _say("NOTICE", text))
            self.window.media.voice.notice.connect(lambda text: _say("NOTICE", text))
        window = self.window
        if self.quit_file.exists():
            self.timer.stop()
            window.close()
            return
        media = window.media
        if not self.ready:
            if window.bridge.model_info is None or media.voice.status is None or not media.mic_button.isEnabled():
                return
            if not window.isActiveWindow():
                window.activateWindow()
                return
            if QApplication.focusWidget() is not window.composer.input:
                window.composer.focus_input()
                return
            self.ready = True
            _say("READY")
        bar = f"{media.bar.time_label.text()} {media.bar.hint.text()}" if media.bar.isVisible() else "-"
        self.report("BAR", bar)
        self.report("NOTICE", window.notice_bar.label.text() if window.notice_bar.isVisible() else "-")
        self.report("TEXT", repr(window.composer.text()))
        self.report("ATTACHED", str(len(window.composer.attachments())))
        self.report("CHAT", f"{len(window.chat.messages)} {'writing' if window.controller.generating else 'answered'}")


def main() -> int:
    from PySide6.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(sys.argv[:1])
    watcher = Watcher(app, Path(os.environ["GEMMA_DESK_QUIT"]))
    code = run_app()  # the app's own start, with this QApplication
    del watcher
    return code


if __name__ == "__main__":
    sys.exit(main())
