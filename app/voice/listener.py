"""The always-open microphone for hands-free turns: one input stream, one worker thread, events in a queue.

``Listener`` opens a sounddevice input stream at the device's own rate (as the
push-to-talk ``Recorder`` does). The audio callback only copies each block, with
its arrival time, into a queue: PortAudio's thread must never wait, and soxr
and webrtcvad take time. A worker thread resamples to 16 kHz (one streaming
soxr resampler, so block edges leave no clicks), runs ``VoiceTurns`` and puts
its events in a ``queue.Queue``; the window polls ``poll()`` from a timer,
so no signal crosses threads. ``level`` is a float written by the worker
and read by anyone.

A microphone that goes away does not always say so: PortAudio may end the
stream (its finished callback), or the callback may simply stop being
called. Both end listening with one ``DeviceLost`` whose message says what
happened and what to do; so does a stream that never delivers a first block.
A lost stream is aborted, not stopped: ``stop()`` waits for the device to
drain and a stalled one never does (seen with PulseAudio's suspended source),
and after an abort the next stream hears again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import numpy as np
import soxr

from app.media.audio import AUDIO_SAMPLE_RATE
from app.media.recorder import NO_INPUT, MicError, _sounddevice
from app.voice.endpoint import DEFAULT_SILENCE_S, check_silence_s
from app.voice.events import DeviceLost, Event
from app.voice.frames import DEFAULT_AGGRESSIVENESS
from app.voice.turns import VoiceTurns

log = logging.getLogger(__name__)

DEVICE_LOST = "The microphone stopped (unplugged?). Hands-free is off; plug it back in and turn it on again."
NO_AUDIO = (
    "The microphone sends no sound. Hands-free is off; check that it is connected and not used by another "
    "program, then turn it on again."
)
#: No block for this long, after blocks came, means the device is gone (blocks come every ~10-100 ms).
STALL_S = 2.0
#: A stream that ends by itself is opened again, at most this many times in this many seconds; then it is lost.
MAX_REOPENS, REOPEN_WINDOW_S = 3, 60.0
#: Some hosts (ALSA's PulseAudio plugin) take a second or two before the first block.
FIRST_BLOCK_S = 5.0
_STOP = None  # the worker's "end now" in the block queue


class Listener:
    """Hands-free listening; ``start``/``stop``/``pause``/``resume``/``set_app_speaking``/``poll`` from one thread."""

    def __init__(
        self,
        *,
        silence_s: float = DEFAULT_SILENCE_S,
        barge_in: bool = True,
        aggressiveness: int = DEFAULT_AGGRESSIVENESS,
        device: int | str | None = None,
        stall_s: float = STALL_S,
    ) -> None:
        self.device = device
        self.stall_s = stall_s
        self._turns = VoiceTurns(silence_s=silence_s, barge_in=barge_in, aggressiveness=aggressiveness)
        self._lock = threading.Lock()  # around self._turns: the worker feeds it, the window sets its state
        self._blocks: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue()
        self._events: queue.Queue[Event] = queue.Queue()
        self._stream: Any = None
        self._worker: threading.Thread | None = None
        self._rate = 0
        self._stopping = False
        self._frames_in = 0  # device-rate samples received since start()
        self._reopened: list[float] = []  # when the stream was opened again after ending by itself
        self._generation = 0  # the current stream's number: an older one's end is ignored
        self.level = 0.0  # RMS of the last 30 ms, 0 … 1

    @property
    def running(self) -> bool:
        """Started and not yet stopped or lost."""
        return self._worker is not None and not self._stopping

    @property
    def listening(self) -> bool:
        """Audio is arriving (some hosts take a moment after ``start()`` before the first block)."""
        return self.running and self._frames_in > 0

    @property
    def hearing(self) -> bool:
        """A turn is under way (someone is talking, or paused mid-turn): it ends as an utterance, or is dropped
        (too short to be speech) — which ``SpeechStarted`` alone would never tell."""
        with self._lock:
            return self._turns.endpointer.in_turn

    @property
    def paused(self) -> bool:
        return self._turns.paused

    @property
    def silence_s(self) -> float:
        """The pause that ends a turn (the user's setting, 0.3 … 3 s); takes effect at once."""
        return self._turns.endpointer.silence_s

    @silence_s.setter
    def silence_s(self, seconds: float) -> None:
        with self._lock:
            self._turns.endpointer.silence_s = check_silence_s(seconds)

    @property
    def barge_in(self) -> bool:
        """Whether the user may talk over the app (else nothing is heard while it speaks)."""
        return self._turns.gate.barge_in

    @barge_in.setter
    def barge_in(self, allowed: bool) -> None:
        with self._lock:
            self._turns.gate.barge_in = allowed

    def start(self) -> None:
        """Open the microphone and start listening (MicError with the reason when it cannot)."""
        if self.running:
            raise MicError("Hands-free listening is already on.")
        sd = _sounddevice()
        try:
            info = sd.query_devices(self.device, kind="input")
        except Exception as exc:
            raise MicError(NO_INPUT) from exc
        self._rate = round(float(info["default_samplerate"]) or 48000)
        self._blocks, self._events = queue.Queue(), queue.Queue()  # nothing from an earlier start comes out
        self._frames_in, self._stopping, self.level = 0, False, 0.0
        with self._lock:
            self._turns.reset()
        self._reopened = []
        try:
            self._stream = self._open_stream()
        except Exception as exc:  # PortAudioError: busy, unplugged, refused
            raise MicError(f"The microphone ({info['name']}) could not be opened: {exc}") from exc
        self._worker = threading.Thread(target=self._work, name="voice-listener", daemon=True)
        self._worker.start()

    def _open_stream(self) -> Any:
        generation = self._generation
        stream = _sounddevice().InputStream(
            device=self.device,
            channels=1,
            samplerate=self._rate,
            dtype="float32",
            callback=self._callback,
            finished_callback=lambda: self._finished(generation),
        )
        stream.start()
        return stream

    def _callback(self, indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        if status:
            log.debug("input stream: %s", status)  # overflows: a block was lost, the stream goes on
        self._blocks.put_nowait((indata[:, 0].copy(), time.perf_counter()))
        self._frames_in += frames

    def _finished(self, generation: int) -> None:
        """PortAudio ended the stream: ours when stopping (or replacing it), else it ended by itself."""
        if not self._stopping and generation == self._generation:
            self._blocks.put_nowait(_STOP)

    def stop(self) -> None:
        """Close the microphone and end the worker (may take a moment: call it off the GUI thread)."""
        self._stopping = True
        self._close_stream()
        self._blocks.put_nowait(_STOP)
        worker, self._worker = self._worker, None
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=5)

    def _close_stream(self, *, abort: bool = False) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            if abort:
                stream.abort()
            else:
                stream.stop()  # not abort(): that can leave ALSA's PulseAudio plugin deaf for the next stream
            stream.close()
        except Exception as exc:  # a device already gone may refuse to stop
            log.info("closing the input stream: %s", exc)

    def set_app_speaking(self, speaking: bool, now: float | None = None) -> None:
        """The app's voice started or stopped playing (``now``: ``time.perf_counter()`` when it did)."""
        with self._lock:
            self._turns.set_app_speaking(speaking, time.perf_counter() if now is None else now)

    def pause(self) -> None:
        """Stop taking turns (a turn is being sent or answered); a barge-in still comes, and resumes."""
        with self._lock:
            self._turns.pause()

    def resume(self) -> None:
        with self._lock:
            self._turns.resume()

    def poll(self) -> list[Event]:
        """The events since the last call, oldest first (never blocks)."""
        events: list[Event] = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def _work(self) -> None:
        resampler = soxr.ResampleStream(self._rate, AUDIO_SAMPLE_RATE, 1, dtype="float32")
        had_audio = False
        while True:
            try:
                item = self._blocks.get(timeout=self.stall_s if had_audio else FIRST_BLOCK_S)
            except queue.Empty:
                if had_audio and self._reopen(f"no sound for {self.stall_s:.1f} s"):
                    continue
                self._lost(DEVICE_LOST if had_audio else NO_AUDIO)
                return
            if item is _STOP:
                if self._stopping:
                    return
                if self._reopen("the stream ended"):
                    continue
                self._lost(DEVICE_LOST)
                return
            block, arrived = item
            had_audio = True
            samples = resampler.resample_chunk(block) if self._rate != AUDIO_SAMPLE_RATE else block
            with self._lock:
                events = self._turns.feed(np.asarray(samples, dtype=np.float32), arrived)
            self.level = self._turns.level
            for event in events:
                self._events.put(event)

    def _reopen(self, why: str) -> bool:
        """The stream ended or went quiet by itself: open it again, once in a while (a sound server's hiccup
        under load ends a stream without the device going anywhere). False when it will not open: gone."""
        now = time.monotonic()
        self._reopened = [t for t in self._reopened if now - t < REOPEN_WINDOW_S]
        if self._stopping or len(self._reopened) >= MAX_REOPENS:
            return False
        self._reopened.append(now)
        log.warning("microphone: %s; opening it again", why)
        self._generation += 1  # the old stream's end, reported as it closes, is not news
        self._close_stream(abort=True)
        try:
            self._stream = self._open_stream()
        except Exception as exc:  # PortAudioError: the device is gone
            log.info("the microphone did not open again: %s", exc)
            return False
        return True

    def _lost(self, message: str) -> None:
        """The device went away: say so once, close what is left, end listening."""
        if self._stopping:
            return
        log.warning("microphone lost: %s", message)
        self._stopping = True
        self._events.put(DeviceLost(message))
        self._close_stream(abort=True)
