"""Benchmark: a hands-free voice turn in the real window, from the end of the user's speech to the answer's sound.

The user's question is espeak-ng played into the virtual microphone (``tests/media/virtual_mic.py``); the
window's hands-free mode hears it, sends it after the pause the settings ask for, the tiny Gemma 4 with its
audio projector answers (forced by a grammar to two sentences, so there is something to read), and the OS
speech engine (speech-dispatcher with espeak-ng) reads it to the virtual speaker, whose monitor is recorded
to see when sound really comes out. Each round measures, from the end of speech as the voice detector dated
it: the turn sent (the pause included), the first token, the first sentence complete, the engine starting to
speak, and the first sound reaching the speaker. Then barge-in: the user talks over a long answer, and the
time from their voice starting to the app's last sound is measured.

Target: the first sound within 600 ms of the first sentence being complete.

    uv run python -m tests.bench.voice_turn [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

ANSWER = "Paris is the capital of France. It lies on the Seine, and it is known for its museums."
LONG = " ".join(
    f"Sentence number {n} of a long answer goes on for a while, so that there is time to interrupt it."
    for n in range(12)
)
TARGET_S = 0.6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="gemma-voice-turn-"))
    os.environ["GEMMA_DESK_HOME"] = str(tmp / "home")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from app.settings import Settings
    from app.ui.shell.app import create_window
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4
    from tests.fixtures.tiny_mmproj import write_tiny_mmproj
    from tests.media.virtual_mic import ensure_virtual_speaker, speech_wav

    ensure_virtual_speaker()
    question = speech_wav(tmp / "question.wav", "What is the capital of France?")
    stop = speech_wav(tmp / "stop.wav", "Wait, stop. Tell me about Berlin instead.")
    model = write_tiny_gemma4(tmp / "models" / "tiny.gguf")
    mmproj = write_tiny_mmproj(tmp / "models" / "mmproj-tiny.gguf")
    settings = Settings.load()
    settings.update({"context_size": 4096, "seed": 1, "hands_free_silence_s": 0.8, "speech_volume": 60})
    settings.save()

    app = QApplication([])
    window = create_window(app)
    window.show()

    def wait(condition: Callable[[], bool], timeout: float = 60.0) -> float:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                hf = window.hands_free
                raise TimeoutError(
                    f"the window did not get there in time: hands-free {hf.state}, "
                    f"{len(window.chat.messages)} messages, generating {window.controller.generating}, "
                    f"reading {window.read_aloud.speaking}, hearing {hf.listener and hf.listener.hearing}"
                )
            app.processEvents()
            time.sleep(0.001)
        return time.perf_counter()

    window.load_model(model, mmproj)
    wait(lambda: window.bridge.model_info is not None)
    wait(lambda: window.media.voice.status is not None)
    answers = [ANSWER]

    def force(request: Any) -> Any:
        grammar = 'root ::= "' + answers[0] + '"\n'
        return replace(request, max_tokens=400, sampling=replace(request.sampling, grammar=grammar))

    window.controller.before_generate = force
    window.hands_free.set_on(True)
    listener = window.hands_free.listener
    assert listener is not None, window.notice_bar.label.text()
    wait(lambda: listener.listening)
    speaker = window.read_aloud.speaker
    wait(lambda: bool(speaker.voices()) or bool(speaker.problem))
    assert not speaker.problem, speaker.problem

    turns = [_turn(window, wait, question) for _ in range(args.rounds + 1)][1:]  # the first warms up
    answers[0] = LONG
    barge = [_barge_in(window, wait, question, stop) for _ in range(args.rounds)]
    window.close()
    window.store.close()
    _report(turns, barge, args.rounds)
    return 0


def _turn(window: Any, wait: Callable[..., float], question: Path) -> dict[str, float]:
    """One spoken question, answered and read aloud: its steps, in seconds from the end of speech."""
    from tests.media.virtual_mic import SpeakerRecorder, play

    window.new_chat()
    wait(lambda: not window.chat.messages and window.hands_free.state == "listening")
    recorder = SpeakerRecorder().start()
    play(question)
    wait(lambda: len(window.chat.messages) == 2)
    wait(lambda: not window.controller.generating and not window.read_aloud.speaking)
    time.sleep(0.2)
    sound = recorder.first_sound_at()
    recorder.stop()
    t = window.read_aloud.times
    assert t is not None and None not in (t.sent, t.first_token, t.first_sentence, t.first_audio, sound)
    return {
        "end of speech → turn sent (the pause)": t.sent - t.speech_end,
        "end of speech → first token": t.first_token - t.speech_end,
        "end of speech → first sentence complete": t.first_sentence - t.speech_end,
        "end of speech → engine speaking": t.first_audio - t.speech_end,
        "end of speech → first sound at the speaker": sound - t.speech_end,
        "first sentence complete → first sound": sound - t.first_sentence,
    }


def _barge_in(window: Any, wait: Callable[..., float], question: Path, stop: Path) -> float:
    """The user talks over a long answer: seconds from their voice starting to the app's last sound."""
    from tests.media.virtual_mic import SpeakerRecorder, play

    window.new_chat()
    wait(lambda: not window.chat.messages and window.hands_free.state == "listening")
    barged: list[float] = []
    window.hands_free.bargedIn.connect(lambda voice, _told: barged.append(voice))
    recorder = SpeakerRecorder().start()
    play(question)
    wait(lambda: window.read_aloud.audible)
    started = time.perf_counter()
    wait(lambda: time.perf_counter() - started > 1.5)
    player = play(stop, wait=False)
    wait(lambda: bool(barged), 10)
    wait(lambda: time.perf_counter() - barged[0] > 0.6)
    samples, times = recorder.samples()
    recorder.stop()
    player.wait(timeout=30)
    wait(lambda: len(window.chat.messages) == 4)  # the interruption is the next question, answered
    wait(lambda: not window.controller.generating and not window.read_aloud.speaking)
    window.read_aloud.stop()
    window.hands_free.bargedIn.disconnect()
    loud = times[(abs(samples) >= 0.01) & (times < barged[0] + 0.6)]
    return float(loud.max()) - barged[0]


def _report(turns: list[dict[str, float]], barge: list[float], rounds: int) -> None:
    print(f"hands-free voice turn, tiny Gemma 4 + audio projector, OS voice (speechd), {rounds} rounds")
    print(f"  {'(median ms)':<44} {'median':>8} {'min':>8} {'max':>8}")
    for key in turns[0]:
        values = [row[key] * 1000 for row in turns]
        print(f"  {key:<44} {statistics.median(values):8.0f} {min(values):8.0f} {max(values):8.0f}")
    values = [b * 1000 for b in barge]
    label = "barge-in: user's voice → app's last sound"
    print(f"  {label:<44} {statistics.median(values):8.0f} {min(values):8.0f} {max(values):8.0f}")
    first = statistics.median(row["first sentence complete → first sound"] for row in turns)
    print(f"first sound {first * 1000:.0f} ms after the first sentence: {first / TARGET_S:.2f}× the 600 ms target")


if __name__ == "__main__":
    raise SystemExit(main())
