"""One object that owns the QTextToSpeech engine and speaks a queue of sentences.

Opening an engine takes seconds (speech-dispatcher lists every espeak-ng voice, about 1,500, when Qt
connects: ~2.4 s measured), and Qt's Python binding holds the interpreter's lock for all of it, whichever
thread calls it: made from Python on any thread, the engine froze the GUI thread for the whole 2.4 s
(measured). So the engine object is made empty (an engine name that does not exist: instant), moved to a
thread of its own, and told there to open the real engine by a queued call (``QMetaObject.invokeMethod``),
which runs in C++ on that thread with no Python involved; the GUI thread's longest pause stayed under 5 ms.
Every later call (say, stop, voice, rate, volume) is queued to that thread the same way, and the engine's
state changes come back as queued signals; only the voice list is read directly, once, after the engine
reports it is open.

Sentences are said one at a time with ``say()``, the next on the engine's return to Ready. Qt's ``enqueue()``
works with speech-dispatcher too, but the engine passes through Ready between queued texts, so the state
could not tell "between two sentences" from "done"; with its own queue this object always knows, and
``stop()`` only has to clear a Python list.

Every reading has a number (the ``Speaker`` counts them): what arrives for an older reading is dropped, and
what this object reports carries the number, so a late report about a stopped reading is dropped too.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import shiboken6
from PySide6.QtCore import Q_ARG, QLocale, QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtTextToSpeech import QTextToSpeech, QVoice

from app.speech.engine import engine_error

log = logging.getLogger(__name__)

_State = QTextToSpeech.State
_QUEUED = Qt.ConnectionType.QueuedConnection
#: The engine the object is made with: Qt's own test engine, made at once and never spoken with (replaced by
#: the real one on its thread). Where Qt was built without it, the real engine is made directly (and waited for).
_PLACEHOLDER = "mock"
#: How long closing waits for the engine's thread (it may still be opening the engine).
_CLOSE_WAIT_S = 2.0
#: An engine that has not opened in this long is reported as not answering (it may still open later).
_OPEN_TIMEOUT_MS = 20_000
#: Engine threads that would not end even when cancelled, with their engines (kept: see ``Voice.close``).
_STUCK: list[tuple[QThread, QTextToSpeech | None]] = []
NOT_ANSWERING = (
    "The speech engine did not answer, so answers cannot be read aloud. Restart it (Linux: "
    "killall speech-dispatcher; it starts again by itself) and reopen Gemma Desk."
)


def _wait_finished(thread: QThread, seconds: float) -> bool:
    """Whether ``thread`` ends within ``seconds`` (sleeping in steps: ``QThread.wait`` would hold the GIL)."""
    deadline = time.monotonic() + seconds
    while not thread.isFinished() and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread.isFinished()


class Voice(QObject):
    """Owns the engine (opened off the GUI thread); speaks the current reading's sentences in order."""

    # Signals
    opened = Signal(str, list, str)  # engine, voice names, problem ("" when it can speak)
    audio = Signal(int, float)  # reading, perf_counter when its first sentence started playing
    done = Signal(int)  # reading: everything it had was said
    failed = Signal(int, str)  # reading, the engine's error

    def __init__(self, engine: str) -> None:
        super().__init__()
        self._engine_name = engine
        self._tts: QTextToSpeech | None = None  # lives on self._thread; only queued calls reach it
        self._thread: QThread | None = None
        self._open = False  # the engine reported itself open
        self._timed_out = False  # it did not open in time (and was reported as not answering)
        self._state = _State.Ready  # the engine's last reported state
        self._default_voice: QVoice | None = None
        self._voices: list[QVoice] = []
        self._reading = 0  # 0: none
        self._queue: deque[str] = deque()
        self._ended = False  # the reading's last sentence has arrived
        self._saying = False  # a sentence was handed to the engine and has not finished
        self._heard = False  # the engine went Speaking for that sentence
        self._first = True  # no sentence of this reading has played yet
        self._voice, self._rate, self._volume = "", 0.0, 1.0  # kept for an engine not open yet

    def open(self) -> None:
        """Start opening the engine on its own thread; ``opened`` reports it."""
        quick = _PLACEHOLDER in QTextToSpeech.availableEngines()
        tts = QTextToSpeech(_PLACEHOLDER if quick else self._engine_name)
        thread = QThread()
        thread.setObjectName("speech")
        tts.moveToThread(thread)
        tts.engineChanged.connect(self._on_engine_changed)
        tts.stateChanged.connect(self._on_tts_state_changed)
        self._tts, self._thread = tts, thread
        thread.start()
        QTimer.singleShot(_OPEN_TIMEOUT_MS, self, self._open_timed_out)
        if quick:
            self._call("setEngine", Q_ARG(str, self._engine_name))
        else:
            self._on_engine_changed(self._engine_name)

    def close(self) -> None:
        """End the engine's thread, waiting a few seconds at most (it may still be opening the engine).

        The wait sleeps in small steps instead of ``QThread.wait()``: that holds the interpreter lock, and the
        engine's thread needs it to send its signals, so the two would wait on each other. A thread still
        busy after the wait is kept referenced until it ends (a QThread destroyed while running aborts).

        The engine object is gone when this returns: the ``deleteLater`` posted to its thread may not run when
        the thread's loop ends first, and the object then died whenever Python let go of it, at interpreter exit
        in the CLI, after Qt's own teardown had begun (once in a CI-like run: "shared QObject was deleted
        directly", then a double free and SIGABRT after ``ask --speak`` had answered)."""
        tts, thread, self._tts, self._thread = self._tts, self._thread, None, None
        if tts is not None:
            QMetaObject.invokeMethod(tts, "deleteLater", _QUEUED)
        if thread is None:
            return
        thread.quit()
        if not _wait_finished(thread, _CLOSE_WAIT_S):
            # Stuck in the engine (a speech-dispatcher that stopped answering blocks its connect forever). A QThread
            # destroyed while it runs aborts the process: it is cancelled instead (Qt says so on stderr, once).
            log.warning("the speech engine's thread did not end (the engine does not answer); cancelling it")
            thread.terminate()
            if not _wait_finished(thread, 1.0):
                _STUCK.append((thread, tts))  # never destroyed while it runs, nor the engine it is stuck in
                return
        if tts is not None and shiboken6.isValid(tts):
            shiboken6.delete(tts)  # its thread has ended: nothing else touches it now

    def _open_timed_out(self) -> None:
        if not self._open and self._tts is not None and not self._timed_out:
            self._timed_out = True
            self.opened.emit(self._engine_name, [], NOT_ANSWERING)

    def _call(self, method: str, *args: Any) -> None:
        if self._tts is not None:
            QMetaObject.invokeMethod(self._tts, method, _QUEUED, *args)

    @Slot(str)
    def _on_engine_changed(self, engine: str) -> None:
        tts = self._tts
        if tts is None or engine != self._engine_name:
            return
        if tts.state() == _State.Error:
            self.opened.emit(self._engine_name, [], engine_error(tts))
            return
        if tts.locale().language() == QLocale.Language.C:  # no locale (LANG=C): speak English, not voice no. 1
            english = [loc for loc in tts.availableLocales() if loc.language() == QLocale.Language.English]
            if english:
                tts.localeChanged.connect(self._on_locale_changed)
                self._call("setLocale", Q_ARG(QLocale, english[0]))
                return
        self._ready()

    @Slot(QLocale)
    def _on_locale_changed(self, _locale: QLocale) -> None:
        if not self._open:
            self._ready()

    def _ready(self) -> None:
        """The engine is open (in its locale): its voices are listed, the settings applied."""
        tts = self._tts
        if tts is None:
            return
        self._voices = tts.availableVoices()
        self._default_voice = tts.voice()  # "System default" in Settings → Voice goes back to it
        self._open = True
        self._apply_settings()
        self.opened.emit(self._engine_name, [voice.name() for voice in self._voices], "")
        self._next()  # a reading asked for while the engine was opening

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
        if self._saying:
            self._call("stop")  # the default boundary: speech-dispatcher cancels at once (its hint cannot be queued)
        self._saying = self._heard = False

    def _next(self) -> None:
        if self._saying or not self._open or not self._reading:
            return
        if self._state == _State.Error:  # it would never leave Error for a new sentence: fail now
            self._fail()
        elif self._queue:
            self._saying, self._heard = True, False
            self._call("say", Q_ARG(str, self._queue.popleft()))
        elif self._ended:
            reading, self._reading, self._ended = self._reading, 0, False
            self.done.emit(reading)

    @Slot(QTextToSpeech.State)
    def _on_tts_state_changed(self, state: _State) -> None:
        self._state = state
        if state == _State.Speaking and self._saying:
            self._heard = True
            if self._first:
                self._first = False
                self.audio.emit(self._reading, time.perf_counter())
        elif state == _State.Ready and self._saying and self._heard:  # a Ready before Speaking is a stale one
            self._saying = False
            self._next()
        elif state == _State.Error and self._open:
            self._fail()

    def _fail(self) -> None:
        reading = self._reading
        message = engine_error(self._tts) if self._tts is not None else "The speech engine stopped."
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
        if not self._open:
            return
        voice = next((v for v in self._voices if v.name() == self._voice), None) if self._voice else None
        voice = voice if voice is not None or self._voice else self._default_voice
        if voice is not None:
            self._call("setVoice", Q_ARG(QVoice, voice))
        self._call("setRate", Q_ARG(float, self._rate))
        self._call("setVolume", Q_ARG(float, self._volume))
