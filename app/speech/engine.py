"""Which text-to-speech engine to use, and what to tell the user when there is none.

Qt's QtTextToSpeech loads its engines as plugins: 'speechd' (speech-dispatcher) on Linux, 'darwin' on macOS,
'winrt' and 'sapi' on Windows, and 'mock', Qt's own test engine, which makes no sound and is never chosen.
``GEMMA_DESK_SPEECH_ENGINE`` names an engine to use instead (``none``, or any name that is not installed,
behaves like a machine without one).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtTextToSpeech import QTextToSpeech

#: The environment variable that forces an engine by name.
ENGINE_VARIABLE = "GEMMA_DESK_SPEECH_ENGINE"
#: What the user reads when no engine can speak, with the way out.
NO_ENGINE = (
    "No speech engine is installed, so answers cannot be read aloud "
    "(Debian/Ubuntu: sudo apt install speech-dispatcher speech-dispatcher-espeak-ng)."
)
#: Qt's test engine: silent, never used by the app.
_MOCK = "mock"
#: Each platform's own engines, best first.
_PREFERRED = {"linux": ("speechd",), "darwin": ("darwin",), "win32": ("winrt", "sapi")}


def available_engines() -> list[str]:
    """The engines Qt finds (Qt's test engine left out); none when QtTextToSpeech itself is missing."""
    try:
        from PySide6.QtTextToSpeech import QTextToSpeech
    except ImportError:  # a PySide6 built or bundled without the module
        return []
    return [name for name in QTextToSpeech.availableEngines() if name != _MOCK]


def choose_engine(available: list[str], platform: str = sys.platform, forced: str | None = None) -> str | None:
    """The engine to speak with: ``forced`` when it is available, else the platform's own, else any other one;
    None when there is none (a forced engine that is missing gives none too: the user asked for that one)."""
    if forced:
        return forced if forced in available and forced != _MOCK else None
    own = next((names for key, names in _PREFERRED.items() if platform.startswith(key)), ())
    return next((name for name in own if name in available), None) or next(
        (name for name in available if name != _MOCK), None
    )


def engine_for_this_machine() -> str | None:
    """``choose_engine`` for this machine and its environment."""
    return choose_engine(available_engines(), forced=os.environ.get(ENGINE_VARIABLE) or None)


@dataclass(frozen=True)
class SpeechStatus:
    """What the self-check and About show: the engine in use, its voices, and what stops it (empty: nothing)."""

    engine: str
    voices: list[str] = field(default_factory=list)
    problem: str = ""


def speech_status() -> SpeechStatus:
    """Opens the engine to list its voices. speech-dispatcher takes seconds to list espeak-ng's (about 1,500
    voices): call this off the GUI thread. Needs a Q(Core)Application."""
    engine = engine_for_this_machine()
    if engine is None:
        return SpeechStatus("", [], NO_ENGINE)
    from PySide6.QtTextToSpeech import QTextToSpeech

    tts = QTextToSpeech(engine)
    try:
        if tts.state() == QTextToSpeech.State.Error:
            return SpeechStatus(engine, [], engine_error(tts))
        return SpeechStatus(engine, [voice.name() for voice in tts.availableVoices()])
    finally:
        tts.deleteLater()


def engine_error(tts: QTextToSpeech) -> str:
    """The engine's own error string, or a plain one when it gives none."""
    name = tts.engine() or "speech"
    return tts.errorString() or f"The {name} engine failed, so answers cannot be read aloud."
