"""The window's camera and microphone: the composer's 📷 and 🎤 buttons, Ctrl+Space push-to-talk, playback.

``MediaControls`` puts the buttons in the composer, turns them off (with the
reason as the tooltip) when the loaded model cannot see or hear or there is
no microphone, opens the camera panel, and sends or attaches what they
capture. Ctrl+Space held while the window is active records like holding the
mic button (the focused widget filters that hold's keys, and the filter
follows the focus); letting go of Ctrl or Space ends it, the window losing
the keyboard too. A held key auto-repeats (on X as release/press pairs that
Qt does not always mark), so a release only counts once no press follows it
within ``RELEASE_GRACE_MS``. Esc cancels a recording. Closing the window
cancels a recording and releases the camera.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QMainWindow, QToolButton, QWidget

from app.media import AudioInput
from app.paths import data_dir
from app.settings import Settings
from app.ui.capture.camera_panel import CameraPanel
from app.ui.capture.clip_player import ClipPlayer
from app.ui.capture.voice import IDLE, RECORDING, STARTING, MicButton, RecordingBar, VoiceInput
from app.ui.composer.composer import Composer
from app.ui.icons import set_icon
from app.ui.keymap import describe

log = logging.getLogger(__name__)

HEARING_MODELS = "only Gemma 4 E2B and E4B, loaded with their projector (mmproj), take audio"
#: X repeats a held key as a release and a press at once; a release with no press of the key this soon after is
#: real. Long enough for the pair's press to arrive, short enough that nobody notices the wait.
RELEASE_GRACE_MS = 60
_KEY_EVENTS = (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride)


class MediaControls(QObject):
    # Signals
    voiceSent = Signal(float)  # a push-to-talk question went out at once; perf_counter of the button's release
    capabilitiesChanged = Signal()  # the model (what it sees and hears) or the microphone changed

    def __init__(
        self, window: QMainWindow, composer: Composer, settings: Settings, *, max_s: float | None = None
    ) -> None:
        super().__init__(window)
        self.window = window
        self.composer = composer
        self.settings = settings
        self.voice = VoiceInput(data_dir() / "recordings", self, max_s=max_s)
        self.player = ClipPlayer(self)
        self.panel: CameraPanel | None = None
        self.last_timings: dict[str, float] = {}
        self._model = (False, False, False, "")  # loaded, vision, audio, name

        self.camera_button = QToolButton(composer)
        self.camera_button.setText("Camera")
        set_icon(self.camera_button, "camera")
        self.camera_button.setAccessibleName("Camera")
        self.camera_button.clicked.connect(self.open_camera)
        self.mic_button = MicButton(composer)
        self.bar = RecordingBar(self.voice.max_s, composer)
        composer.add_tool(self.camera_button)
        composer.add_tool(self.mic_button)
        composer.add_bar(self.bar)

        self.mic_button.held.connect(self.voice.press)
        self.mic_button.let_go.connect(self.voice.release)
        self.voice.stateChanged.connect(self._on_voice_stateChanged)
        self.voice.levelChanged.connect(self.bar.show_level)
        self.voice.recorded.connect(self._on_voice_recorded)
        self.voice.failed.connect(self._notice)
        self.voice.notice.connect(self._notice)
        self.player.failed.connect(self._notice)
        # Ctrl+Space starts a recording (a shortcut fires on the press); the widget with the focus then gets
        # a filter for that hold only, which sees the release (and Esc), and follows the focus. No
        # application-wide filter: it would run Python for every event of the process, Qt WebEngine's included.
        self._held: QObject | None = None  # the widget whose keys are watched (Esc, Ctrl, Space)
        self._by_keys = False  # this recording was started with Ctrl+Space (its release ends it), not the button
        self._keys_down: set[int] = set()  # the keys of Ctrl+Space held since it fired, not yet let go
        self._pending: tuple[int, int, float] | None = None  # a release waiting to be sure: key, X time, when
        self._release_timer = QTimer(self)
        self._release_timer.setSingleShot(True)
        self._release_timer.timeout.connect(self._on_release_timer_timeout)
        self._shortcut = QShortcut(QKeySequence("Ctrl+Space"), window)
        describe(self._shortcut, "Voice", "Hold to talk: records while held, sends when let go")
        self._shortcut.setAutoRepeat(False)
        self._shortcut.activated.connect(self._on_shortcut_activated)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)
        self.voice.check()
        self.update()

    # -- capabilities ----------------------------------------------------------------------------

    def set_model(self, *, loaded: bool, vision: bool, audio: bool, name: str = "") -> None:
        self._model = (loaded, vision, audio, name)
        self.update()
        self.capabilitiesChanged.emit()

    def mic_reason(self) -> str:
        """Why the mic button is off, or ""."""
        loaded, _vision, audio, name = self._model
        status = self.voice.status
        if status is not None and status.problem:
            return status.problem
        if not loaded:
            return "Load a model first: then hold this button to ask by voice."
        if not audio:
            return f"{name or 'This model'} cannot hear: {HEARING_MODELS}."
        return ""

    def camera_reason(self) -> str:
        loaded, vision, _audio, name = self._model
        if not loaded:
            return "Load a model first: then take a picture with the camera and ask about it."
        if not vision:
            return (
                f"{name or 'This model'} was loaded without its vision projector (mmproj), so it cannot see pictures."
            )
        return ""

    def update(self) -> None:
        self.mic_button.set_reason(self.mic_reason() if self.voice.state == IDLE else "")
        reason = self.camera_reason()
        self.camera_button.setEnabled(not reason)
        self.camera_button.setToolTip(reason or "Open the camera and snap a picture to ask about")

    # -- camera -----------------------------------------------------------------------------------

    def open_camera(self) -> CameraPanel:
        if self.panel is None:
            self.panel = CameraPanel(self.settings, self.window)
            self.panel.snapped.connect(self._on_panel_snapped)
        self.panel.show()
        self.panel.raise_()
        self.panel.start()
        return self.panel

    def _on_panel_snapped(self, png: bytes, name: str) -> None:
        self.composer.add_image_bytes(png, name)

    # -- voice ------------------------------------------------------------------------------------

    def _on_voice_stateChanged(self, state: str) -> None:
        if state not in (STARTING, RECORDING):
            self._by_keys = False  # ended (maybe some other way: the limit, the button, Esc)
        self._sync_watch()  # while it records, Esc cancels (held with the button too)
        self.bar.set_state(state)
        recording = state in (STARTING, RECORDING)
        self.mic_button.setDown(recording)
        set_icon(self.mic_button, "recording" if recording else "talk", held=True, on_accent=recording)
        self.update()

    def _on_voice_recorded(self, wav: Path, audio: AudioInput, timings: dict[str, float]) -> None:
        self.last_timings = dict(timings)
        send = self.settings.get_str("voice_send") == "send"
        self.composer.add_recording(wav, audio, send=send)
        if send:
            self.voiceSent.emit(timings.get("released_at", time.perf_counter()))
        else:
            self.composer.focus_input()

    def _notice(self, text: str) -> None:
        bar = getattr(self.window, "notice_bar", None)
        if bar is not None:
            bar.show_notice(text)

    def _on_shortcut_activated(self) -> None:
        if self._keys_down:
            return  # the same hold: X repeats a held key, and Qt does not always mark the repeat
        self._keys_down = {Qt.Key.Key_Space, Qt.Key.Key_Control}
        self._sync_watch()
        if self.voice.state in (STARTING, RECORDING):
            return  # the mic button is held
        if not self.mic_button.isEnabled():
            self._notice(self.mic_reason())
            return
        self._by_keys = self.voice.press()

    @property
    def keys_held(self) -> bool:
        """Ctrl+Space (or the Space of it) is still held down since it last started push-to-talk."""
        return bool(self._keys_down)

    def _sync_watch(self) -> None:
        """Watch the focused widget's keys while a recording runs (Esc) or the Ctrl+Space hold lasts."""
        needed = bool(self._keys_down) or self.voice.state in (STARTING, RECORDING)
        if needed and self._held is None:
            focus = QApplication.focusWidget()
            target = focus if focus is not None and focus.window() is self.window else self.window
            target.installEventFilter(self)
            self._held = target
        elif not needed:
            self._unwatch()

    def _unwatch(self) -> None:
        if self._held is not None:
            with contextlib.suppress(RuntimeError):  # the widget is gone
                self._held.removeEventFilter(self)
            self._held = None

    def _let_go_of_keys(self) -> None:
        """Forget the hold (the window closes or loses the keyboard: the keys' release will not be seen)."""
        self._release_timer.stop()
        self._pending = None
        self._keys_down.clear()
        self._by_keys = False
        self._unwatch()

    def _on_focus_changed(self, _old: QWidget | None, now: QWidget | None) -> None:
        if self._held is None:
            return
        self._unwatch()
        if self.window.isActiveWindow() and (now is None or now.window() is self.window):
            self._sync_watch()  # the keys go to the newly focused widget now
            return
        # Another window has the keyboard: the keys' release goes there. End as if let go (what was said is kept).
        if self._by_keys:
            self.voice.release()
        self._let_go_of_keys()
        self._sync_watch()  # a recording held with the mouse button still listens for Esc

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Esc cancels a recording; while Ctrl+Space is held, its repeats type nothing and its release ends it.

        A held key auto-repeats; X sends each repeat as a release and a press of that key, one right after the
        other with the same time stamp, and Qt marks the pair as a repeat only when it sees both at once. So a
        release waits: a press of the same key next is its repeat; a press stamped later, any other key, or
        nothing within ``RELEASE_GRACE_MS`` shows it was let go.
        """
        kind = event.type()
        if kind not in _KEY_EVENTS or not isinstance(event, QKeyEvent):
            return False
        key = event.key()
        pending = self._pending
        if pending is not None:
            stamp = event.timestamp()
            if kind != QEvent.Type.KeyRelease and key == pending[0] and not (stamp and pending[1] != stamp):
                self._release_timer.stop()  # the press of a repeat (ShortcutOverride comes first, then KeyPress)
                self._pending = None
            else:
                self._take_release()
        if kind == QEvent.Type.KeyPress and key == Qt.Key.Key_Escape and self.voice.state in (STARTING, RECORDING):
            self.voice.cancel()  # the keys may stay held: their repeats still type nothing
            return True
        if key not in self._keys_down:
            return False
        if kind == QEvent.Type.KeyRelease and not event.isAutoRepeat():
            self._pending = (key, event.timestamp(), time.perf_counter())
            self._release_timer.start(RELEASE_GRACE_MS)
        return key == Qt.Key.Key_Space and kind != QEvent.Type.ShortcutOverride  # Space types nothing meanwhile

    def _on_release_timer_timeout(self) -> None:
        pending = self._pending
        if pending is not None and time.perf_counter() - pending[2] > 3 * RELEASE_GRACE_MS / 1000:
            # The GUI thread was busy: a repeat's press may be queued behind this timer. Look once more.
            self._pending = (pending[0], pending[1], time.perf_counter())
            self._release_timer.start(RELEASE_GRACE_MS)
            return
        self._take_release()

    def _take_release(self) -> None:
        """The pending release was real: letting go of Ctrl or Space ends the recording; Space ends the hold."""
        self._release_timer.stop()
        pending, self._pending = self._pending, None
        if pending is None:
            return
        key = pending[0]
        if self._by_keys:
            self._by_keys = False
            self.voice.release()
        self._keys_down.discard(key)
        if key == Qt.Key.Key_Space:
            self._keys_down.clear()
        self._sync_watch()

    # -- closing ----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """The window closes: cancel a recording, stop playback, release the camera (and wait for it)."""
        self._let_go_of_keys()
        self.voice.cancel()
        self.player.stop()
        self.player.wait()
        if self.panel is not None:
            self.panel.release(wait=True)
            self.panel.close()
