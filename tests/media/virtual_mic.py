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

``ensure_virtual_speaker()`` adds the other half of a room: a second null sink,
``vspk``, made the default output (where the app's own voice goes), and a
loopback from its monitor into ``vmic`` at a third of the level (linear 0.35,
-9 dB, 30 ms late): the app's voice leaking back into the microphone as echo.
``SpeakerRecorder`` records ``vspk``'s monitor with ``parec`` and dates each
sample, to measure when the app's sound starts and stops.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

SINK = "vmic"
SPEAKER = "vspk"
#: How much of the app's voice leaks back into the microphone (a linear factor: -9 dB).
ECHO_VOLUME = 0.35
ECHO_LATENCY_MS = 30
SPEAKER_RATE = 16_000


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
    if SPEAKER not in _pactl("list", "short", "sinks").stdout:  # the app's voice goes to the speaker, when there is one
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


def ensure_virtual_speaker() -> None:
    """The virtual microphone, plus ``vspk`` as the default output whose sound leaks into ``vmic`` (echo)."""
    ensure_virtual_mic()
    if SPEAKER not in _pactl("list", "short", "sinks").stdout:
        loaded = _pactl("load-module", "module-null-sink", f"sink_name={SPEAKER}")
        if loaded.returncode != 0:
            raise NoVirtualMic(f"no PulseAudio null sink for the speaker: {loaded.stderr.strip()}")
    loopback = _echo_loopback()
    if loopback is None:
        args = f"source={SPEAKER}.monitor sink={SINK} latency_msec={ECHO_LATENCY_MS}"
        loaded = _pactl("load-module", "module-loopback", *args.split())
        if loaded.returncode != 0:
            raise NoVirtualMic(f"no PulseAudio loopback for the echo: {loaded.stderr.strip()}")
        loopback = loaded.stdout.strip()
    for _ in range(50):  # the loopback's sink input appears a moment after its module
        stream = _sink_input_of(loopback)
        if stream is not None:
            _pactl("set-sink-input-volume", stream, str(ECHO_VOLUME))  # a decimal point: a linear factor
            break
        time.sleep(0.02)
    else:
        raise NoVirtualMic("the echo loopback has no sink input")
    _pactl("set-default-sink", SPEAKER)


def _echo_loopback() -> str | None:
    """The index of the loopback module from ``vspk``'s monitor, if loaded."""
    for line in _pactl("list", "short", "modules").stdout.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1] == "module-loopback" and f"source={SPEAKER}.monitor" in fields[2]:
            return fields[0]
    return None


def _sink_input_of(module: str) -> str | None:
    for block in _pactl("list", "sink-inputs").stdout.split("Sink Input #")[1:]:
        if re.search(rf"Owner Module: {module}\b", block):
            return block.split(None, 1)[0]
    return None


class SpeakerRecorder:
    """What the app plays, as it reaches the (virtual) speaker: ``vspk``'s monitor at 16 kHz mono.

    ``parec`` writes raw 16-bit samples; a reader thread keeps each chunk with the ``time.perf_counter()``
    at which it arrived, so every sample is dated (the last sample of a chunk at its arrival, the others
    before it at the sample rate). PulseAudio's own buffering adds ~10 ms, which the dates do not remove.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._chunks: list[tuple[float, np.ndarray]] = []

    def start(self) -> SpeakerRecorder:
        if shutil.which("parec") is None:
            raise NoVirtualMic("no parec (apt install pulseaudio-utils)")
        command = ["parec", f"--device={SPEAKER}.monitor", "--raw", "--format=s16le"]
        command += [f"--rate={SPEAKER_RATE}", "--channels=1", "--latency-msec=10"]
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE)
        self._thread = threading.Thread(target=self._read, args=(self._proc,), daemon=True)
        self._thread.start()
        return self

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        fd, odd = proc.stdout.fileno(), b""
        while data := os.read(fd, 640):  # 20 ms
            arrived = time.perf_counter()
            data, odd = odd + data, b""
            if len(data) % 2:
                data, odd = data[:-1], data[-1:]
            chunk = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
            with self._lock:
                self._chunks.append((arrived, chunk))

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """(samples float32, each one's arrival time) recorded so far."""
        with self._lock:
            chunks = list(self._chunks)
        if not chunks:
            return np.zeros(0, dtype=np.float32), np.zeros(0)
        samples = np.concatenate([c for _, c in chunks])
        times = np.concatenate([t - np.arange(len(c) - 1, -1, -1) / SPEAKER_RATE for t, c in chunks])
        return samples, times

    def stop(self) -> tuple[np.ndarray, np.ndarray]:
        """End the recording: (samples float32, each one's arrival time)."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        return self.samples()

    def first_sound_at(self, threshold: float = 0.01) -> float | None:
        """When the first sample at least ``threshold`` loud arrived (``perf_counter``), or None."""
        samples, times = self.samples()
        loud = np.flatnonzero(np.abs(samples) >= threshold)
        return float(times[loud[0]]) if len(loud) else None

    def last_sound_at(self, threshold: float = 0.01) -> float | None:
        """When the last sample at least ``threshold`` loud arrived (``perf_counter``), or None."""
        samples, times = self.samples()
        loud = np.flatnonzero(np.abs(samples) >= threshold)
        return float(times[loud[-1]]) if len(loud) else None
