"""Reading answers aloud with the system's speech engine (Qt's QtTextToSpeech; no widgets).

``Speaker`` speaks a streaming answer sentence by sentence; ``speech_status()`` says which engine this machine
has, its voices, and what to install when there is none.
"""

from __future__ import annotations

from app.speech import _quiet  # noqa: F401  (first: see its docstring)
from app.speech.engine import NO_ENGINE, SpeechStatus, speech_status
from app.speech.speaker import Speaker

__all__ = ["NO_ENGINE", "Speaker", "SpeechStatus", "speech_status"]
