"""Benchmark: the local server over loopback against the in-process engine, on the same loaded model.

1. Decode speed and time to first token: the same prompt and settings (``ignore_eos``, fixed token count),
   streamed through ``gemma-desk serve``'s API with the official ``openai`` client running in a process of its
   own (as a client program does; in this process it would fight the server for the GIL), and straight from
   the engine, interleaved round by round; medians. Decode speed is tokens over the time from the first token
   to the last, as each receiver saw them; TTFT is measured apart. Targets: tok/s ratio >= 0.95, added TTFT
   <= 10 ms.
2. The five-turn, three-picture chat of ``tests.bench.turn_ttft`` through the API (pictures as data: URLs,
   the whole history sent every turn, as OpenAI clients do) and in-process. Target: turn-5 TTFT through the
   API within 2x of in-process (prefix reuse works through the API). The pictures are photo-like JPEGs;
   ``--noise-png`` sends noise PNGs instead (about 13 MB of base64 a turn: there the JSON and base64 work of
   the client and the server, not the model, sets the time).

    uv run python -m tests.bench.serve_speed [--rounds 5] [--tokens 128] [--model GGUF [--mmproj GGUF]]

Without --model it runs the tiny random-weight Gemma 4 of the tests (thousands of tokens a second: the per-token
cost of HTTP shows far more than with any real model; the picture chat runs here) and then the real Gemma 3
270M weights (about 60 tokens a second here, a real model's pace: the speed target is judged on it).
A stream's chunks come at most every 8 ms (``app.server.routes.STREAM_EVERY_S``), so its last tokens can
reach the client up to that much after the engine made them: part of the tiny model's gap.
"""

from __future__ import annotations

import argparse
import base64
import io
import logging
import multiprocessing
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import numpy as np
import openai
from PIL import Image

from app.engine import (
    AnswerDelta,
    Done,
    Engine,
    EngineEvent,
    EventQueue,
    GenerateRequest,
    LoadRequest,
    Message,
    Part,
    SamplingParams,
    Stats,
)
from app.engine.attachments import image_part
from app.media import load_image
from app.server import LocalServer, ServerOptions
from tests.bench.turn_ttft import QUESTIONS

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."


@dataclass
class Run:
    ttft_s: float
    tokens: int
    decode_s: float  # first token to last, as the receiver saw them

    @property
    def tps(self) -> float:
        return (self.tokens - 1) / self.decode_s if self.decode_s > 0 and self.tokens > 1 else 0.0


def in_process(engine: Engine, request: GenerateRequest) -> tuple[Run, str]:
    stamps: list[float] = []
    text: list[str] = []
    tokens = [0]
    done = threading.Event()

    def sink(event: EngineEvent) -> None:
        if isinstance(event, AnswerDelta):
            stamps.append(time.perf_counter())
            text.append(event.text)
        elif isinstance(event, Stats):
            tokens[0] = event.stats.completion_tokens
        elif isinstance(event, Done):
            done.set()

    start = time.perf_counter()
    engine.generate(request, on_event=sink)
    done.wait(600)
    return Run(stamps[0] - start, tokens[0], stamps[-1] - stamps[0]), "".join(text)


# -- the client, in a process of its own --------------------------------------------------------------------

_api: openai.OpenAI | None = None


def _client_start(base_url: str) -> None:
    global _api
    _api = openai.OpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=600)


def _client_served(messages: list[dict[str, Any]], tokens: int, seed: int) -> tuple[Run, str]:
    assert _api is not None
    return served(_api, messages, tokens, seed)


def _client_chat(photos: list[tuple[bytes, str]], tokens: int) -> list[float]:
    assert _api is not None
    return chat_served(_api, photos, tokens)


def served(api: openai.OpenAI, messages: list[dict[str, Any]], tokens: int, seed: int) -> tuple[Run, str]:
    stamps: list[float] = []
    text: list[str] = []
    used = 0
    start = time.perf_counter()
    stream = api.chat.completions.create(
        model="m",
        messages=messages,  # type: ignore[arg-type]
        max_tokens=tokens,
        seed=seed,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            stamps.append(time.perf_counter())
            text.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            used = chunk.usage.completion_tokens
    return Run(stamps[0] - start, used, stamps[-1] - stamps[0]), "".join(text)


def speed(engine: Engine, client: Pool, rounds: int, tokens: int) -> None:
    request = GenerateRequest(
        (Message.text("user", PROMPT),), max_tokens=tokens, ignore_eos=True, sampling=SamplingParams(seed=1)
    )
    messages = [{"role": "user", "content": PROMPT}]
    in_process(engine, request)  # warm-up: both paths
    client.apply(_client_served, (messages, tokens, 1))
    local: list[Run] = []
    remote: list[Run] = []
    for _ in range(rounds):
        local.append(in_process(engine, request)[0])
        remote.append(client.apply(_client_served, (messages, tokens, 1))[0])
    tps_local = statistics.median(r.tps for r in local)
    tps_remote = statistics.median(r.tps for r in remote)
    ttft_local = statistics.median(r.ttft_s for r in local) * 1000
    ttft_remote = statistics.median(r.ttft_s for r in remote) * 1000
    print(f"\n{tokens} tokens, {rounds} rounds (medians)")
    print(f"in-process: {tps_local:8.1f} tok/s, TTFT {ttft_local:6.1f} ms")
    print(f"over HTTP : {tps_remote:8.1f} tok/s, TTFT {ttft_remote:6.1f} ms")
    print(
        f"tok/s ratio {tps_remote / tps_local:.3f} (target >= 0.95); added TTFT {ttft_remote - ttft_local:.1f} ms "
        "(target <= 10 ms)"
    )


def photo(seed: int, noise_png: bool = False) -> tuple[bytes, str]:
    """A 1200x900 picture and its MIME type: photo-like (smooth shapes, a little grain) as a JPEG, the way
    phones and cameras send them, or pure noise as a PNG (``--noise-png``: the largest possible upload)."""
    rng = np.random.default_rng(seed)
    if noise_png:
        pixels = rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8)
    else:
        y, x = np.mgrid[0:900, 0:1200].astype(np.float32)
        base = np.stack([x / 1200 * 255, y / 900 * 255, (x + y) / 2100 * 255], axis=-1)
        rings = 40 * np.sin(np.hypot(x - 300 * (seed + 1), y - 450) / 25)[..., None]
        pixels = np.clip(base + rings + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG" if noise_png else "JPEG", quality=90)
    return buf.getvalue(), "image/png" if noise_png else "image/jpeg"


def chat_in_process(engine: Engine, photos: list[tuple[bytes, str]], tokens: int) -> list[float]:
    history: list[Message] = []
    ttfts = []
    for turn, question in enumerate(QUESTIONS):
        parts: tuple[Part, ...] = (Part("text", question),)
        if turn < 3:  # the window decodes a picture once, when it is attached
            parts = (image_part(load_image(photos[turn][0], name=f"photo{turn}")), *parts)
        history.append(Message("user", parts))
        request = GenerateRequest(
            tuple(history), max_tokens=tokens, ignore_eos=True, sampling=SamplingParams(seed=turn)
        )
        run, answer = in_process(engine, request)
        ttfts.append(run.ttft_s)
        history.append(Message.text("assistant", answer))
    return ttfts


def chat_served(api: openai.OpenAI, photos: list[tuple[bytes, str]], tokens: int) -> list[float]:
    messages: list[dict[str, Any]] = []
    ttfts = []
    for turn, question in enumerate(QUESTIONS):
        content: list[dict[str, Any]] = [{"type": "text", "text": question}]
        if turn < 3:
            data, mime = photos[turn]
            url = f"data:{mime};base64," + base64.b64encode(data).decode()
            content.insert(0, {"type": "image_url", "image_url": {"url": url}})
        messages.append({"role": "user", "content": content})
        run, answer = served(api, messages, tokens, turn)
        ttfts.append(run.ttft_s)
        messages.append({"role": "assistant", "content": answer})
    return ttfts


def pictures(engine: Engine, client: Pool, rounds: int, tokens: int, noise_png: bool) -> None:
    photos = [photo(i, noise_png) for i in range(3)]
    size = sum(len(data) for data, _mime in photos) * 4 / 3 / 1e6
    print(f"\npictures: 3 x 1200x900 {'noise PNG' if noise_png else 'photo-like JPEG'}, {size:.1f} MB as data: URLs")
    local: list[list[float]] = []
    remote: list[list[float]] = []
    chat_in_process(engine, photos, tokens)  # warm-up: the pictures' encodings are cached by then on both paths
    client.apply(_client_chat, (photos, tokens))
    for _ in range(rounds):
        local.append(chat_in_process(engine, photos, tokens))
        remote.append(client.apply(_client_chat, (photos, tokens)))
    print(f"five-turn chat, three pictures, {rounds} rounds (median TTFT, ms)")
    print(f"{'turn':>4} {'in-process':>11} {'over HTTP':>10} {'ratio':>6}")
    for turn in range(len(QUESTIONS)):
        a = statistics.median(r[turn] for r in local) * 1000
        b = statistics.median(r[turn] for r in remote) * 1000
        print(f"{turn + 1:>4} {a:>11.1f} {b:>10.1f} {b / a:>6.2f}")
    a5 = statistics.median(r[4] for r in local)
    b5 = statistics.median(r[4] for r in remote)
    print(f"turn-5 TTFT over HTTP / in-process: {b5 / a5:.2f} (target <= 2)")


def bench_model(model: Path, mmproj: Path | None, args: argparse.Namespace, tokens: int) -> None:
    """Both measurements on one model, served by a ``LocalServer`` over its engine in this process."""
    events = EventQueue()
    engine = Engine(events)
    list(events.until_done(engine.load(LoadRequest(model, mmproj_path=mmproj, n_ctx=8192, n_threads=args.threads))))
    info = engine.model_info
    assert info is not None, "the model did not load"
    server = LocalServer(engine, ServerOptions(port=0))
    server.start()
    client = multiprocessing.get_context("spawn").Pool(1, _client_start, (server.address + "/v1",))
    try:
        print(f"\n== {info.name}: {info.backend}, served at {server.address}")
        speed(engine, client, args.rounds, tokens)
        if info.has_vision:
            pictures(engine, client, args.rounds, 16, args.noise_png)
    finally:
        client.close()
        client.join()
        server.stop()
        engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, help="tokens per answer (default: 2048 tiny, 200 real weights)")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--mmproj", type=Path)
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: all cores)")
    parser.add_argument("--noise-png", action="store_true", help="send pure-noise PNGs (the largest uploads)")
    args = parser.parse_args()
    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)
    if args.model is not None:
        bench_model(args.model, args.mmproj, args, args.tokens or 200)
        return
    from tests.bench.decode_speed import gemma3_270m
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4
    from tests.fixtures.tiny_mmproj import write_tiny_mmproj

    with tempfile.TemporaryDirectory() as tmp:
        tiny = write_tiny_gemma4(Path(tmp) / "tiny.gguf")
        bench_model(tiny, write_tiny_mmproj(Path(tmp) / "mmproj.gguf"), args, args.tokens or 2048)
    bench_model(gemma3_270m(), None, args, args.tokens or 200)


if __name__ == "__main__":
    main()
