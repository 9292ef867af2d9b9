"""How long a voice turn took, from the end of the user's speech to the first sound of the answer.

The window stamps each step with ``time.perf_counter()`` as it happens and logs
``describe()`` once the answer starts playing; a step that has not happened
(no speech output, or a stopped answer) is ``None`` and is left out of the line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class VoiceTurnTimes:
    speech_end: float  # Utterance.ended_at: the end of the last voiced frame
    sent: float | None = None  # the turn handed to the chat core
    first_token: float | None = None  # the answer's first token arrived
    first_audio: float | None = None  # the answer's first sound reached the speakers
    first_sentence: float | None = None  # the answer's first sentence was complete (reading can start)

    @property
    def to_sent_s(self) -> float | None:
        return None if self.sent is None else self.sent - self.speech_end

    @property
    def to_first_token_s(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.speech_end

    @property
    def to_first_audio_s(self) -> float | None:
        return None if self.first_audio is None else self.first_audio - self.speech_end

    @property
    def sentence_to_audio_s(self) -> float | None:
        """From the first complete sentence to its sound: the speech engine's own share of the wait."""
        if self.first_audio is None or self.first_sentence is None:
            return None
        return self.first_audio - self.first_sentence

    def short(self) -> str:
        """``first token 0.42 s · first audio 0.61 s after you stopped speaking`` (for an answer's stats line)."""
        steps = [("first token", self.to_first_token_s), ("first audio", self.to_first_audio_s)]
        known = [f"{name} {seconds:.2f} s" for name, seconds in steps if seconds is not None]
        return " · ".join(known) + " after you stopped speaking" if known else ""

    def describe(self) -> str:
        """``voice turn: end of speech → first token 0.42 s → first audio 0.61 s`` (the steps known so far)."""
        steps = [("sent", self.to_sent_s), ("first token", self.to_first_token_s)]
        steps.append(("first audio", self.to_first_audio_s))
        known = [f"{name} {seconds:.2f} s" for name, seconds in steps if seconds is not None]
        return " → ".join(["voice turn: end of speech", *known])
