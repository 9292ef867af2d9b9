"""Endpointing: where a spoken turn starts and where it ends, from 30 ms frames of 16 kHz audio.

A frame is *speech* when WebRTC's VAD calls it voiced **and** its RMS is at least
``energy_floor``. The VAD alone is not enough: it keeps saying "voiced" for a few
frames after a word (its own hangover, even over digital silence) and it takes
steady hiss for a voice now and then; the floor (about -48 dBFS) is below any
voice a microphone picks up from a speaking distance and above a quiet room's hiss.

A turn starts (``SpeechStarted``) once ``min_speech_s`` of speech frames fall in a
window half as long again: a cough or a click is shorter and never starts one,
while short pauses inside a first word do not delay it. The turn's audio begins
``PRE_ROLL_S`` before the first speech frame, because the VAD misses the soft
start of a word ("f" in "France"). The turn ends (``Utterance``) after
``silence_s`` without speech; its audio stops ``TAIL_S`` after the last speech
frame (the fading end of the word), not at the end of the wait. A turn reaching
``max_s`` (30 s, the longest part Gemma hears at once) is sent at once and
listening goes on: the rest of a long speech starts a new turn.

Memory stays bounded while nobody talks: only the last second of frames is kept.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from app.media.audio import AUDIO_SAMPLE_RATE, MAX_CLIP_SECONDS
from app.voice.events import Event, SpeechStarted, Utterance
from app.voice.frames import DEFAULT_AGGRESSIVENESS, FRAME_S, Frame, Framer

#: The user's setting "pause before sending", in seconds.
DEFAULT_SILENCE_S = 0.8
MIN_SILENCE_S = 0.3
MAX_SILENCE_S = 3.0
DEFAULT_MIN_SPEECH_S = 0.25
#: RMS below which a frame is not speech, whatever the VAD says (-48 dBFS).
ENERGY_FLOOR = 0.004
PRE_ROLL_S = 0.3
TAIL_S = 0.2
_HISTORY_S = 1.0  # frames kept while idle: the start window plus the pre-roll, with room to spare


def check_silence_s(silence_s: float) -> float:
    """The pause-before-sending setting, or ValueError when out of its range."""
    if not MIN_SILENCE_S <= silence_s <= MAX_SILENCE_S:
        raise ValueError(f"the pause before sending is {MIN_SILENCE_S} … {MAX_SILENCE_S} s, not {silence_s}")
    return silence_s


def _frames(seconds: float) -> int:
    return math.ceil(seconds / FRAME_S - 1e-9)


class Endpointer:
    """Turns audio into ``SpeechStarted`` and ``Utterance`` events. One thread only; times are the caller's."""

    def __init__(
        self,
        *,
        silence_s: float = DEFAULT_SILENCE_S,
        min_speech_s: float = DEFAULT_MIN_SPEECH_S,
        aggressiveness: int = DEFAULT_AGGRESSIVENESS,
        energy_floor: float = ENERGY_FLOOR,
        max_s: float = MAX_CLIP_SECONDS,
    ) -> None:
        self.silence_s = check_silence_s(silence_s)  # may be changed between frames (a setting)
        self.energy_floor = energy_floor
        self._need = _frames(min_speech_s)
        self._window = self._need + max(2, self._need // 2)
        self._max_samples = round(max_s * AUDIO_SAMPLE_RATE)
        self._framer = Framer(aggressiveness)
        # (frame, may it start a turn): the pre-roll and the start window while nobody talks
        self._history: deque[tuple[Frame, bool]] = deque(maxlen=max(_frames(_HISTORY_S), self._window + 12))
        self._turn: list[Frame] = []
        self._active = False
        self._voiced = 0  # speech frames in the turn
        self._onset = 0.0  # start of the turn's first speech frame
        self._last_end = 0.0  # end of its last speech frame (the end of speech so far)
        self._end_index = 0  # frames of the turn up to and with its last speech frame

    @property
    def in_turn(self) -> bool:
        return self._active

    def feed(self, samples: np.ndarray, now: float) -> list[Event]:
        """Take 16 kHz mono float32 audio of any length whose last sample arrived at ``now``."""
        events: list[Event] = []
        for frame in self._framer.push(samples, now):
            events.extend(self.push_frame(frame))
        return events

    def is_speech(self, frame: Frame) -> bool:
        return frame.voiced and frame.rms >= self.energy_floor

    def push_frame(self, frame: Frame, *, may_start: bool = True) -> list[Event]:
        """One frame; ``may_start=False`` keeps it for the pre-roll but lets it start no turn (the app's echo)."""
        if self._active:
            return self._continue(frame)
        self._history.append((frame, may_start))
        if not (may_start and self.is_speech(frame)):
            return []
        recent = [f for f, allowed in list(self._history)[-self._window :] if allowed and self.is_speech(f)]
        if len(recent) < self._need:
            return []
        return self.start_turn(recent[0].start)

    def start_turn(self, at: float) -> list[Event]:
        """Start a turn whose voice began at ``at``, from the frames kept (a barge-in starts one this way)."""
        if self._active:
            return []
        self._turn = [f for f, _ in self._history if f.end > at - PRE_ROLL_S + 1e-6]
        self._history.clear()
        self._active, self._onset, self._last_end, self._end_index = True, at, at, 0
        self._voiced = 0
        for i, frame in enumerate(self._turn):
            if frame.end > at and self.is_speech(frame):
                self._voiced, self._last_end, self._end_index = self._voiced + 1, frame.end, i + 1
        return [SpeechStarted(at)]

    def _continue(self, frame: Frame) -> list[Event]:
        self._turn.append(frame)
        if self.is_speech(frame):
            self._voiced, self._last_end, self._end_index = self._voiced + 1, frame.end, len(self._turn)
        if len(self._turn) * len(frame.samples) >= self._max_samples:
            return self._finish(cut=True)
        if frame.end - self._last_end >= self.silence_s - 1e-9:
            return self._finish(cut=False)
        return []

    def _finish(self, *, cut: bool) -> list[Event]:
        """The turn as an Utterance (none when it held too little speech: a cough after a barge-in)."""
        turn, voiced, onset, ended_at = self._turn, self._voiced, self._onset, self._last_end
        end = len(turn) if cut else min(len(turn), self._end_index + _frames(TAIL_S))
        self.reset_turn()
        self._history.extend((f, True) for f in turn[end:])  # the pause after it: the next turn's pre-roll
        if voiced < self._need and not cut:
            return []
        samples = np.concatenate([f.samples for f in turn[:end]])[: self._max_samples]
        samples.flags.writeable = False
        return [Utterance(samples, max(0.0, ended_at - onset), ended_at)]

    def reset_turn(self) -> None:
        """Forget the turn in progress (and the frames kept for a pre-roll); the VAD keeps its state."""
        self._turn, self._active, self._voiced = [], False, 0
        self._history.clear()

    def reset(self) -> None:
        """Forget everything heard so far, the partial frame too (after a pause, or a new stream)."""
        self.reset_turn()
        self._framer.reset()
