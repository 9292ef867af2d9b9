"""Play a recording from the conversation through the default output device (sounddevice), one at a time.

Decoding and playing run on a worker thread; ``started``/``finished`` come
back as queued signals. Starting another clip stops the one playing. No
PortAudio or no output device is a message, never an exception.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class ClipPlayer(QObject):
    # Signals
    started = Signal(object)  # Path
    finished = Signal(object)  # Path (played to the end or stopped)
    failed = Signal(str)
    _ended = Signal(int, object)  # from the worker: which play() ended, its Path

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.playing: Path | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._ended.connect(self._on_ended)

    def toggle(self, path: Path) -> None:
        """Play ``path``, or stop it when it is the clip playing."""
        if self.playing == path:
            self.stop()
        else:
            self.play(path)

    def play(self, path: Path) -> None:
        self.stop()
        self._stop = threading.Event()
        self._generation += 1
        self.playing = path
        args = (path, self._stop, self._generation)
        self._thread = threading.Thread(target=self._run, args=args, name="clip-player", daemon=True)
        self._thread.start()
        self.started.emit(path)

    def stop(self) -> None:
        """Ask the clip playing to stop; its thread closes the stream by itself (never waited for here)."""
        self._stop.set()

    def wait(self, timeout: float = 2.0) -> None:
        """Wait for the playing thread to end (the window closing)."""
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, path: Path, stop: threading.Event, generation: int) -> None:
        try:
            import sounddevice as sd
            import soundfile as sf

            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
            position = 0

            def callback(out: object, frames: int, _time: object, _status: object) -> None:
                nonlocal position
                chunk = data[position : position + frames]
                buffer = out  # numpy array (frames, channels)
                buffer[: len(chunk)] = chunk  # type: ignore[index]
                buffer[len(chunk) :] = 0  # type: ignore[index]
                position += frames
                if position >= len(data):
                    raise sd.CallbackStop

            done = threading.Event()
            with sd.OutputStream(
                samplerate=rate, channels=data.shape[1], dtype="float32", callback=callback, finished_callback=done.set
            ):
                while not done.wait(0.05):
                    if stop.is_set():
                        break
        except OSError as exc:  # no PortAudio (sounddevice's import) or an unreadable file
            self.failed.emit(f"{path.name} cannot be played: {exc}")
        except Exception as exc:  # PortAudioError: no output device
            log.info("playing %s failed: %s", path, exc)
            self.failed.emit(f"{path.name} cannot be played here: {exc}")
        finally:
            self._ended.emit(generation, path)

    def _on_ended(self, generation: int, path: Path) -> None:
        if generation == self._generation:  # not a clip replaced meanwhile
            self.playing = None
            self.finished.emit(path)
