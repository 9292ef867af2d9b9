"""A real microphone for tests: a PulseAudio null sink whose monitor is the default source.

Through ALSA's PulseAudio plugin a new input stream may deliver its first block
a second or two after it starts; tests (like a person watching the level meter)
start speaking once ``Recorder.listening`` is true.

``.ci/run`` starts PulseAudio; ``ensure_virtual_mic()`` starts it too when it
is not running (a developer's machine), loads the ``vmic`` null sink once,
makes its monitor the default source, and re-initialises PortAudio so it
sees the device. ``play(wav)`` sends a file into the sink (``paplay``): a
sounddevice input stream on the default device then hears it. ``speech_wav``
writes spoken English with espeak-ng.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

SINK = "vmic"


class NoVirtualMic(Exception):
    """What is missing, for the skip message."""


def _pactl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)


def ensure_virtual_mic() -> None:
    for tool, package in (("pulseaudio", "pulseaudio"), ("pactl", "pulseaudio-utils"), ("paplay", "pulseaudio-utils")):
        if shutil.which(tool) is None:
            raise NoVirtualMic(f"no PulseAudio: {tool} is missing (apt install {package})")
    if _pactl("info").returncode != 0:
        subprocess.run(["pulseaudio", "-D", "--exit-idle-time=-1"], capture_output=True, timeout=20)
        for _ in range(50):
            if _pactl("info").returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise NoVirtualMic("no PulseAudio: the server did not start")
    if SINK not in _pactl("list", "short", "sinks").stdout:
        loaded = _pactl("load-module", "module-null-sink", f"sink_name={SINK}")
        if loaded.returncode != 0:
            raise NoVirtualMic(f"no PulseAudio null sink: {loaded.stderr.strip()}")
    _pactl("set-default-source", f"{SINK}.monitor")
    _pactl("set-default-sink", SINK)
    _pactl("set-source-mute", f"{SINK}.monitor", "0")
    import sounddevice as sd  # PortAudio lists devices when it starts: start it again to see PulseAudio's

    sd._terminate()
    sd._initialize()


def play(wav: Path, *, wait: bool = True) -> subprocess.Popen[bytes]:
    """Play ``wav`` into the virtual microphone."""
    proc = subprocess.Popen(["paplay", f"--device={SINK}", str(wav)])
    if wait:
        proc.wait(timeout=60)
    return proc


def speech_wav(path: Path, text: str) -> Path:
    if shutil.which("espeak-ng") is None:
        raise NoVirtualMic("no espeak-ng (apt install espeak-ng)")
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True, timeout=30)
    return path
