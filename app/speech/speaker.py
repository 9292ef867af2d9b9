"""Reading answers aloud: ``Speaker`` takes an answer as it streams and speaks each sentence once it is complete.

The GUI thread's side. It turns the answer's markdown into sentences (``app.render.speech``: no markdown
syntax, code blocks announced rather than read) and hands them to the speech thread (``app.speech.voice``),
which owns the engine and opens it off the GUI thread, so nothing here waits on it: opening
speech-dispatcher takes seconds, saying a sentence a few milliseconds of socket traffic.

A machine without an engine is not an error: ``problem`` says what to install, and every call is a no-op.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QObject, Signal

from app.render.speech import SpokenSentences
from app.speech.engine import NO_ENGINE, engine_for_this_machine
from app.speech.voice import Voice


class Speaker(QObject):
    """Speaks a streaming answer (``start_reading``, ``feed``, ``end_reading``) or a whole one (``speak_text``)."""

    # Signals
    speakingChanged = Signal(bool)  # a reading started (True), or ended, stopped or failed (False)
    firstAudio = Signal(float)  # perf_counter when the reading's first sentence started playing
    finished = Signal()  # the reading was spoken to its end (not after stop())
    failed = Signal(str)  # the engine failed mid-reading: why
    ready = Signal()  # the engine is open (or could not be: then ``problem`` says why)

    # Private: to the voice
    _begin = Signal(int)
    _add = Signal(int, list)
    _end = Signal(int)
    _halt = Signal()
    _voice_name = Signal(str)
    _rate = Signal(float)
    _volume = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine_for_this_machine() or ""
        self.problem = "" if self.engine else NO_ENGINE
        self.first_sentence_at: float | None = None  # perf_counter: the reading's first sentence was complete
        self.first_audio_at: float | None = None  # perf_counter: it started playing
        self._voices: list[str] = []
        self._reading = 0  # the current reading's number; 0: none
        self._readings = 0  # readings started so far
        self._sentences = SpokenSentences()
        self._voice: Voice | None = None
        if self.engine:
            self._start_voice()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.close)

    def _start_voice(self) -> None:
        voice = Voice(self.engine)
        voice.setParent(self)
        voice.opened.connect(self._on_voice_opened)
        voice.audio.connect(self._on_voice_audio)
        voice.done.connect(self._on_voice_done)
        voice.failed.connect(self._on_voice_failed)
        self._begin.connect(voice.begin)
        self._add.connect(voice.add)
        self._end.connect(voice.end)
        self._halt.connect(voice.halt)
        self._voice_name.connect(voice.set_voice)
        self._rate.connect(voice.set_rate)
        self._volume.connect(voice.set_volume)
        self._voice = voice
        voice.open()

    # -- reading ----------------------------------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        """A reading is under way: started, and not yet spoken to its end, stopped or failed."""
        return self._reading != 0

    def start_reading(self) -> None:
        """A new answer begins: whatever was being spoken stops."""
        if self.problem:
            return
        was_speaking = self.speaking
        self._reading = self._next_reading()
        self._sentences = SpokenSentences()
        self.first_sentence_at = self.first_audio_at = None
        self._begin.emit(self._reading)
        if not was_speaking:
            self.speakingChanged.emit(True)

    def feed(self, piece: str) -> None:
        """The answer's next piece of text (never its thinking): its complete sentences are spoken."""
        if self.speaking:
            self._say(self._sentences.feed(piece))

    def end_reading(self) -> None:
        """The answer is complete: the rest is spoken, then ``finished``."""
        if self.speaking:
            self._say(self._sentences.finish())
            self._end.emit(self._reading)

    def speak_text(self, markdown: str) -> None:
        """Read a whole answer (the Speak button), by the same rules as a streamed one."""
        self.start_reading()
        self.feed(markdown)
        self.end_reading()

    def stop(self) -> None:
        """Silence at once; the queue is forgotten. No ``finished``."""
        if not self.speaking:
            return
        self._reading = 0
        self._halt.emit()
        self.speakingChanged.emit(False)

    def _say(self, sentences: list[str]) -> None:
        if sentences:
            if self.first_sentence_at is None:
                self.first_sentence_at = time.perf_counter()
            self._add.emit(self._reading, sentences)

    def _next_reading(self) -> int:
        self._readings += 1
        return self._readings

    # -- settings -----------------------------------------------------------------------------------------------

    def voices(self) -> list[str]:
        """The engine's voices by name (empty until ``ready``, or without an engine)."""
        return list(self._voices)

    def set_voice(self, name: str) -> None:
        """Speak with the voice of this name (one of ``voices()``; another name is ignored)."""
        self._voice_name.emit(name)

    def set_rate(self, rate: float) -> None:
        """Speed, from -1 (slowest) through 0 (the engine's normal) to 1 (fastest)."""
        self._rate.emit(max(-1.0, min(1.0, rate)))

    def set_volume(self, volume: float) -> None:
        """Loudness, from 0 (silent) to 1."""
        self._volume.emit(max(0.0, min(1.0, volume)))

    def close(self) -> None:
        """Silence and end the engine's thread (also when the application quits)."""
        self.stop()
        if self._voice is not None:
            self._voice.close()
            self._voice = None

    # -- from the voice ----------------------------------------------------------------------------

    def _on_voice_opened(self, engine: str, voices: list[str], problem: str) -> None:
        self._voices, self.problem = voices, problem
        self.ready.emit()
        if problem and self.speaking:  # a reading asked for before the engine was open
            self._on_voice_failed(self._reading, problem)

    def _on_voice_audio(self, reading: int, at: float) -> None:
        if reading == self._reading:
            self.first_audio_at = at
            self.firstAudio.emit(at)

    def _on_voice_done(self, reading: int) -> None:
        if reading == self._reading:
            self._reading = 0
            self.speakingChanged.emit(False)
            self.finished.emit()

    def _on_voice_failed(self, reading: int, message: str) -> None:
        if reading == self._reading and reading:
            self._reading = 0
            self.speakingChanged.emit(False)
            self.failed.emit(message)
