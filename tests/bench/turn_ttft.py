"""Benchmark: time to first token across a chat with pictures, with and without prefix reuse.

A five-turn chat whose first three turns each attach a picture, run twice on
the same tiny Gemma 4 + projector in one process, interleaved round by round:
with the engine's prefix reuse, and with the KV cache (and embedding cache)
cleared before every turn — what llama-cpp-python's own multimodal chat handler
does. Targets: with reuse, turn-5 TTFT within 1.25x of turn-2 TTFT, and no
picture encoded twice.

Then the follow-up cost of media in history (issue 17): the same five-turn chat
with three 1024x768 pictures in turns 1-3, and with the pictures left out, run
side by side, alternating round by round. Turns 4 and 5 are text only, and
every picture is already in the KV cache: target, turn-5 TTFT with pictures
within 2x of turn-5 TTFT without (no picture prepared again by libmtmd). A third
variant puts text of the pictures' length in their place: what remains of the
gap is llama.cpp attending over a longer context, which text costs as well.

    uv run python -m tests.bench.turn_ttft [--rounds 3] [--budget 560]
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from app.engine.attachments import image_part
from app.engine.events import GenerateRequest, GenerationStats, LoadRequest, SamplingParams, Stats
from app.engine.native_log import init_backend
from app.engine.prompt import Message, Part
from app.engine.session import ModelSession
from app.media import load_image

QUESTIONS = [
    "Here is the first photo. What do you see?",
    "And this second one, how does it differ?",
    "A third picture: which of the three is brightest?",
    "Which of the photos would make a good postcard?",
    "Going back to the first photo: what colour dominates it?",
]


def photo(seed: int, size: tuple[int, int] = (1200, 900)) -> Part:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return image_part(load_image(buf.getvalue(), name=f"photo{seed}.png"))


def forget_media(session: ModelSession) -> None:
    """Start cold: no KV cache, no embeddings, no picture prepared by libmtmd."""
    session.reset_cache()
    session.embeddings.clear()
    if session.projector is not None:
        session.projector.media.clear()


def chat(session: ModelSession, photos: list[Part | None], *, reuse: bool, answer_tokens: int) -> list[GenerationStats]:
    """The five turns; ``photos[i]`` goes with question i (None: that turn is text only)."""
    history: list[Message] = []
    out: list[GenerationStats] = []
    forget_media(session)
    for turn, question in enumerate(QUESTIONS):
        picture = photos[turn] if turn < len(photos) else None
        parts = (picture, Part("text", question)) if picture is not None else (Part("text", question),)
        history.append(Message("user", parts))
        if not reuse:  # what a handler that starts from scratch every turn does
            forget_media(session)
        request = GenerateRequest(
            messages=tuple(history), max_tokens=answer_tokens, ignore_eos=True, sampling=SamplingParams(seed=turn)
        )
        answer: list[str] = []
        for event in session.generate(request):
            if isinstance(event, Stats):
                out.append(event.stats)
            elif hasattr(event, "text"):
                answer.append(event.text)
        history.append(Message.text("assistant", "".join(answer)))
    return out


def stand_in(session: ModelSession, picture: Part) -> Part:
    """Text that takes about as many context positions as ``picture`` does."""
    [(_, positions)] = session.measure([picture])
    words = positions
    for _ in range(4):  # a word is about one token: settle on the count
        words = max(1, round(words * positions / max(1, session.model.count_tokens(" word" * words))))
    return Part("text", ("word " * words).strip() + "\n")


Runs = dict[str, list[list[GenerationStats]]]


def measure(session: ModelSession, rounds: int, answer_tokens: int) -> tuple[Runs, Runs]:
    """Both benchmarks' chats, round by round: reuse / cleared, and pictures / none / text in their place."""
    photos: list[Part | None] = [photo(i) for i in range(3)]
    small = [photo(10 + i, (1024, 768)) for i in range(3)]
    variants: dict[str, list[Part | None]] = {
        "pictures": list(small),
        "none": [],
        "text": [stand_in(session, p) for p in small],  # as many positions, as text
    }
    runs: Runs = {"reuse": [], "cleared": []}
    history_media: Runs = {name: [] for name in variants}
    chat(session, photos, reuse=True, answer_tokens=8)  # warm-up
    chat(session, [], reuse=True, answer_tokens=8)
    for _ in range(rounds):
        for name in runs:
            runs[name].append(chat(session, photos, reuse=name == "reuse", answer_tokens=answer_tokens))
        for name, parts in variants.items():  # the same chat with its pictures, without, and with text instead
            history_media[name].append(chat(session, parts, reuse=True, answer_tokens=answer_tokens))
    return runs, history_media


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=560, help="vision budget, tokens per image")
    parser.add_argument("--answer-tokens", type=int, default=48)
    args = parser.parse_args()
    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)  # llama.cpp's log: not here
    init_backend()
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4
    from tests.fixtures.tiny_mmproj import write_tiny_mmproj

    with tempfile.TemporaryDirectory() as tmp:
        model = write_tiny_gemma4(Path(tmp) / "tiny.gguf")
        mmproj = write_tiny_mmproj(Path(tmp) / "mmproj.gguf")
        session, _ = ModelSession.load(LoadRequest(model, mmproj_path=mmproj, n_ctx=8192, vision_budget=args.budget))
        try:
            runs, history_media = measure(session, args.rounds, args.answer_tokens)
        finally:
            session.close()

    def ttft(reuse: bool, turn: int) -> float:
        return statistics.median(r[turn].ttft_s for r in runs["reuse" if reuse else "cleared"]) * 1000

    print(f"\nTiny Gemma 4 + projector, vision budget {args.budget}, {args.rounds} rounds (median TTFT, ms)")
    print(
        f"{'turn':>4} {'prompt':>7} {'reuse: TTFT':>12} {'evaluated':>10} {'encoded':>8}   "
        f"{'cleared: TTFT':>14} {'evaluated':>10} {'encoded':>8}"
    )
    for turn in range(len(QUESTIONS)):
        a, b = runs["reuse"][-1][turn], runs["cleared"][-1][turn]
        print(
            f"{turn + 1:>4} {a.prompt_tokens:>7} {ttft(True, turn):>12.1f} {a.evaluated_tokens:>10} "
            f"{a.media_encoded:>8}   {ttft(False, turn):>14.1f} {b.evaluated_tokens:>10} {b.media_encoded:>8}"
        )
    encoded_reuse = sum(s.media_encoded for s in runs["reuse"][-1])
    encoded_cleared = sum(s.media_encoded for s in runs["cleared"][-1])
    print(
        f"\nturn-5 TTFT: reuse {ttft(True, 4):.1f} ms, cache cleared {ttft(False, 4):.1f} ms, "
        f"speed-up x{ttft(False, 4) / ttft(True, 4):.1f}"
    )
    print(f"turn-5 / turn-2 TTFT with reuse: {ttft(True, 4) / ttft(True, 1):.2f} (target <= 1.25)")
    print(f"turn-5 / turn-4 TTFT with reuse (both text-only): {ttft(True, 4) / ttft(True, 3):.2f}")
    print(f"pictures encoded in the chat: reuse {encoded_reuse} (3 pictures, target 3), cleared {encoded_cleared}")
    report_history_media(history_media, args.rounds)


def report_history_media(runs: Runs, rounds: int) -> None:
    """Turn-5 TTFT of the chat with three 1024x768 pictures in history next to the same chat without them (and
    with text of the pictures' length in their place: what the longer context itself costs)."""

    def ttft(name: str, turn: int) -> float:
        return statistics.median(r[turn].ttft_s for r in runs[name]) * 1000

    print(f"\nMedia in history (issue 17): three 1024x768 pictures in turns 1-3, {rounds} rounds (median TTFT, ms)")
    print(
        f"{'turn':>4} {'pictures: TTFT':>15} {'evaluated':>10}   {'no pictures':>12} {'evaluated':>10}   "
        f"{'text instead':>13} {'evaluated':>10}"
    )
    for turn in range(len(QUESTIONS)):
        a, b, c = (runs[name][-1][turn] for name in ("pictures", "none", "text"))
        print(
            f"{turn + 1:>4} {ttft('pictures', turn):>15.2f} {a.evaluated_tokens:>10}   "
            f"{ttft('none', turn):>12.2f} {b.evaluated_tokens:>10}   "
            f"{ttft('text', turn):>13.2f} {c.evaluated_tokens:>10}"
        )
    ratio = ttft("pictures", 4) / ttft("none", 4)
    print(
        f"turn-5 TTFT with pictures in history {ttft('pictures', 4):.2f} ms, without {ttft('none', 4):.2f} ms: "
        f"ratio {ratio:.2f} (target <= 2)"
    )
    print(
        f"turn-5 TTFT with pictures / with as many positions of text in their place: "
        f"{ttft('pictures', 4) / ttft('text', 4):.2f} (history media cost what their positions cost: ~1)"
    )


if __name__ == "__main__":
    main()
