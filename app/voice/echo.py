"""Barge-in without the playback signal: is that the user talking over the app, or the app's own echo?

While the app speaks, its voice leaves the speakers and some of it comes back
through the microphone. Real echo cancellation needs the played signal sample
by sample; we do not have it (the speech may play in another process, through
any output), so the gate works on levels alone. It learns the echo level
while the app speaks — the mean RMS of the voiced frames heard, over about a
second — and calls a frame the user's voice only when WebRTC's VAD says voiced
**and** its RMS is above ``max(floor, ratio × echo level)``. ``BARGE_IN_S`` of
such frames within ``BARGE_IN_WINDOW_S`` is a barge-in: a loud syllable of the
echo is not, a person starting to speak is.

Why a mean and not a peak envelope: speech is peaky (a syllable's frames are
three to ten times its pauses), so a bar set by the echo's peaks also sat above
most frames of a user speaking 10 dB louder than the echo, and a user's run of
four loud frames was rare. Against the mean, at ``ratio`` 2.5 (8 dB), the
tests' sweep (two answers as echo, three user phrases at 27 start times each)
found no false barge-in and every barge-in of a user 10 dB above the echo;
a peak envelope found under a third of them, with false ones at its onset.
Unvoiced frames and frames judged to be the user are kept out of the mean
(else pauses would lower the bar and talking would raise it). The first
``LEARN_S`` of each time the app speaks only teaches the level: with none yet,
the app's own first syllable would count as the user.
After the app stops, the room and the output buffers still sound for
``ECHO_TAIL_S``: frames then are held to the same bar, so the end of the
app's sentence never starts a turn.

Trade-off, said plainly: with loud speakers next to the microphone the user
has to speak clearly louder than the echo (``ratio``, about 8 dB) to
interrupt. ``barge_in=False`` is the half-duplex choice: the listener does
not listen at all while the app speaks.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

from app.voice.endpoint import ENERGY_FLOOR
from app.voice.events import BargeIn
from app.voice.frames import FRAME_S, Frame

ECHO_RATIO = 2.5
BARGE_IN_S = 0.12
BARGE_IN_WINDOW_S = 0.2
ECHO_TAIL_S = 0.35
LEARN_S = 0.25
ECHO_AVERAGE_S = 1.0  # the echo level is the mean over about this long (all of it, at first)


class EchoGate:
    """Judges frames while the app speaks and just after. One thread only; times are the frames' clock."""

    def __init__(
        self,
        *,
        barge_in: bool = True,
        ratio: float = ECHO_RATIO,
        floor: float = ENERGY_FLOOR,
        tail_s: float = ECHO_TAIL_S,
    ) -> None:
        self.barge_in = barge_in
        self.ratio = ratio
        self.floor = floor
        self.tail_s = tail_s
        self.echo_level = 0.0
        self._speaking = False
        self._since = -math.inf  # when the app started speaking
        self._stopped = -math.inf  # when it stopped
        self._learned = 0  # frames averaged into the echo level since the app started speaking
        self._barged = False  # one barge-in per time the app speaks
        self._run: deque[Frame] = deque()  # recent frames judged to be the user's voice
        self._need = math.ceil(BARGE_IN_S / FRAME_S - 1e-9)

    @property
    def app_speaking(self) -> bool:
        return self._speaking

    def set_app_speaking(self, speaking: bool, now: float) -> None:
        """The app started (or stopped) playing its voice at ``now``; each time it starts, the level is learnt anew."""
        if speaking and not self._speaking:
            self._since, self._learned, self._barged = now, 0, False
        elif self._speaking and not speaking:
            self._stopped = now
        self._speaking = speaking
        self._run.clear()

    def in_echo(self, at: float) -> bool:
        """Whether a frame ending at ``at`` may hold the app's own voice (speaking, or its tail)."""
        return self._speaking or at < self._stopped + self.tail_s

    @property
    def threshold(self) -> float:
        """The RMS a voiced frame must exceed to be the user's while the app's echo may be heard."""
        return max(self.floor, self.ratio * self.echo_level)

    def is_user(self, frame: Frame) -> bool:
        return frame.voiced and frame.rms > self.threshold

    def admit(self, frame: Frame) -> Frame:
        """The frame as the endpointer should judge it: in the echo, voiced only when loud enough to be the user."""
        if not self.in_echo(frame.end) or frame.voiced == self.is_user(frame):
            return frame
        return replace(frame, voiced=False)

    def push(self, frame: Frame) -> BargeIn | None:
        """Follow the echo level while the app speaks; a ``BargeIn`` when the user talks over it."""
        if not self._speaking or self._barged:
            return None
        while self._run and self._run[0].start < frame.end - BARGE_IN_WINDOW_S - 1e-9:
            self._run.popleft()
        if not self.barge_in or frame.end < self._since + LEARN_S or not self.is_user(frame):
            self._learn(frame)
            return None
        self._run.append(frame)
        if len(self._run) < self._need:
            return None
        self._barged = True
        return BargeIn(frame.end, self._run[0].start)

    def _learn(self, frame: Frame) -> None:
        if not (frame.voiced and frame.rms >= self.floor):
            return
        self._learned += 1
        weight = max(1.0 / self._learned, FRAME_S / ECHO_AVERAGE_S)
        self.echo_level += weight * (frame.rms - self.echo_level)
