"""Benchmark: the fit estimate against the memory a loaded model really takes (process RSS).

For the tiny Gemma 4 (alone and with its projector) and Gemma 3 270M Q4_K_M, at n_ctx 2048
and 8192, each case runs in a fresh Python process (freed memory does not return
cleanly to the OS, so cases must not share one) that reads ``VmRSS`` from
``/proc/self/status`` before loading, after loading, and after evaluating a
prompt that fills 90 % of the context (mapped weights count in RSS only once
touched, and the estimate is for a full context; the tiny model's prompt also
carries an image and an audio clip, so both encoders' buffers exist).
Prints the estimate and the measured increases, and estimate / measured.

    uv run python -m tests.bench.fit_vs_rss

Linux only (``/proc``). llama.cpp reserves its compute buffer for a worst-case
batch with logits for every token ("reserved"); a chat asks for the last
token's logits only, so on the CPU most of it is never touched and the CPU
estimate counts only what is (the "compute" column).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

MIB = 1 << 20
CONTEXTS = (2048, 8192)
PROMPT_WORDS = "The lighthouse keeper walked along the rocky shore and counted the waves that came in. "


def vm_rss() -> int:
    """This process's resident set size in bytes (``VmRSS``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(model: Path, mmproj: Path | None, n_ctx: int, prompt_tokens: int) -> dict[str, object]:
    """Load, evaluate, and report RSS increases with the estimate (runs in its own process)."""
    import numpy as np
    from PIL import Image

    from app.engine.attachments import audio_parts, image_part
    from app.engine.events import GenerateRequest, LoadRequest, SamplingParams
    from app.engine.native_log import init_backend
    from app.engine.prompt import Message, Part
    from app.engine.session import ModelSession
    from app.media import audio_from_samples, load_image
    from app.models.fit import estimate_from_gguf

    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)
    init_backend()
    est = estimate_from_gguf(model, mmproj, n_ctx)
    parts: list[Part] = []
    if mmproj is not None:
        rng = np.random.default_rng(0)
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)).save(buf, "PNG")
        parts.append(image_part(load_image(buf.getvalue(), name="noise.png")))
        t = np.arange(16000 * 30) / 16000  # the longest clip a part may hold
        parts.extend(audio_parts(audio_from_samples((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)))

    rss0 = vm_rss()
    session, _ = ModelSession.load(LoadRequest(model, mmproj, n_ctx=n_ctx))
    rss_load = vm_rss()
    per_copy = len(session.model.tokenize(PROMPT_WORDS, add_special=False))
    media = sum(n for _, n in session.measure(parts))
    fill = prompt_tokens or int(n_ctx * 0.9) - media
    words = PROMPT_WORDS * max(1, fill // per_copy)
    parts.append(Part("text", words))
    request = GenerateRequest(
        messages=(Message("user", tuple(parts)),), max_tokens=4, sampling=SamplingParams(seed=1), ignore_eos=True
    )
    stats = list(session.generate(request))[-1]
    rss_eval = vm_rss()
    session.close()
    return {
        "estimate": est.total,
        "weights": est.weights,
        "mmproj": est.mmproj,
        "kv": est.kv_cache,
        "compute": est.compute,
        "reserved": est.compute_reserved,
        "overhead": est.overhead,
        "n_ctx": est.n_ctx,
        "load": rss_load - rss0,
        "eval": rss_eval - rss0,
        "prompt": getattr(getattr(stats, "stats", None), "prompt_tokens", 0),
    }


def _child(args: argparse.Namespace) -> int:
    mmproj = Path(args.mmproj) if args.mmproj else None
    print(json.dumps(measure(Path(args.model), mmproj, args.n_ctx, args.prompt_tokens)))
    return 0


def _run_case(model: Path, mmproj: Path | None, n_ctx: int, prompt_tokens: int) -> dict[str, float]:
    cmd = [sys.executable, "-m", "tests.bench.fit_vs_rss", "--child", "--model", str(model)]
    cmd += ["--n-ctx", str(n_ctx), "--prompt-tokens", str(prompt_tokens)]
    if mmproj is not None:
        cmd += ["--mmproj", str(mmproj)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--mmproj", help=argparse.SUPPRESS)
    parser.add_argument("--n-ctx", type=int, default=2048, help=argparse.SUPPRESS)
    parser.add_argument(
        "--prompt-tokens", type=int, default=0, help="prompt length to evaluate (default: 90 %% of the context)"
    )
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)

    from tests.bench.decode_speed import gemma3_270m
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4
    from tests.fixtures.tiny_mmproj import write_tiny_mmproj

    with tempfile.TemporaryDirectory() as tmp:
        tiny = write_tiny_gemma4(Path(tmp) / "tiny.gguf")
        mmproj = write_tiny_mmproj(Path(tmp) / "tiny-mmproj.gguf")
        models = [
            ("tiny Gemma 4", tiny, None),
            ("tiny Gemma 4 + mmproj", tiny, mmproj),
            ("Gemma 3 270M Q4_K_M", gemma3_270m(), None),
        ]
        head = (
            f"{'model':<22} {'n_ctx':>6} {'weights':>8} {'mmproj':>7} {'KV':>7} {'compute':>8} {'overh.':>7}"
            f" {'estimate':>9} {'RSS load':>9} {'RSS eval':>9} {'est/load':>9} {'est/eval':>9} {'reserved':>9}"
        )
        print("MiB; RSS = increase of VmRSS over the process before loading; compute = what a chat touches")
        print("(reserved = llama.cpp's whole compute buffer, counted instead when offloading to a GPU)")
        print(head)
        print("-" * len(head))
        for label, model, mm in models:
            for n_ctx in CONTEXTS:
                r = _run_case(model, mm, n_ctx, args.prompt_tokens)
                est, load, ev = r["estimate"], r["load"], r["eval"]
                print(
                    f"{label:<22} {n_ctx:>6} {r['weights'] / MIB:>8.1f} {r['mmproj'] / MIB:>7.1f} {r['kv'] / MIB:>7.1f}"
                    f" {r['compute'] / MIB:>8.1f} {r['overhead'] / MIB:>7.1f} {est / MIB:>9.1f}"
                    f" {load / MIB:>9.1f} {ev / MIB:>9.1f} {est / load:>9.2f} {est / ev:>9.2f}"
                    f" {r['reserved'] / MIB:>9.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
