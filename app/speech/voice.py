"""The speech thread's side: one object that owns the QTextToSpeech engine and speaks a queue of sentences.

It lives on a thread of its own because opening an engine can take seconds (speech-dispatcher lists every
espeak-ng voice, about 1,500, when Qt connects: ~2.4 s measured), and the GUI thread never waits on a device.
``Speaker`` talks to it only through queued signals.

Sentences are said one at a time with ``say()``, the next on the engine's return to Ready. Qt's ``enqueue()``
works with speech-dispatcher too, but the engine passes through Ready between queued texts, so the state
could not tell "between two sentences" from "done"; with its own queue this object always knows, and
``stop()`` only has to clear a Python list.

Every reading has a number (the ``Speaker`` counts them): what arrives for an older reading is dropped, and
what this object reports carries the number, so a late report about a stopped reading is dropped too.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QLocale, QObject, Signal, Slot
from PySide6.QtTextToSpeech import QTextToSpeech, QVoice

from app.speech.engine import engine_error

_State = QTextToSpeech.State


class Voice(QObject):
    """Owns the engine on the speech thread; speaks the current reading's sentences in order."""

    # Signals
    opened = Signal(str, list, str)  # engine, voice names, problem ("" when it can speak)
    audio = Signal(int, float)  # reading, perf_counter when its first sentence started playing
    done = Signal(int)  # reading: everything it had was said
    failed = Signal(int, str)  # reading, the engine's error

    def __init__(self, engine: str) -> None:
        super().__init__()
        self._engine_name = engine
        self._tts: QTextToSpeech | None = None
        self._default_voice: QVoice | None = None
        self._reading = 0  # 0: none
        self._queue: deque[str] = deque()
        self._ended = False  # the reading's last sentence has arrived
        self._saying = False  # a sentence was handed to the engine and has not finished
        self._heard = False  # the engine went Speaking for that sentence
        self._first = True  # no sentence of this reading has played yet
        self._voice, self._rate, self._volume = "", 0.0, 1.0  # kept for an engine not open yet

    @Slot()
    def open(self) -> None:
        """Open the engine (on the speech thread, when it starts); reports ``opened``."""
        tts = QTextToSpeech(self._engine_name, self)
        if tts.state() == _State.Error:
            self.opened.emit(self._engine_name, [], engine_error(tts))
            return
        if tts.locale().language() == QLocale.Language.C:  # no locale (LANG=C): speak English, not voice no. 1
            english = [loc for loc in tts.availableLocales() if loc.language() == QLocale.Language.English]
            if english:
                tts.setLocale(english[0])
        tts.stateChanged.connect(self._on_tts_state_changed)
        self._default_voice = tts.voice()  # "System default" in Settings → Voice goes back to it
        self._tts = tts
        self._apply_settings()
        self.opened.emit(self._engine_name, [voice.name() for voice in tts.availableVoices()], "")

    # -- the reading ------------------------------------------------------------------------------------------

    @Slot(int)
    def begin(self, reading: int) -> None:
        """A new reading: whatever was being said stops."""
        self.halt()
        self._reading, self._first = reading, True

    @Slot(int, list)
    def add(self, reading: int, sentences: list[str]) -> None:
        if reading == self._reading:
            self._queue.extend(sentences)
            self._next()

    @Slot(int)
    def end(self, reading: int) -> None:
        """The reading has no more sentences: ``done`` once the queue is spoken."""
        if reading == self._reading:
            self._ended = True
            self._next()

    @Slot()
    def halt(self) -> None:
        """Silence at once and forget the queue."""
        self._queue.clear()
        self._reading, self._ended = 0, False
        if self._tts is not None and self._saying:
            self._tts.stop(QTextToSpeech.BoundaryHint.Immediate)
        self._saying = self._heard = False

    def _next(self) -> None:
        if self._saying or self._tts is None or not self._reading:
            return
        if self._tts.state() == _State.Error:  # it would never leave Error for a new sentence: fail now
            self._fail()
        elif self._queue:
            self._saying, self._heard = True, False
            self._tts.say(self._queue.popleft())
        elif self._ended:
            reading, self._reading, self._ended = self._reading, 0, False
            self.done.emit(reading)

    def _on_tts_state_changed(self, state: _State) -> None:
        if state == _State.Speaking and self._saying:
            self._heard = True
            if self._first:
                self._first = False
                self.audio.emit(self._reading, time.perf_counter())
        elif state == _State.Ready and self._saying and self._heard:  # a Ready before Speaking is a stale one
            self._saying = False
            self._next()
        elif state == _State.Error:
            self._fail()

    def _fail(self) -> None:
        assert self._tts is not None
        reading, message = self._reading, engine_error(self._tts)
        self.halt()
        self.failed.emit(reading, message)

    # -- settings -----------------------------------------------------------------------------------------------

    @Slot(str)
    def set_voice(self, name: str) -> None:
        self._voice = name
        self._apply_settings()

    @Slot(float)
    def set_rate(self, rate: float) -> None:
        self._rate = rate
        self._apply_settings()

    @Slot(float)
    def set_volume(self, volume: float) -> None:
        self._volume = volume
        self._apply_settings()

    def _apply_settings(self) -> None:
        if self._tts is None:
            return
        voice = next((v for v in self._tts.availableVoices() if v.name() == self._voice), None) if self._voice else None
        voice = voice if voice is not None or self._voice else self._default_voice
        if voice is not None and voice != self._tts.voice():
            self._tts.setVoice(voice)
        self._tts.setRate(self._rate)
        self._tts.setVolume(self._volume)
