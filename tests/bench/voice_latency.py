"""Benchmark: from letting go of push-to-talk to the first answer token, step by step, in the real window.

A PulseAudio null sink is the microphone (``tests/media/virtual_mic.py``);
espeak-ng speaks a ~3 s question into it while the mic is held; the tiny
Gemma 4 with its audio projector answers. Each round measures, from the
release: closing the input stream, converting to 16 kHz mono and writing
the WAV, the window's own path (reading the clip as an attachment, storing
it, starting the request), the audio encoder, the rest of prompt evaluation,
and the first token. Medians over the rounds.

    uv run python -m tests.bench.voice_latency [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="gemma-voice-bench-"))
    os.environ["GEMMA_DESK_HOME"] = str(tmp / "home")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from app.settings import Settings
    from app.ui.capture.voice import IDLE, RECORDING
    from app.ui.shell.app import create_window
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4
    from tests.fixtures.tiny_mmproj import write_tiny_mmproj
    from tests.media.virtual_mic import ensure_virtual_mic, play, speech_wav

    ensure_virtual_mic()
    speech = speech_wav(tmp / "question.wav", "What is the capital of France? Answer in one word.")
    model = write_tiny_gemma4(tmp / "models" / "tiny.gguf")
    mmproj = write_tiny_mmproj(tmp / "models" / "mmproj-tiny.gguf")
    settings = Settings.load()
    settings.update({"context_size": 4096, "max_tokens": 4, "seed": 1})
    settings.save()

    app = QApplication([])
    window = create_window(app)
    window.show()

    def wait(condition, timeout: float = 30.0) -> float:  # type: ignore[no-untyped-def]
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the window did not get there in time")
            app.processEvents()
            time.sleep(0.0005)
        return time.perf_counter()

    window.load_model(model, mmproj)
    wait(lambda: window.bridge.model_info is not None)
    wait(lambda: window.media.voice.status is not None)
    voice = window.media.voice
    requested: list[float] = []
    generate = window.bridge.generate

    def timed_generate(request):  # type: ignore[no-untyped-def]
        requested.append(time.perf_counter())
        return generate(request)

    window.bridge.generate = timed_generate  # type: ignore[method-assign]
    rows: list[dict[str, float]] = []
    for _ in range(args.rounds):
        window.new_chat()
        wait(lambda: not window.chat.messages)
        voice.press()
        wait(lambda: voice.state == RECORDING)
        play(speech)
        released = time.perf_counter()
        voice.release()
        first = wait(lambda: len(window.chat.messages) == 2 and bool(window.chat.messages[1].text()))
        wait(lambda: not window.controller.generating and voice.state == IDLE)
        timings = window.media.last_timings
        gen = _last_stats(window)
        stop, convert = timings["capture_stop_s"], timings["conversion_s"]
        to_request = requested[-1] - released
        rows.append(
            {
                "capture stop": stop,
                "conversion + WAV": convert,
                "attach, store, send request": to_request - stop - convert,
                "audio encode": gen["media_encode_s"],
                "rest of prompt + 1st token": gen["ttft_s"] - gen["media_encode_s"],
                "release → first token made": to_request + gen["ttft_s"],
                "… → first token on screen": first - released,
            }
        )
    window.close()
    window.store.close()
    print(f"push-to-talk latency, tiny Gemma 4 + audio projector, {args.rounds} rounds (median, ms)")
    for key in rows[0]:
        values = [r[key] * 1000 for r in rows]
        print(f"  {key:<32} {statistics.median(values):8.1f}   (min {min(values):.1f}, max {max(values):.1f})")
    return 0


def _last_stats(window) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from app.store import Store
    from app.ui.tasks import wait_for_db

    wait_for_db()
    conversation = window.controller.conversation
    with Store.open(window.store_path()) as store:
        answer = store.path(conversation.id)[-1]
    assert answer.stats is not None
    return {"ttft_s": float(answer.stats["ttft_s"]), "media_encode_s": float(answer.stats["media_encode_s"])}


if __name__ == "__main__":
    raise SystemExit(main())
