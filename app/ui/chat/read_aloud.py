"""Answers read aloud: the Speak button on an answer, and the answer to a spoken question read as it streams.

``ReadAloud`` owns the window's one ``Speaker`` (the OS voices through QtTextToSpeech). A question asked by
voice (push-to-talk sent at once, or a hands-free turn) arms it: the answer's text pieces go to the speaker as
they stream, and it starts talking at the first complete sentence, long before the answer ends (thinking and
tool calls never reach it: the engine keeps them apart, and ``SpokenSentences`` leaves out code and markdown).
The setting "Read answers aloud after a voice question" turns that off. The Speak button on any answer reads
it whole; pressed again (it says Stop then), or Esc, silences it at once.

Each voice turn is timed — end of speech → first token → first audio — and the line is added to the answer's
stats footer. No speech engine installed: the Speak buttons say why they cannot speak, and a spoken question
still gets its written answer.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.settings import Settings
from app.speech import Speaker
from app.ui.chat.controller import ChatController
from app.ui.chat.message_widget import MessageWidget
from app.voice import VoiceTurnTimes

log = logging.getLogger(__name__)


class ReadAloud(QObject):
    """The window's voice: reads answers (streaming or whole) and times voice turns."""

    # Signals
    speakingChanged = Signal(bool)  # a reading is under way (it may not be audible yet)
    audibleChanged = Signal(bool, float)  # its sound started / ended; perf_counter of the change

    def __init__(
        self, controller: ChatController, settings: Settings, notice: Callable[[str], None], parent: QObject
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = settings
        self._notice = notice
        self._speaker: Speaker | None = None  # opened when voice is first wanted (speechd takes seconds to open)
        self.times: VoiceTurnTimes | None = None  # the voice turn under way (or the last one)
        self._armed = False  # the next answer is a voice turn's
        self._reading = False  # the streaming answer's pieces go to the speaker
        self._voice_speech = False  # what is being said is the voice turn's answer (timed)
        self._widget: MessageWidget | None = None  # the answer being spoken (its Speak button says Stop)
        self._turn_widget: MessageWidget | None = None  # the voice turn's answer (its footer gets the times)
        self._told = False  # the missing engine was mentioned once
        self.audible = False  # sound is coming out (from the first sentence's start to the reading's end)
        bridge = controller.bridge
        bridge.answerDelta.connect(self._on_answer_delta)
        bridge.thinkingDelta.connect(lambda _rid, _text: self._first_token())
        controller.generatingChanged.connect(self._on_generating_changed)

    @property
    def speaker(self) -> Speaker:
        """The speech engine, opened on first use: a window that never speaks never starts speech-dispatcher.
        Voice being wanted soon (push-to-talk pressed, hands-free on) opens it ahead: ``warm_up``."""
        if self._speaker is None:
            speaker = self._speaker = Speaker(self)
            speaker.speakingChanged.connect(self._on_speaking_changed)
            speaker.firstAudio.connect(self._on_first_audio)
            speaker.failed.connect(self._on_failed)
            self.apply_settings()
        return self._speaker

    def warm_up(self) -> None:
        """Open the speech engine now (on its own thread), so the next answer read aloud starts without waiting."""
        _ = self.speaker

    @property
    def problem(self) -> str:
        """Why nothing can be read aloud ("" when it can)."""
        return self.speaker.problem

    @property
    def speaking(self) -> bool:
        return self._speaker is not None and self._speaker.speaking

    def apply_settings(self) -> None:
        """Voice, rate and volume from the settings (after the Settings dialog's OK)."""
        if self._speaker is None:
            return  # read when it opens
        s = self.settings
        self.speaker.set_voice(s.get_str("speech_voice"))  # "": the system's default voice
        self.speaker.set_rate(s.get_float("speech_rate"))
        self.speaker.set_volume(s.get_int("speech_volume") / 100)

    # -- a voice turn ------------------------------------------------------------------------------

    def voice_question_sent(self, speech_end: float) -> None:
        """A spoken question is on its way to the model (``speech_end``: perf_counter when the voice stopped)."""
        self.stop()
        self.times = VoiceTurnTimes(speech_end=speech_end, sent=time.perf_counter())
        self._armed = True
        wanted = self.settings.get_bool("read_aloud_voice_answers")
        problem = self.speaker.problem if wanted else ""
        self._reading = wanted and not problem
        if problem and not self._told:
            self._told = True
            self._notice(problem)
        if self._reading:
            self._voice_speech = True
            self.speaker.start_reading()

    def _first_token(self) -> None:
        times = self.times
        if self._armed and times is not None and times.first_token is None:
            times.first_token = time.perf_counter()
            self._turn_widget = self.controller.view.messages[-1] if self.controller.view.messages else None
            if self._turn_widget is not None and self._reading:
                self._widget = self._turn_widget
                self._widget.set_speaking(True)

    def _on_answer_delta(self, _rid: int, text: str) -> None:
        self._first_token()
        if self._reading:
            self.speaker.feed(text)

    def _on_generating_changed(self, generating: bool) -> None:
        if generating or not self._armed:
            return
        self._armed = False
        if self._reading:
            self._reading = False
            self.speaker.end_reading()
        self._show_times()

    # -- the Speak button ----------------------------------------------------------------------------

    def toggle(self, widget: MessageWidget) -> None:
        """Speak ``widget``'s answer, or stop when it is the one being spoken."""
        if self.speaking and widget is self._widget:
            self.stop()
            return
        if self.speaker.problem:
            self._notice(self.speaker.problem)
            return
        self.stop()
        self._widget = widget
        widget.set_speaking(True)
        self.speaker.speak_text(widget.text())

    def stop(self) -> bool:
        """Silence at once; True when something was being said (or about to be)."""
        was = self.speaking or self._reading
        self._reading = self._voice_speech = False
        if self._speaker is not None:
            self._speaker.stop()
        self._release_widget()
        return was

    def close(self) -> None:
        """The window closes: silence, and end the speech thread."""
        self.stop()
        speaker, self._speaker = self._speaker, None
        if speaker is not None:
            speaker.close()

    def _release_widget(self) -> None:
        widget, self._widget = self._widget, None
        if widget is not None:
            with contextlib.suppress(RuntimeError):  # the message was removed (another chat opened)
                widget.set_speaking(False)

    # -- the speaker's news ----------------------------------------------------------------------------

    def _on_speaking_changed(self, speaking: bool) -> None:
        if not speaking and not self._reading:
            self._release_widget()
        if not speaking and self.audible:
            self.audible = False
            self.audibleChanged.emit(False, time.perf_counter())
        self.speakingChanged.emit(speaking)

    def _on_first_audio(self, at: float) -> None:
        if not self.audible and self.speaking:
            self.audible = True
            self.audibleChanged.emit(True, at)
        times = self.times
        if self._voice_speech and times is not None and times.first_audio is None:
            times.first_audio = at
            times.first_sentence = self.speaker.first_sentence_at
            self._show_times()

    def _on_failed(self, message: str) -> None:
        self._reading = False
        self._release_widget()
        self._notice(message)

    def _show_times(self) -> None:
        """Add the voice turn's timings to its answer's stats footer (once the answer has its footer)."""
        times, widget = self.times, self._turn_widget
        if times is None or times.first_token is None:
            return
        log.info("%s", times.describe())
        if widget is None or self.controller.generating:
            return  # the footer is written when the answer ends; this runs again then
        try:
            footer = widget.footer.text().split(" · voice:")[0]
            widget.set_footer(f"{footer} · voice: {times.short()}" if footer else f"voice: {times.short()}")
        except RuntimeError:
            pass
