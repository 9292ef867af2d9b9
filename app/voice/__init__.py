"""Hands-free voice turns (no Qt): the microphone always open, turns found by voice activity, barge-in.

``Listener`` (listener.py) owns the input stream and a worker thread; the window
polls its events (``SpeechStarted``, ``Utterance``, ``BargeIn``, ``DeviceLost``)
from a timer. The worker judges 30 ms frames (frames.py) with the ``Endpointer``
(endpoint.py: where a turn starts and ends) and the ``EchoGate`` (echo.py: the
user talking over the app's own voice). ``VoiceTurnTimes`` (timings.py) measures
a turn from the end of speech to the answer's first sound.
"""

from app.voice.echo import EchoGate
from app.voice.endpoint import DEFAULT_SILENCE_S, MAX_SILENCE_S, MIN_SILENCE_S, Endpointer
from app.voice.events import BargeIn, DeviceLost, Event, SpeechStarted, Utterance
from app.voice.listener import Listener
from app.voice.timings import VoiceTurnTimes

__all__ = [
    "DEFAULT_SILENCE_S",
    "MAX_SILENCE_S",
    "MIN_SILENCE_S",
    "BargeIn",
    "DeviceLost",
    "EchoGate",
    "Endpointer",
    "Event",
    "Listener",
    "SpeechStarted",
    "Utterance",
    "VoiceTurnTimes",
]
