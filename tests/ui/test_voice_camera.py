"""Push-to-talk and the camera panel in the real window, with a real PortAudio stream and a video file as the camera.

The microphone is PulseAudio's null sink (``tests/media/virtual_mic.py``): speech made with espeak-ng
is played into it while the mic button is held. The camera is a generated clip.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from app.media import AUDIO_SAMPLE_RATE
from app.settings import Settings
from app.store import Store
from app.ui.capture.voice import IDLE, RECORDING
from app.ui.shell.main_window import MainWindow
from app.ui.tasks import wait_for_db
from tests.media.clips import write_clip
from tests.media.virtual_mic import play
from tests.ui.conftest import Launch

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]


Factory = Callable[..., MainWindow]


@pytest.fixture
def open_window(qtbot: QtBot, launch: Launch) -> Factory:
    def make(model: Path | None = None, mmproj: Path | None = None, **settings: object) -> MainWindow:
        window = launch(**{"context_size": 4096, "max_tokens": 8, "seed": 1, **settings})
        window.activateWindow()
        if model is not None:
            window.load_model(model, mmproj)
            qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
        qtbot.waitUntil(lambda: window.media.voice.status is not None, timeout=10_000)
        return window

    return make


def last_user_message(window: MainWindow):  # type: ignore[no-untyped-def]
    wait_for_db()  # the answer's last save is queued on the store's thread
    conversation = window.controller.conversation
    assert conversation is not None
    with Store.open(window.store_path()) as store:
        path = store.path(conversation.id)
        user = [m for m in path if m.role == "user"][-1]
        return user, [store.attachment_path(a) for a in user.attachments], path[-1]


def wait_answered(qtbot: QtBot, window: MainWindow, count: int = 2) -> None:
    qtbot.waitUntil(lambda: len(window.chat.messages) == count and not window.controller.generating, timeout=30_000)


def hold(qtbot: QtBot, window: MainWindow) -> None:
    """Press the mic button and wait, like a person, until the meter shows it is listening."""
    qtbot.mousePress(window.media.mic_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.media.voice.state == RECORDING, timeout=10_000)


def test_push_to_talk_sends_the_spoken_question_as_16k_mono_audio(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, speech: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    window = open_window(tiny_model, tiny_mmproj)
    mic = window.media.mic_button
    assert mic.isEnabled() and "Hold to ask by voice" in mic.toolTip()
    levels: list[int] = []
    window.media.voice.levelChanged.connect(lambda *_: levels.append(window.media.bar.meter.value()))
    hold(qtbot, window)
    assert window.media.bar.isVisible()
    speaking = play(speech, wait=False)  # the window keeps running while the speech plays
    qtbot.waitUntil(lambda: max(levels, default=0) > 20, timeout=10_000)  # the meter moves with the speech
    qtbot.waitUntil(lambda: speaking.poll() is not None, timeout=30_000)
    assert window.media.voice.recorder.peak > 0.1  # the loudest moment of the speech was captured
    qtbot.waitUntil(lambda: window.media.bar.meter.value() < 10, timeout=5_000)  # silence again: the meter falls back
    assert window.media.bar.time_label.text() != "0:00"
    qtbot.mouseRelease(mic, Qt.MouseButton.LeftButton)
    wait_answered(qtbot, window)

    user, files, answer = last_user_message(window)
    assert user.content == "" and [a.kind for a in user.attachments] == ["audio"]
    info = sf.info(str(files[0]))
    spoken = sf.info(str(speech)).duration
    assert (info.samplerate, info.channels) == (AUDIO_SAMPLE_RATE, 1)
    assert spoken - 0.2 <= info.duration <= spoken + 2.0
    samples, _ = sf.read(str(files[0]), dtype="float32")
    assert float(np.abs(samples).max()) > 0.2 and float(np.mean(np.abs(samples) > 0.05)) > 0.1  # speech
    assert answer.status == "complete" and answer.stats and answer.stats["media_encoded"] >= 1
    assert 0 < answer.stats["media_encode_s"] < answer.stats["ttft_s"]  # the audio encoder's share of the wait
    assert not window.media.bar.isVisible() and window.media.voice.state == IDLE
    timings = window.media.last_timings
    assert 0 <= timings["capture_stop_s"] < 2 and 0 <= timings["conversion_s"] < 2

    clip_button = window.chat.messages[0].attachments_row.itemAt(0).widget()  # ▶ plays it back
    assert clip_button.text().startswith("▶ Recording")
    qtbot.mouseClick(clip_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.media.player.playing is not None, timeout=5_000)
    assert clip_button.text().startswith("■ Recording")
    qtbot.waitUntil(lambda: window.media.player.playing is None, timeout=15_000)  # played to the end
    assert clip_button.text().startswith("▶ Recording")


def test_ctrl_space_held_records_and_esc_cancels(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, speech: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    window = open_window(tiny_model, tiny_mmproj)
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    box = window.composer.input
    qtbot.keyPress(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.media.voice.state == RECORDING, timeout=10_000)
    qtbot.keyPress(box, Qt.Key.Key_Escape)
    assert window.media.voice.state == IDLE and "cancelled" in window.notice_bar.label.text()
    qtbot.keyRelease(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert len(window.chat.messages) == 0 and window.composer.text() == ""  # nothing sent, no space typed

    qtbot.keyPress(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.media.voice.state == RECORDING, timeout=10_000)
    assert not window.media.voice.press()  # a second recording while one runs is not started
    play(speech)
    qtbot.keyRelease(box, Qt.Key.Key_Space)
    wait_answered(qtbot, window)
    user, files, _answer = last_user_message(window)
    assert [a.kind for a in user.attachments] == ["audio"] and sf.info(str(files[0])).duration > 1.5


def x_key(widget: QObject, kind: QEvent.Type, key: Qt.Key, stamp: int, ctrl: bool = True) -> None:
    """A key event as X delivers it, with the server's time stamp (QTest's have none)."""
    modifiers = Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier
    event = QKeyEvent(kind, key, modifiers, " " if key == Qt.Key.Key_Space else "")
    event.setTimestamp(stamp)
    QApplication.sendEvent(widget, event)


def x_repeat(widget: QObject, stamp: int, *, ctrl: bool = True) -> None:
    """One auto-repeat of a held Space on X: a release and a press with the same time, not marked as a repeat.
    With Ctrl down the press goes to the shortcut (the widget sees its ShortcutOverride); without, it types."""
    x_key(widget, QEvent.Type.KeyRelease, Qt.Key.Key_Space, stamp, ctrl)
    x_key(widget, QEvent.Type.ShortcutOverride, Qt.Key.Key_Space, stamp, ctrl)
    if not ctrl:
        x_key(widget, QEvent.Type.KeyPress, Qt.Key.Key_Space, stamp, ctrl)


def test_ctrl_space_held_through_unmarked_repeats_records_and_ctrl_let_go_first_ends_it(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, speech: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    window = open_window(tiny_model, tiny_mmproj, voice_send="attach")
    box = window.composer.input
    box.setFocus()
    qtbot.keyPress(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.media.voice.state == RECORDING, timeout=10_000)
    speaking = play(speech, wait=False)
    stamp = 1_000
    while speaking.poll() is None:  # X repeats the held Space about 25 times a second
        stamp += 40
        x_repeat(box, stamp)
        qtbot.wait(40)
        assert window.media.voice.state == RECORDING
    stamp += 40
    x_key(box, QEvent.Type.KeyRelease, Qt.Key.Key_Space, stamp)
    time.sleep(0.25)  # the GUI thread is busy (a long repaint): the repeat's press is queued behind the timer
    QApplication.processEvents()
    x_key(box, QEvent.Type.ShortcutOverride, Qt.Key.Key_Space, stamp)
    qtbot.wait(100)
    assert window.media.voice.state == RECORDING and window.media.keys_held
    x_key(box, QEvent.Type.KeyRelease, Qt.Key.Key_Control, stamp + 100)  # Ctrl let go first: that ends it
    qtbot.waitUntil(lambda: len(window.composer.attachments()) == 1, timeout=10_000)
    assert window.media.keys_held and window.media.voice.state == IDLE
    for step in range(5):  # Space is still down, repeating on its own: it types nothing and starts nothing
        x_repeat(box, stamp + 200 + 40 * step, ctrl=False)
        qtbot.wait(40)
    x_key(box, QEvent.Type.KeyRelease, Qt.Key.Key_Space, stamp + 500, ctrl=False)
    qtbot.waitUntil(lambda: not window.media.keys_held, timeout=1_000)
    assert window.composer.text() == "" and window.media.voice.state == IDLE
    assert "Hold the microphone button" not in window.notice_bar.label.text()
    clip = window.composer.attachments()[0]
    assert clip.kind == "audio" and clip.source_path is not None and sf.info(str(clip.source_path)).duration > 1.5
    qtbot.keyClicks(box, "a b")  # spaces type again once the keys are up
    assert window.composer.text() == "a b"


def test_ctrl_space_follows_the_focus_and_ends_when_the_window_loses_the_keyboard(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, speech: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    window = open_window(tiny_model, tiny_mmproj, voice_send="attach")
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    box, search = window.composer.input, window.sidebar.search
    box.setFocus()
    qtbot.keyPress(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.media.voice.state == RECORDING, timeout=10_000)
    search.setFocus()  # the focus moves while the keys are held: their release now goes to the search field
    play(speech)
    qtbot.keyRelease(search, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(window.composer.attachments()) == 1, timeout=10_000)
    assert search.text() == "" and not window.media.keys_held

    box.setFocus()
    qtbot.keyPress(box, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.media.voice.state == RECORDING, timeout=10_000)
    play(speech)
    other = QLineEdit()  # another window takes the keyboard: the keys' release will go there
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(other.isActiveWindow, timeout=5_000)
    qtbot.waitUntil(lambda: len(window.composer.attachments()) == 2, timeout=10_000)  # kept, as if let go
    assert window.media.voice.state == IDLE and not window.media.keys_held
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    box.setFocus()
    qtbot.keyClicks(box, "a b")
    assert window.composer.text() == "a b"


def test_esc_cancels_a_recording_held_with_the_mouse_too(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, tiny_model: Path, tiny_mmproj: Path
) -> None:
    window = open_window(tiny_model, tiny_mmproj)
    window.composer.input.setFocus()
    hold(qtbot, window)
    qtbot.keyPress(window.composer.input, Qt.Key.Key_Escape)
    assert window.media.voice.state == IDLE and "cancelled" in window.notice_bar.label.text()
    assert not window.media.bar.isVisible()
    qtbot.mouseRelease(window.media.mic_button, Qt.MouseButton.LeftButton)  # letting go afterwards sends nothing
    qtbot.wait(300)
    assert len(window.chat.messages) == 0 and window.composer.attachments() == []
    qtbot.keyClicks(window.composer.input, "a b")  # spaces type again once the recording is over
    assert window.composer.text() == "a b"


def test_attach_mode_keeps_the_clip_for_text_and_silence_is_not_sent(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, speech: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    window = open_window(tiny_model, tiny_mmproj, voice_send="attach")
    hold(qtbot, window)
    deadline = time.monotonic() + 10
    while window.media.voice.recorder.elapsed_s < 1.0:  # a second of the null sink's silence
        assert time.monotonic() < deadline
        qtbot.wait(20)
    qtbot.mouseRelease(window.media.mic_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Nothing was heard" in window.notice_bar.label.text(), timeout=10_000)
    assert window.composer.attachments() == [] and len(window.chat.messages) == 0

    hold(qtbot, window)
    play(speech)
    qtbot.mouseRelease(window.media.mic_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.composer.attachments()) == 1, timeout=10_000)
    assert window.composer.attachments()[0].kind == "audio" and len(window.chat.messages) == 0
    qtbot.keyClicks(window.composer.input, "Answer in French")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    wait_answered(qtbot, window)
    user, _files, _answer = last_user_message(window)
    assert user.content == "Answer in French" and [a.kind for a in user.attachments] == ["audio"]


def test_a_button_held_past_the_limit_stops_and_says_so(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, speech: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    window = open_window(tiny_model, tiny_mmproj)
    window.media.voice.recorder.max_s = 1.5  # 30 s in the app; a held key must not record forever
    hold(qtbot, window)
    player = play(speech, wait=False)
    qtbot.waitUntil(lambda: "stopped at 0:02" in window.notice_bar.label.text(), timeout=15_000)
    wait_answered(qtbot, window)  # sent without letting go
    qtbot.mouseRelease(window.media.mic_button, Qt.MouseButton.LeftButton)  # letting go later does nothing more
    player.wait(timeout=30)
    _user, files, _answer = last_user_message(window)
    assert abs(sf.info(str(files[0])).duration - 1.5) < 0.05 and len(window.chat.messages) == 2


def test_without_an_audio_model_the_mic_and_camera_say_why(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, text_only_model: Path
) -> None:
    alone = text_only_model
    window = open_window()
    assert not window.media.mic_button.isEnabled() and not window.media.camera_button.isEnabled()
    assert "Load a model first" in window.media.camera_button.toolTip()
    window.load_model(alone)
    qtbot.waitUntil(lambda: window.bridge.model_info is not None, timeout=20_000)
    assert not window.media.mic_button.isEnabled()
    assert "cannot hear: only Gemma 4 E2B and E4B" in window.media.mic_button.toolTip()
    assert "without its vision projector" in window.media.camera_button.toolTip()
    qtbot.keyPress(window.composer.input, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)  # says why
    assert "cannot hear" in window.notice_bar.label.text() and window.media.voice.state == IDLE


# sounddevice finds PortAudio with ctypes.util.find_library: without it, it raises OSError as on a machine
# where the library is not installed.
HIDE_PORTAUDIO = """
import ctypes.util, sys
if sys.argv[1] == "no-portaudio":
    real = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None if "portaudio" in name else real(name)
"""
SELF_CHECK = HIDE_PORTAUDIO + "from app.cli.main import run\nsys.exit(run(['--self-check']))\n"
APP_PROBE = (
    HIDE_PORTAUDIO
    + """
from PySide6.QtWidgets import QApplication
from app.ui.shell.app import create_window
app = QApplication([])
window = create_window(app)
window.show()
for _ in range(200):
    app.processEvents()
    if window.media.voice.status is not None:
        break
    import time; time.sleep(0.02)
window.media.update()
print("MIC:", window.media.mic_button.isEnabled(), window.media.mic_button.toolTip())
window.close()
"""
)


def _portaudio_installed() -> bool:
    try:
        import sounddevice  # noqa: F401  (loading it loads the PortAudio library)
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    ("case", "env", "expected"),
    [
        ("no-portaudio", {}, "PortAudio sound library is not installed"),
        ("no-device", {"PULSE_SERVER": "unix:/nonexistent/socket"}, "No microphone was found"),
    ],
)
def test_the_app_starts_without_a_sound_library_or_a_microphone(
    case: str, env: dict[str, str], expected: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    if case == "no-device" and not _portaudio_installed():
        pytest.skip("no PortAudio (Debian libportaudio2): the app rightly reports the library, not the device")
    run_env = cli_env | {"GEMMA_DESK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"} | env
    proc = subprocess.run(
        [sys.executable, "-c", APP_PROBE, case], env=run_env, capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    assert "MIC: False " in proc.stdout and expected in proc.stdout
    check = subprocess.run(
        [sys.executable, "-c", SELF_CHECK, case], env=run_env, capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert check.returncode == 0 and "Cameras:" in check.stdout, check.stderr
    if case == "no-portaudio":
        assert "PortAudio:         not available" in check.stdout and expected in check.stdout
    else:
        assert "PortAudio:         PortAudio V" in check.stdout and "Microphone:        none found" in check.stdout


def test_the_camera_panel_snaps_a_frame_that_the_model_sees(
    qtbot: QtBot, open_window: Factory, tmp_path: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    clip = write_clip(tmp_path / "webcam.avi", seconds=20, fps=15, size=(320, 240))
    window = open_window(tiny_model, tiny_mmproj, camera_source=str(clip))
    assert window.media.camera_button.isEnabled()
    qtbot.mouseClick(window.media.camera_button, Qt.MouseButton.LeftButton)
    panel = window.media.panel
    assert panel is not None
    qtbot.waitUntil(lambda: panel.frames_shown >= 3, timeout=10_000)
    assert panel.source is not None and panel.source.label == "webcam.avi"
    assert not panel.preview.pixmap().isNull() and panel.snap_button.isEnabled()
    qtbot.mouseClick(panel.snap_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.composer.attachments()) == 1, timeout=10_000)
    assert window.composer.attachments()[0].kind == "image"
    panel.close()
    assert panel.capture is None
    qtbot.keyClicks(window.composer.input, "What do you see?")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    wait_answered(qtbot, window)
    user, files, answer = last_user_message(window)
    assert [a.kind for a in user.attachments] == ["image"] and files[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert answer.stats and answer.stats["media_encoded"] == 1  # through mtmd's vision encoder
    assert Settings.load().get_str("camera_source") == str(clip)


def test_camera_faults_are_messages_with_retry(qtbot: QtBot, open_window: Factory, tmp_path: Path) -> None:
    window = open_window()
    panel = window.media.open_camera()
    qtbot.addWidget(panel)
    panel.use_text("7")  # no such camera
    qtbot.waitUntil(lambda: "Camera 8 did not open" in panel.status.text(), timeout=10_000)
    assert panel.retry_button.isVisible() and not panel.snap_button.isEnabled()
    short = write_clip(tmp_path / "short.avi", seconds=1, fps=10)
    panel.use_text(str(short))
    qtbot.waitUntil(lambda: "The video has ended" in panel.status.text(), timeout=10_000)
    assert panel.snap_button.isEnabled()  # the last frame can still be snapped
    qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)  # plays it again
    qtbot.waitUntil(lambda: panel.frames_shown > 0 and not panel.retry_button.isVisible(), timeout=10_000)
    panel.use_text(str(tmp_path / "gone.mp4"))
    assert "no such video file" in panel.status.text()


def test_closing_the_window_while_recording_and_previewing_releases_both(
    qtbot: QtBot, open_window: Factory, virtual_mic: None, tmp_path: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    clip = write_clip(tmp_path / "cam.avi", seconds=30, fps=15)
    window = open_window(tiny_model, tiny_mmproj, camera_source=str(clip))
    panel = window.media.open_camera()
    qtbot.waitUntil(lambda: panel.frames_shown >= 2, timeout=10_000)
    capture = panel.capture
    assert capture is not None
    hold(qtbot, window)
    t0 = time.monotonic()
    window.close()
    assert time.monotonic() - t0 < 10
    assert capture.released.is_set() and not capture.running
    assert window.media.voice.state == IDLE and not window.media.voice.recorder.recording
