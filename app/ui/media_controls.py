"""The window's camera and microphone: the composer's 📷 and 🎤 buttons, Ctrl+Space push-to-talk, playback.

``MediaControls`` puts the buttons in the composer, turns them off (with the
reason as the tooltip) when the loaded model cannot see or hear or there is
no microphone, opens the camera panel, and sends or attaches what they
capture. Ctrl+Space held while the window is active records like holding the
mic button; Esc cancels a recording. Closing the window cancels a recording
and releases the camera.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QToolButton

from app.media import AudioInput
from app.paths import data_dir
from app.settings import Settings
from app.ui.camera_panel import CameraPanel
from app.ui.clip_player import ClipPlayer
from app.ui.composer import Composer
from app.ui.voice import FINISHING, IDLE, RECORDING, STARTING, MicButton, RecordingBar, VoiceInput

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
        QApplication.instance().installEventFilter(self)  # type: ignore[union-attr]
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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ctrl+Space held = the mic button held; Esc cancels a recording. Only while this window is active."""
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not self.window.isActiveWindow():
            return False
        assert isinstance(event, QKeyEvent)
        key, state = event.key(), self.voice.state
        if kind == QEvent.Type.KeyPress and key == Qt.Key.Key_Escape and state in (STARTING, RECORDING):
            self.voice.cancel()
            return True
        if key != Qt.Key.Key_Space:
            return False
        if kind == QEvent.Type.KeyPress:
            if event.isAutoRepeat():
                return state != IDLE  # held: no spaces typed meanwhile
            if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                if self.mic_button.isEnabled():
                    self.voice.press()
                else:
                    self._notice(self.mic_reason())
                return True
            return False
        if not event.isAutoRepeat() and state in (STARTING, RECORDING):
            self.voice.release()
            return True
        return state in (STARTING, RECORDING, FINISHING) and event.isAutoRepeat()

    # -- closing ----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """The window closes: cancel a recording, stop playback, release the camera (and wait for it)."""
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.voice.cancel()
        self.player.stop()
        if self.panel is not None:
            self.panel.release(wait=True)
            self.panel.close()
