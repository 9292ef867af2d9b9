"""``gemma-desk --self-check``: what this machine offers the app — sound library, microphones, cameras.

Prints one fact per line and exits 0 whatever it finds (a missing microphone is
a fact, not a failure), so it can run in installers, bug reports and CI.
"""

from __future__ import annotations

import platform
import sys
from typing import TextIO

from app import __version__


def run(out: TextIO = sys.stdout) -> int:
    from app.media.camera import list_cameras
    from app.media.recorder import mic_status

    def say(label: str, value: str) -> None:
        out.write(f"{label + ':':<18} {value}\n")

    say("Gemma Desk", __version__)
    say("Python", f"{platform.python_version()} on {platform.system()} {platform.machine()}")
    status = mic_status()
    say("PortAudio", status.portaudio or f"not available — {status.problem}")
    if status.devices:
        for device in status.devices:
            mark = " (default)" if device.is_default else ""
            rate = f"{device.sample_rate / 1000:g} kHz"
            say("Microphone", f"{device.name}{mark}, {device.channels} channel(s), {rate}")
    elif status.portaudio:
        say("Microphone", "none found")
    cameras = list_cameras()
    say("Cameras", ", ".join(c.label for c in cameras) if cameras else "none that open")
    out.flush()
    return 0
