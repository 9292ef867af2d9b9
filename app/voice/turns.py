"""The listener's decisions without its threads: 16 kHz audio in, voice events out, on the caller's clock.

``VoiceTurns`` puts the frames (frames.py) through the echo gate and the
endpointer and keeps the two states the window sets: whether the app is
speaking, and whether listening is paused while a turn is sent and answered.
The listener's worker thread drives it with the microphone's audio; tests
drive it with speech files and synthetic times, frame-exact.

Decisions:
- While the app speaks (and for its echo tail) frames start no turn by
  themselves; they go through ``EchoGate.admit`` so only a voice clearly
  louder than the echo counts as speech. A ``BargeIn`` starts the turn at
  once from the frames kept, pre-roll included, so the words said over the
  app are in the utterance.
- A barge-in ends a pause: the user is talking, and the window stops the
  answer and its voice when it sees the event.
- Paused, frames are kept only for a pre-roll; a turn in progress when
  ``pause()`` is called is dropped (the window is busy with another).
- ``barge_in=False`` (half-duplex): frames heard while the app speaks or
  during its echo tail are dropped, and a turn in progress is ended unsent.
"""

from __future__ import annotations

import numpy as np

from app.voice.echo import EchoGate
from app.voice.endpoint import DEFAULT_MIN_SPEECH_S, DEFAULT_SILENCE_S, Endpointer
from app.voice.events import BargeIn, Event
from app.voice.frames import DEFAULT_AGGRESSIVENESS, Frame, Framer


class VoiceTurns:
    """Frames → events; not thread-safe (the listener holds a lock around every call)."""

    def __init__(
        self,
        *,
        silence_s: float = DEFAULT_SILENCE_S,
        barge_in: bool = True,
        aggressiveness: int = DEFAULT_AGGRESSIVENESS,
        min_speech_s: float = DEFAULT_MIN_SPEECH_S,
    ) -> None:
        self.endpointer = Endpointer(silence_s=silence_s, min_speech_s=min_speech_s, aggressiveness=aggressiveness)
        self.gate = EchoGate(barge_in=barge_in)
        self._framer = Framer(aggressiveness)
        self.paused = False
        self.level = 0.0  # RMS of the last frame, 0 … 1

    def feed(self, samples: np.ndarray, now: float) -> list[Event]:
        """16 kHz mono float32 whose last sample arrived at ``now``; the events it completes, in order."""
        events: list[Event] = []
        for frame in self._framer.push(samples, now):
            self.level = frame.rms
            events.extend(self._frame(frame))
        return events

    def _frame(self, frame: Frame) -> list[Event]:
        if not self.gate.in_echo(frame.end):
            return self.endpointer.push_frame(frame, may_start=not self.paused)
        if not self.gate.barge_in:
            return []
        events: list[Event] = []
        barge = self.gate.push(frame)
        if isinstance(barge, BargeIn):
            self.paused = False
            events = [barge, *self.endpointer.start_turn(barge.voice_started_at)]
        events.extend(self.endpointer.push_frame(self.gate.admit(frame), may_start=False))
        return events

    def set_app_speaking(self, speaking: bool, now: float) -> None:
        self.gate.set_app_speaking(speaking, now)
        if speaking and not self.gate.barge_in:
            self.endpointer.reset_turn()

    def pause(self) -> None:
        self.paused = True
        self.endpointer.reset_turn()

    def resume(self) -> None:
        self.paused = False

    def reset(self) -> None:
        """A new stream: forget the frames, the partial frame and any turn."""
        self._framer.reset()
        self.endpointer.reset()
