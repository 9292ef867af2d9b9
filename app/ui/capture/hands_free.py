"""Hands-free: the microphone stays open, each spoken turn is sent after a short silence, the answer is read aloud,
and speaking over the answer (or pressing push-to-talk) interrupts it.

``HandsFree`` is the composer's Hands-free switch (next to Hold to talk) and the bar it shows while on: a state
chip (Listening · Hearing you · Sending · Thinking · Speaking), the microphone's level, and Stop speaking. The
``Listener`` (``app.voice``) does the hearing on its own threads: voice activity detection, the end of a turn
after the silence the settings ask for, and — while the app itself speaks — telling the user's voice from the
app's own coming back through the microphone (or not listening at all, when "Let me interrupt by speaking" is
off). A 30 Hz timer here takes its events; no Qt signal crosses a thread.

A turn: the utterance becomes a WAV (off the GUI thread) that is sent at once as the question's recording,
exactly as push-to-talk sends one, and ``ReadAloud`` is told the time the voice stopped so the turn is timed.
A new turn while an answer is still being written stops that answer first (kept, marked stopped) and is sent
when the engine is free. The microphone unplugged, the model swapped for one that cannot hear, or the window
closing: hands-free turns off and says why — never a stuck state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from app.media import AudioInput
from app.media.audio import AUDIO_SAMPLE_RATE
from app.media.errors import MediaError
from app.media.recorder import MicError, Recording, finish
from app.settings import Settings
from app.ui.capture.media_controls import MediaControls
from app.ui.capture.voice import IDLE, STARTING
from app.ui.chat.controller import ChatController
from app.ui.chat.read_aloud import ReadAloud
from app.ui.icons import set_icon
from app.ui.shell.theme import muted
from app.ui.tasks import run_in_background
from app.voice import BargeIn, DeviceLost, Listener, Utterance

log = logging.getLogger(__name__)

OFF, LISTENING, HEARING, SENDING, THINKING, SPEAKING = "off", "listening", "hearing", "sending", "thinking", "speaking"
STATE_TEXT = {
    OFF: "",
    LISTENING: "Listening…",
    HEARING: "Hearing you…",
    SENDING: "Sending…",
    THINKING: "Thinking…",
    SPEAKING: "Speaking — talk to interrupt",
}
STATE_COLOUR = {LISTENING: "#1e8e3e", HEARING: "#1a73e8", SENDING: "#9334e6", THINKING: "#e37400", SPEAKING: "#d93025"}
POLL_MS = 33


class HandsFreeBar(QWidget):
    """While hands-free is on: what it is doing, how loud the microphone hears, and Stop speaking."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("HandsFreeBar")
        self.dot = QLabel("●", self)
        self.state_label = QLabel(self)
        self.state_label.setAccessibleName("Hands-free status")
        self.meter = QProgressBar(self)
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setMaximumWidth(160)
        self.meter.setAccessibleName("Microphone level")
        self.stop_button = QToolButton(self)
        self.stop_button.setText("Stop speaking")
        set_icon(self.stop_button, "stop_speaking")
        self.stop_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.stop_button.setToolTip("Stop reading the answer aloud (Esc)")
        self.hint = QLabel(self)
        muted(self.hint)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        for widget in (self.dot, self.state_label, self.meter):
            row.addWidget(widget)
        row.addWidget(self.hint, 1)
        row.addWidget(self.stop_button)
        self.hide()

    def set_state(self, state: str, hint: str = "") -> None:
        self.setVisible(state != OFF)
        self.dot.setStyleSheet(f"color: {STATE_COLOUR.get(state, '#5f6368')};")
        self.state_label.setText(f"<b>{STATE_TEXT.get(state, '')}</b>")
        self.hint.setText(hint)
        self.stop_button.setVisible(state == SPEAKING)

    def show_level(self, level: float) -> None:
        self.meter.setValue(min(100, int(100 * min(1.0, level * 3) ** 0.5)))  # as the push-to-talk meter


class HandsFree(QObject):
    """The Hands-free switch: an open microphone, turns sent after a silence, answers read aloud, barge-in."""

    # Signals
    stateChanged = Signal(str)
    bargedIn = Signal(float, float)  # perf_counter: the interrupting voice began, the speech was told to stop

    def __init__(
        self,
        media: MediaControls,
        controller: ChatController,
        read_aloud: ReadAloud,
        settings: Settings,
        notice: Callable[[str], None],
        folder: Path,
    ) -> None:
        super().__init__(media)
        self.media, self.controller, self.read_aloud = media, controller, read_aloud
        self.settings, self._notice, self.folder = settings, notice, folder
        self.listener: Listener | None = None
        self.state = OFF
        self._hearing = False  # the listener heard a turn begin and has not sent it yet
        self._sending = False  # an utterance is being saved or waits for the engine
        self._pending: tuple[Path, AudioInput, float] | None = None  # a turn waiting for the answer to stop
        self.button = QToolButton(media.composer)
        self.button.setText("Hands-free")
        self.button.setCheckable(True)
        set_icon(self.button, "hands_free", toggle=True)
        self.button.setAccessibleName("Hands-free conversation")
        self.bar = HandsFreeBar(media.composer)
        media.composer.add_tool(self.button)
        media.composer.add_bar(self.bar)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.button.toggled.connect(self._on_toggled)
        self.button.toggled.connect(lambda _on: self.update_reason())
        self.bar.stop_button.clicked.connect(self.read_aloud.stop)
        controller.generatingChanged.connect(self._on_generating_changed)
        read_aloud.audibleChanged.connect(self._on_audible_changed)
        read_aloud.speakingChanged.connect(lambda _on: self._update_state())
        media.voice.stateChanged.connect(self._on_push_to_talk)
        self.update_reason()

    @property
    def on(self) -> bool:
        return self.listener is not None

    # -- on and off -------------------------------------------------------------------------------------

    def reason(self) -> str:
        """Why hands-free cannot be turned on ("" when it can)."""
        return self.media.mic_reason()

    def update_reason(self) -> None:
        """The model or the microphone changed: the switch says whether it can be used (and turns off if not)."""
        reason = self.reason()
        if reason and self.on:
            self.set_on(False)
            self._notice(f"Hands-free is off: {reason}")
        self.button.setEnabled(not reason or self.on)
        state = "on" if self.button.isChecked() else "off"
        self.button.setToolTip(
            reason
            or f"Hands-free conversation: {state}.\nTalk without holding a button: each turn is sent after a short "
            "silence and the answer is read aloud. Speak (or hold Ctrl+Space) to interrupt."
        )

    def set_on(self, on: bool) -> None:
        if on != self.button.isChecked():
            self.button.setChecked(on)  # runs _on_toggled
        elif on != self.on:
            self._on_toggled(on)

    def _on_toggled(self, on: bool) -> None:
        if on and not self.on:
            self._start()
        elif not on and self.on:
            self._stop()

    def _start(self) -> None:
        reason = self.reason()
        if reason:
            self._notice(reason)
            self.button.setChecked(False)
            return
        listener = Listener(
            silence_s=self.settings.get_float("hands_free_silence_s"),
            barge_in=self.settings.get_bool("hands_free_barge_in"),
        )
        try:
            listener.start()
        except MicError as exc:
            self._notice(str(exc))
            self.button.setChecked(False)
            return
        self.listener = listener
        self.read_aloud.warm_up()  # the answers will be read aloud: open the speech engine now
        listener.set_app_speaking(self.read_aloud.audible, time.perf_counter())
        self._timer.start()
        self._update_state()

    def _stop(self) -> None:
        listener, self.listener = self.listener, None
        self._timer.stop()
        self._hearing = False
        self._pending = None
        if listener is not None:
            run_in_background(listener.stop, None, lambda exc: log.warning("closing the microphone: %s", exc))
        self.bar.show_level(0.0)
        self._update_state()

    def shutdown(self) -> None:
        """The window closes: the microphone is released (waiting for it)."""
        listener, self.listener = self.listener, None
        self._timer.stop()
        if listener is not None:
            listener.stop()

    # -- what the listener heard ------------------------------------------------------------------------------

    def _poll(self) -> None:
        listener = self.listener
        if listener is None:
            return
        for event in listener.poll():
            log.debug("hands-free: %s", type(event).__name__)
            if isinstance(event, BargeIn):
                self._barge_in(event.voice_started_at)
            elif isinstance(event, Utterance):
                self._hearing = False
                self._turn(event)
            elif isinstance(event, DeviceLost):
                self._notice(event.message)
                self.set_on(False)
                return
        self._hearing = listener.hearing
        self.bar.show_level(listener.level)
        self._update_state()

    def _barge_in(self, voice_started_at: float) -> None:
        """The user talks over the answer: silence it now, stop writing it; their turn follows."""
        self._hearing = True
        self.read_aloud.stop()
        if self.controller.generating:
            self.controller.stop()
        self.bargedIn.emit(voice_started_at, time.perf_counter())

    def _turn(self, utterance: Utterance) -> None:
        """A spoken turn ended: save it as the question's recording, then send it."""
        self.read_aloud.stop()
        if self.controller.generating:
            self.controller.stop()  # a new question: the answer being written ends here (kept, as stopped)
        self._sending = True
        stamp = datetime.now().strftime("%Y-%m-%d %H.%M.%S")
        wav = self.folder / f"Spoken {stamp}.wav"
        recording = Recording(utterance.samples, AUDIO_SAMPLE_RATE, False, 0.0)
        ended_at = utterance.ended_at

        def done(audio: AudioInput) -> None:
            self._pending = (wav, audio, ended_at)
            self._send_pending()

        def fail(exc: BaseException) -> None:
            self._sending = False
            if not isinstance(exc, MediaError):
                log.error("a spoken turn could not be saved", exc_info=exc)
            self._notice(str(exc) if isinstance(exc, MediaError) else f"What you said could not be saved: {exc}")
            self._update_state()

        run_in_background(lambda: finish(recording, wav, name=wav.name), done, fail)

    def _send_pending(self) -> None:
        """Send the waiting turn once the engine is free (an interrupted answer is still closing)."""
        if self._pending is None or self.controller.generating or not self.on:
            return
        (wav, audio, ended_at), self._pending = self._pending, None
        self._sending = False
        self.media.composer.add_recording(wav, audio, send=True)
        self.read_aloud.voice_question_sent(ended_at)
        self._update_state()

    # -- the rest of the window -------------------------------------------------------------------------------

    def _on_generating_changed(self, generating: bool) -> None:
        if not generating:
            self._send_pending()
        self._update_state()

    def _on_audible_changed(self, audible: bool, at: float) -> None:
        """The echo gate learns the app's own voice from its first sound (not from when a reading was asked for:
        the silence before it would teach it that the echo is quiet)."""
        if self.listener is not None:
            self.listener.set_app_speaking(audible, at)
        self._update_state()

    def _on_push_to_talk(self, state: str) -> None:
        """Push-to-talk pressed: it silences the voice; in hands-free mode it interrupts as speaking would, and
        the open microphone waits until it ends."""
        if state == STARTING:
            if self.on:  # a new turn: the answer stops being written and read
                self._barge_in(time.perf_counter())
            else:  # the voice falls silent for the new question; an answer being written goes on
                self.read_aloud.stop()
            if self.listener is not None:
                self.listener.pause()
        elif state == IDLE:
            if self.listener is not None:
                self.listener.resume()
            self.update_reason()  # the microphone check may have just finished

    def _update_state(self) -> None:
        if self.listener is None:
            state = OFF
        elif self.read_aloud.audible:
            state = SPEAKING
        elif self._hearing:
            state = HEARING
        elif self._sending:
            state = SENDING
        elif self.controller.generating or self.read_aloud.speaking:  # (a reading not audible yet)
            state = THINKING
        else:
            state = LISTENING
        hint = ""
        if state == LISTENING:
            hint = (
                f"Speak when you are ready; a pause of {self.settings.get_float('hands_free_silence_s'):g} s sends it"
            )
        if state != self.state:
            self.state = state
            self.bar.set_state(state, hint)
            self.button.setChecked(state != OFF)
            self.stateChanged.emit(state)
