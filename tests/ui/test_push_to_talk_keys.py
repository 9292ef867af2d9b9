"""Ctrl+Space push-to-talk held with real keys on a real X server, whose key auto-repeat is on.

While a key is held, X repeats it as release/press pairs; Qt does not always mark them as repeats. The app
runs in its own process on an Xvfb display (``tests/ui/x11_window.py`` reports what the window shows),
xdotool presses and holds the keys, and speech is played into PulseAudio's null sink (the microphone).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import soundfile as sf

from app.media import AUDIO_SAMPLE_RATE
from app.settings import Settings
from app.store import Store
from tests.media.virtual_mic import play
from tests.ui.conftest import xvfb_display

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]
TAP_NOTICE = "Hold the microphone button while you speak"


@pytest.fixture
def x_display() -> Iterator[str]:
    """A fresh Xvfb display with key auto-repeat on, as on a desktop."""
    with xvfb_display(("xdotool", "xdotool"), ("xset", "x11-xserver-utils")) as display:
        env = {**os.environ, "DISPLAY": display}
        subprocess.run(["xset", "r", "on"], env=env, check=True, timeout=10)
        query = subprocess.run(["xset", "q"], env=env, capture_output=True, text=True, check=True, timeout=10).stdout
        assert "auto repeat:  on" in query, query  # held keys send release/press pairs, as on a desktop
        yield display


class RunningApp:
    """``python -m tests.ui.x11_window`` on ``display``: its report lines, keys pressed with xdotool."""

    def __init__(self, display: str, home: Path, env: dict[str, str]) -> None:
        self.display = display
        self.quit_file = home / "quit"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.ui.x11_window"],
            env=env | {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "GEMMA_DESK_QUIT": str(self.quit_file)},
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def report(self) -> str:
        return "\n".join(self.lines[-80:])

    def wait_for(self, check: Callable[[list[str]], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check(list(self.lines)):
            assert self.proc.poll() is None, f"the app ended while waiting for {what}:\n{self.report()}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.report()}"
            time.sleep(0.02)

    def wait_line(self, line: str, timeout: float, *, after: int = 0) -> int:
        """The index of the first report line equal to ``line`` from ``after`` on."""
        self.wait_for(lambda lines: line in lines[after:], repr(line), timeout)
        return self.lines.index(line, after)

    def keys(self, *args: str) -> None:
        env = {**os.environ, "DISPLAY": self.display}
        subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)

    def close(self) -> None:
        self.quit_file.touch()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(10)  # it reads to the end of the output, then we close our end
        if self.proc.stdout is not None:
            self.proc.stdout.close()


StartApp = Callable[..., RunningApp]


@pytest.fixture
def start_app(
    x_display: str, virtual_mic: None, home: Path, tiny_model: Path, tiny_mmproj: Path, cli_env: dict[str, str]
) -> Iterator[StartApp]:
    """``start_app(**settings)``: the app with the tiny model that hears loaded and its composer focused (the
    microphone is there before it starts); closed after the test."""
    started: list[RunningApp] = []

    def start(**extra: object) -> RunningApp:
        settings = Settings.load()  # the app loads its last model when it starts
        settings.update(
            {
                "last_model_path": str(tiny_model),
                "last_mmproj_path": str(tiny_mmproj),
                "context_size": 4096,
                "max_tokens": 8,
                "seed": 1,
                **extra,
            }
        )
        settings.save()
        app = RunningApp(x_display, home, cli_env | {"GEMMA_DESK_HOME": str(home)})
        started.append(app)
        app.wait_line("READY", 90)
        return app

    yield start
    for app in started:
        app.close()


def stored_user_messages(home: Path) -> list[tuple[str, list[Path]]]:
    """Every user message in the chat store the app left in ``home``: its text and attachment files."""
    with Store.open(home / "chats.sqlite3") as store:
        found = []
        for summary in store.list_conversations():
            for message in store.path(summary.id):
                if message.role == "user":
                    found.append((message.content, [store.attachment_path(a) for a in message.attachments]))
        return found


def test_ctrl_space_held_with_real_auto_repeating_keys_records_the_question(
    start_app: StartApp, speech: Path, home: Path
) -> None:
    x_app = start_app()
    x_app.keys("keydown", "ctrl")
    x_app.keys("keydown", "space")
    start = x_app.wait_line("STATE recording", 15)  # listening: the meter moves
    play(speech)  # about 3 s of speech while both keys are held (X repeats Space about 25 times a second)
    time.sleep(0.3)
    x_app.keys("keyup", "space")
    x_app.keys("keyup", "ctrl")
    x_app.wait_line("STATE idle", 20, after=start)
    x_app.wait_for(lambda lines: "CHAT 2 answered" in lines, "the answer", 60)
    time.sleep(0.5)  # nothing more happens once the keys are up

    seen = x_app.lines[start:]
    assert not [line for line in seen if TAP_NOTICE in line], x_app.report()
    assert seen.count("STATE starting") == 0 and seen.count("STATE finishing") == 1, x_app.report()  # one recording
    assert [ln for ln in x_app.lines if ln.startswith("TEXT")][-1] == "TEXT ''", x_app.report()  # no space typed
    x_app.close()
    messages = stored_user_messages(home)
    assert len(messages) == 1, x_app.report()
    content, files = messages[0]
    assert content == "" and len(files) == 1
    info = sf.info(str(files[0]))
    spoken = sf.info(str(speech)).duration
    assert (info.samplerate, info.channels) == (AUDIO_SAMPLE_RATE, 1)
    assert spoken - 0.2 <= info.duration <= spoken + 2.0, info.duration


def test_letting_go_of_ctrl_first_ends_the_recording_and_the_held_space_types_nothing(
    start_app: StartApp, speech: Path
) -> None:
    x_app = start_app(voice_send="attach")  # the clip waits in the composer, where a stray space would show
    x_app.keys("keydown", "ctrl")
    x_app.keys("keydown", "space")
    start = x_app.wait_line("STATE recording", 15)
    play(speech)
    x_app.keys("keyup", "ctrl")  # Space stays down, repeating on its own now
    finishing = x_app.wait_line("STATE finishing", 5, after=start)
    x_app.wait_line("ATTACHED 1", 10, after=start)
    time.sleep(1.0)
    x_app.keys("keyup", "space")
    time.sleep(0.3)
    x_app.keys("type", "a b")  # once the keys are up, Space types again
    x_app.wait_line("TEXT 'a b'", 10, after=finishing)
    seen = x_app.lines[start:]
    assert not [line for line in seen if TAP_NOTICE in line], x_app.report()
    assert "STATE starting" not in x_app.lines[finishing:], x_app.report()  # the held Space started nothing more
    # Nothing typed while Space was held: every text seen since is a beginning of what was typed after it
    # (the app reports its text when it changes, so one report may already hold all of "a b").
    texts = [line.removeprefix("TEXT ") for line in x_app.lines[finishing:] if line.startswith("TEXT")]
    assert texts and all("'a b'".startswith(text.rstrip("'")) for text in texts), x_app.report()
