"""The window's camera and microphone: the composer's 📷 and 🎤 buttons, Ctrl+Space push-to-talk, playback.

``MediaControls`` puts the buttons in the composer, turns them off (with the
reason as the tooltip) when the loaded model cannot see or hear or there is
no microphone, opens the camera panel, and sends or attaches what they
capture. Ctrl+Space held while the window is active records like holding the
mic button (the focused widget filters that hold's keys); Esc cancels a
recording. Closing the window cancels a recording and releases the camera.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QMainWindow, QToolButton

from app.media import AudioInput
from app.paths import data_dir
from app.settings import Settings
from app.ui.camera_panel import CameraPanel
from app.ui.clip_player import ClipPlayer
from app.ui.composer import Composer
from app.ui.voice import IDLE, RECORDING, STARTING, MicButton, RecordingBar, VoiceInput

log = logging.getLogger(__name__)

HEARING_MODELS = "only Gemma 4 E2B and E4B, loaded with their projector (mmproj), take audio"


class MediaControls(QObject):
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
        # a filter for that hold only, which sees the release (and Esc). No application-wide filter: it would
        # run Python for every event of the process, Qt WebEngine's included.
        self._held: QObject | None = None  # the widget whose keys this recording watches (Esc, Space)
        self._by_keys = False  # started with Ctrl+Space (its release ends it), not the button
        self._shortcut = QShortcut(QKeySequence("Ctrl+Space"), window)
        self._shortcut.setAutoRepeat(False)
        self._shortcut.activated.connect(self._on_shortcut_activated)
        self.voice.check()
        self.update()

    # -- capabilities ----------------------------------------------------------------------------

    def set_model(self, *, loaded: bool, vision: bool, audio: bool, name: str = "") -> None:
        self._model = (loaded, vision, audio, name)
        self.update()

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
            self._let_go_of_keys()  # ended some other way (the limit, the button, Esc)
        elif self._held is None:
            self._watch_keys(by_keys=False)  # the button is held: Esc still cancels
        self.bar.set_state(state)
        self.mic_button.setDown(state in (STARTING, RECORDING))
        self.update()

    def _on_voice_recorded(self, wav: Path, audio: AudioInput, timings: dict[str, float]) -> None:
        self.last_timings = dict(timings)
        send = self.settings.get_str("voice_send") == "send"
        self.composer.add_recording(wav, audio, send=send)
        if not send:
            self.composer.focus_input()

    def _notice(self, text: str) -> None:
        bar = getattr(self.window, "notice_bar", None)
        if bar is not None:
            bar.show_notice(text)

    def _on_shortcut_activated(self) -> None:
        if self.voice.state != IDLE:
            return
        if not self.mic_button.isEnabled():
            self._notice(self.mic_reason())
            return
        self._by_keys = True
        if not self.voice.press():
            self._by_keys = False

    def _watch_keys(self, *, by_keys: bool) -> None:
        target = QApplication.focusWidget() or self.window
        target.installEventFilter(self)
        self._held = target
        self._by_keys = by_keys or self._by_keys

    def _let_go_of_keys(self) -> None:
        if self._held is not None:
            with contextlib.suppress(RuntimeError):  # the widget is gone
                self._held.removeEventFilter(self)
            self._held = None
        self._by_keys = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """While recording: Esc cancels; held with Ctrl+Space, its release ends it and its repeats type nothing."""
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        key = event.key()
        if kind == QEvent.Type.KeyPress and key == Qt.Key.Key_Escape:
            self._let_go_of_keys()
            self.voice.cancel()
            return True
        if key != Qt.Key.Key_Space or not self._by_keys:
            return False
        if event.isAutoRepeat():
            return True
        if kind == QEvent.Type.KeyRelease:
            self._let_go_of_keys()
            self.voice.release()
            return True
        return False

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
