"""Benchmark: what streaming into the real window costs the engine, and how long the GUI stalls.

1. Throughput: the same engine (tiny Gemma 4, and real Gemma 3 270M weights),
   the same prompt and token count, generating with nobody drawing (engine
   alone) vs. into the real main window (markdown rendering, thinking block,
   store saves). Interleaved rounds, medians; target ratio >= 0.95.
2. Stall: a 5 ms heartbeat timer on the GUI thread records the longest gap
   between its ticks while 2,000 tokens of markdown with code blocks and a
   table stream into the window through the same bridge signals the engine
   uses, as fast as a fast GPU would send them. Target <= 50 ms.

    uv run python -m tests.bench.window_stream [--rounds 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GEMMA_DESK_HOME", tempfile.mkdtemp(prefix="gemma-desk-bench-"))

from PySide6.QtWidgets import QApplication

from app.engine import AnswerDelta, Done, GenerateRequest, GenerationStats, Stats, ThinkingDelta
from app.settings import Settings
from app.ui.engine_bridge import EngineBridge
from app.ui.shell.app import create_window
from app.ui.shell.main_window import MainWindow
from tests.bench.heartbeat import Heartbeat

PROMPT = "Write a long story about a lighthouse keeper."

ANSWER_UNIT = """## Step {n}

Here is how the parser handles **block {n}**, with `inline code` and a [link](https://example.com):

```python
def parse_{n}(text: str) -> list[str]:
    \"\"\"Split text into words and drop the empty ones.\"\"\"
    words = [w.strip() for w in text.split()]
    return [w for w in words if w]
```

| name | value |
|---|---|
| step | {n} |
| done | yes |

- first point about step {n}
- second point, a bit longer, to wrap over the line

"""


def wait(app: QApplication, condition: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.001)


def engine_alone(app: QApplication, bridge: EngineBridge, tokens: int) -> float:
    """Generate with the window's engine but no one drawing: decode tokens/s."""
    from app.engine import Message, SamplingParams

    result: list[GenerationStats] = []
    finished: list[int] = []
    request = GenerateRequest(
        messages=(Message.text("user", PROMPT),), max_tokens=tokens, ignore_eos=True, sampling=SamplingParams(seed=1)
    )
    on_stats = bridge.stats.connect(lambda _r, s: result.append(s))
    on_done = bridge.done.connect(lambda r, _reason: finished.append(r))
    rid = bridge.generate(request)
    wait(app, lambda: rid in finished)
    bridge.stats.disconnect(on_stats)
    bridge.done.disconnect(on_done)
    return result[-1].decode_tps


def in_window(app: QApplication, window: MainWindow, tokens: int) -> tuple[float, float]:
    """Send through the composer path; decode tokens/s and the longest GUI stall."""
    result: list[GenerationStats] = []
    conn = window.controller.statsChanged.connect(lambda s: result.append(s))
    window.settings.update({"max_tokens": tokens})
    beat = Heartbeat()
    window.controller.new_conversation()
    wait(app, lambda: window.controller.conversation is not None and not window.controller.path)
    beat.start()
    window.controller.send(PROMPT, [])
    wait(app, lambda: not window.controller.generating)
    stall = beat.stop()
    window.controller.statsChanged.disconnect(conn)
    return result[-1].decode_tps, stall


def scripted_stall(app: QApplication, window: MainWindow, n_tokens: int, rate: float) -> tuple[float, int]:
    """Stream a markdown answer with code blocks through the bridge signals; the longest GUI stall."""
    text = "".join(ANSWER_UNIT.format(n=i) for i in range(40))
    pieces = [text[i : i + 4] for i in range(0, len(text), 4)][:n_tokens]
    bridge = window.bridge
    real_generate = bridge.generate

    def scripted_generate(_request: GenerateRequest) -> int:
        rid = 10_000_000

        def feed() -> None:
            for i in range(20):
                bridge._event.emit(ThinkingDelta(rid, f"thinking {i} "))
            for piece in pieces:
                bridge._event.emit(AnswerDelta(rid, piece))
                if rate:
                    time.sleep(1 / rate)
            bridge._event.emit(Stats(rid, GenerationStats(completion_tokens=len(pieces), stop_reason="end")))
            bridge._event.emit(Done(rid, "end"))

        threading.Thread(target=feed, daemon=True).start()
        return rid

    bridge.generate = scripted_generate  # type: ignore[method-assign]
    try:
        beat = Heartbeat()
        window.controller.new_conversation()
        wait(app, lambda: window.controller.conversation is not None and not window.controller.path)
        beat.start()
        window.controller.send("Explain the parser, with code.", [])
        wait(app, lambda: not window.controller.generating)
        return beat.stop(), len(pieces)
    finally:
        bridge.generate = real_generate  # type: ignore[method-assign]


def bench_model(app: QApplication, name: str, model: Path, tokens: int, rounds: int) -> None:
    settings = Settings.load()
    settings.update({"context_size": 4096, "seed": 1, "max_tokens": tokens, "last_model_path": ""})
    settings.save()
    window = create_window(app)
    window.show()
    window.load_model(model)
    wait(app, lambda: window.bridge.model_info is not None)
    alone, drawn, stalls = [], [], []
    try:
        engine_alone(app, window.bridge, 16)  # warm-up
        for _ in range(rounds):
            alone.append(engine_alone(app, window.bridge, tokens))
            tps, stall = in_window(app, window, tokens)
            drawn.append(tps)
            stalls.append(stall)
    finally:
        window.close()
        window.store.close()
    a, d = statistics.median(alone), statistics.median(drawn)
    print(f"\n{name}: {tokens} tokens x {rounds} rounds")
    print(f"  engine alone            : {a:9.1f} tok/s   rounds: {', '.join(f'{x:.0f}' for x in alone)}")
    print(f"  streaming into window   : {d:9.1f} tok/s   rounds: {', '.join(f'{x:.0f}' for x in drawn)}")
    print(f"  ratio window / alone    : {d / a:9.3f}   (target >= 0.95)")
    print(f"  longest GUI stall       : {max(stalls) * 1000:7.1f} ms (real engine output)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)
    app = QApplication([])
    from tests.bench.decode_speed import gemma3_270m
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4

    with tempfile.TemporaryDirectory() as tmp:
        tiny = write_tiny_gemma4(Path(tmp) / "tiny.gguf")
        bench_model(app, "tiny Gemma 4 (random weights, ~6,000 tok/s)", tiny, 2000, args.rounds)
        bench_model(app, "Gemma 3 270M Q4_K_M (real weights)", gemma3_270m(), 200, args.rounds)

        settings = Settings.load()
        settings.update({"context_size": 4096, "last_model_path": ""})
        settings.save()
        window = create_window(app)
        window.show()
        window.load_model(tiny)
        wait(app, lambda: window.bridge.model_info is not None)
        try:
            print("\nmarkdown answer with code blocks and tables, through the bridge signals:")
            for rate, label in ((0.0, "as fast as possible"), (200.0, "200 tok/s")):
                stall, n = scripted_stall(app, window, 2000, rate)
                print(f"  {n} tokens, {label:>20}: longest GUI stall {stall * 1000:6.1f} ms (target <= 50)")
        finally:
            window.close()
            window.store.close()


if __name__ == "__main__":
    main()
