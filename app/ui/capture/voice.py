"""Push-to-talk: hold the mic button (or Ctrl+Space), speak, let go — the clip goes to Gemma 4's own audio input.

``VoiceInput`` owns the one ``Recorder``. ``press()`` opens the microphone;
a 30 Hz timer reads its level and length for the ``RecordingBar`` (the audio
callback never touches Qt); ``release()`` stops it and, off the GUI thread,
converts it to 16 kHz mono and writes the WAV kept as the attachment;
``cancel()`` (Esc) throws it away. A clip reaching 30 s stops by itself and
is used as it is (the bar counts down from 25 s). ``MicButton`` is the
press-and-hold button; its tooltip says why it is off when the model cannot
hear or there is no microphone.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from app.media import AudioInput
from app.media.errors import MediaError
from app.media.recorder import MicError, MicStatus, Recorder, finish, mic_status
from app.ui.icons import set_icon
from app.ui.tasks import run_in_background
from app.units import format_duration as clock

log = logging.getLogger(__name__)

COUNTDOWN_FROM_S = 5.0  # the bar counts down over the last seconds before the limit
IDLE, STARTING, RECORDING, FINISHING = "idle", "starting", "recording", "finishing"


class VoiceInput(QObject):
    """One push-to-talk recording at a time, from press to a WAV on disk."""

    # Signals
    stateChanged = Signal(str)
    levelChanged = Signal(float, float)  # RMS level 0 … 1, seconds recorded
    recorded = Signal(object, object, object)  # wav Path, AudioInput, timings dict (seconds)
    failed = Signal(str)  # one line for people
    notice = Signal(str)  # not a failure: e.g. "stopped at 30 s"

    def __init__(self, folder: Path, parent: QObject | None = None, *, max_s: float | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.recorder = Recorder() if max_s is None else Recorder(max_s=max_s)
        self.state = IDLE
        self.status: MicStatus | None = None
        self._released_at = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._on_timer_timeout)

    @property
    def max_s(self) -> float:
        return self.recorder.max_s

    def check(self, *, refresh: bool = False) -> None:
        """Find out (in the background) whether PortAudio and a microphone are there; sets ``status``."""

        def done(status: MicStatus) -> None:
            self.status = status
            self.stateChanged.emit(self.state)

        run_in_background(lambda: mic_status(refresh=refresh), done)

    def press(self) -> bool:
        """Start recording; False (and ``failed``) when it cannot. A press while one runs is ignored."""
        if self.state != IDLE:
            if self.state == FINISHING:
                self.notice.emit("The last recording is still being saved; try again in a moment.")
            return False
        try:
            self.recorder.start()
        except MicError as exc:
            self.failed.emit(str(exc))
            return False
        self._set_state(STARTING)
        self._timer.start()
        return True

    def release(self) -> None:
        """Stop and keep the recording (converted and saved off the GUI thread)."""
        if self.state not in (STARTING, RECORDING):
            return
        self._released_at = time.perf_counter()
        self._timer.stop()
        self._set_state(FINISHING)
        recorder, limit = self.recorder, self.recorder.limit_reached
        stamp = datetime.now().strftime("%Y-%m-%d %H.%M.%S")
        wav = self.folder / f"Recording {stamp}.wav"

        def work() -> tuple[Path, AudioInput, dict[str, float]]:
            recording = recorder.stop()
            t0 = time.perf_counter()
            audio = finish(recording, wav, name=wav.name)
            timings = {"capture_stop_s": recording.stop_s, "conversion_s": time.perf_counter() - t0}
            timings["released_at"] = self._released_at
            return wav, audio, timings

        def done(result: tuple[Path, AudioInput, dict[str, float]]) -> None:
            self._set_state(IDLE)
            if limit:
                self.notice.emit(
                    f"The recording stopped at {clock(self.max_s)}, the longest clip Gemma 4 hears at once."
                )
            self.recorded.emit(*result)

        def fail(exc: BaseException) -> None:
            self._set_state(IDLE)
            if not isinstance(exc, MediaError):
                log.error("a recording could not be finished", exc_info=exc)
            self.failed.emit(str(exc) if isinstance(exc, MediaError) else f"The recording failed: {exc}")

        run_in_background(work, done, fail)

    def cancel(self) -> None:
        """Throw the recording away (Esc, or the window closing)."""
        if self.state not in (STARTING, RECORDING):
            return
        self._timer.stop()
        self.recorder.cancel()
        self._set_state(IDLE)
        self.notice.emit("Recording cancelled.")

    def _on_timer_timeout(self) -> None:
        r = self.recorder
        if self.state == STARTING and r.listening:
            self._set_state(RECORDING)
        self.levelChanged.emit(r.level, r.elapsed_s)
        if r.limit_reached:
            self.release()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.stateChanged.emit(state)


class MicButton(QToolButton):
    """Hold to record; let go to send. Disabled, with the reason as its tooltip, when it cannot be used."""

    # Signals
    held = Signal()
    let_go = Signal()

    HINT = "Hold to ask by voice; let go to send (or hold Ctrl+Space). Esc cancels."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setText("Hold to talk")
        set_icon(self, "talk", held=True)
        self.setAccessibleName("Push to talk")
        self.setToolTip(self.HINT)
        self.pressed.connect(self.held)
        self.released.connect(self.let_go)

    def set_reason(self, reason: str) -> None:
        """Empty: usable; otherwise disabled, with ``reason`` as the tooltip."""
        self.setEnabled(not reason)
        self.setToolTip(reason or self.HINT)
        self.setAccessibleDescription(reason)


class RecordingBar(QWidget):
    """Shown while recording: a level meter, the time, a countdown near the limit, and how to finish."""

    def __init__(self, max_s: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RecordingBar")
        self.max_s = max_s
        self.meter = QProgressBar(self)
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setMaximumWidth(160)
        self.meter.setAccessibleName("Microphone level")
        self.time_label = QLabel("0:00", self)
        self.time_label.setAccessibleName("Recording time")
        self.hint = QLabel("Starting the microphone…", self)
        self.hint.setAccessibleName("Recording status")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        dot = QLabel("●", self)
        dot.setStyleSheet("color: #d93025;")
        row.addWidget(dot)
        row.addWidget(self.meter)
        row.addWidget(self.time_label)
        row.addWidget(self.hint, 1)
        self.hide()

    def show_level(self, level: float, elapsed: float) -> None:
        # RMS of speech sits around 0.02 … 0.3: a square root spreads it over the meter.
        self.meter.setValue(min(100, int(100 * min(1.0, level * 3) ** 0.5)))
        self.time_label.setText(clock(elapsed))
        left = self.max_s - elapsed
        if left <= COUNTDOWN_FROM_S:
            self.hint.setText(f"{max(0, int(left + 0.999))} s left — it stops at {clock(self.max_s)}")
        elif elapsed > 0:
            self.hint.setText("Listening… let go to send · Esc cancels")

    def set_state(self, state: str) -> None:
        self.setVisible(state in (STARTING, RECORDING, FINISHING))
        if state == STARTING:
            self.meter.setValue(0)
            self.time_label.setText("0:00")
            self.hint.setText("Starting the microphone…")
        elif state == FINISHING:
            self.hint.setText("Saving the recording…")
