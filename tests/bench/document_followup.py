"""Benchmark: a follow-up question about a 50K-token document, with the document cached vs. read again.

A chat on a real store (SQLite file + attachments folder) through the conversation core: the first turn
attaches a ~50,000-token text document and asks about it; the follow-up asks something else. Measured
from the moment Send is pressed (the request is built, attachments decoded) to the first answer token:

- cached: the same open chat, as a user asks on — the decoded document comes from the payload cache and
  the prompt's prefix (document included) from the KV cache, so only the new question is evaluated;
- re-read: the chat reopened in a fresh session with the KV cache cleared — what an app without prefix
  reuse (or one that re-renders from scratch every turn) pays for every follow-up.

Rounds alternate the two, in one process on one model. Target: cached TTFT ≤ 0.1× re-read TTFT, and the
cached follow-up evaluates fewer than 100 tokens.

    uv run python -m tests.bench.document_followup [--rounds 3] [--tokens 50000]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.chat import ChatOptions, ChatSession
from app.chat.answer import AnswerRecorder
from app.engine.events import AnswerDelta, GenerationStats, LoadRequest, SamplingParams, Stats
from app.engine.native_log import init_backend
from app.engine.session import ModelSession
from app.media.intake import PendingAttachment, decode_file
from app.store import Store

QUESTION = "Summarise the attached report in three sentences."
FOLLOW_UP = "Which section mentions the budget, and what does it say?"
WORDS = tuple("report budget section figure the of and to in revenue cost team plan quarter review risk".split(" "))  # noqa: SIM905


def write_document(path: Path, model_session: ModelSession, tokens: int) -> int:
    """A text file of about ``tokens`` tokens (counted with the model's own tokenizer); its exact count."""
    rng = np.random.default_rng(7)
    lines: list[str] = []
    count = 0
    section = 0
    while count < tokens:
        section += 1
        paragraph = " ".join(rng.choice(WORDS, size=120))
        line = f"## Section {section}\n{paragraph}.\n"
        lines.append(line)
        count += model_session.model.count_tokens(line)
    path.write_text("".join(lines), encoding="utf-8")
    return model_session.model.count_tokens(path.read_text(encoding="utf-8"))


def ask(
    chat: ChatSession,
    model_session: ModelSession,
    text: str,
    attachments: Sequence[PendingAttachment] = (),
    *,
    tokens: int = 4,
) -> tuple[float, GenerationStats]:
    """Send ``text``; (seconds from Send to the first answer token, the generation's stats)."""
    options = ChatOptions(max_tokens=tokens, sampling=SamplingParams(seed=1))
    start = time.perf_counter()
    turn = chat.send(text, attachments)
    request = chat.request_for(turn, options)
    recorder = AnswerRecorder(turn.answer.id, 0)
    first: float | None = None
    stats: GenerationStats | None = None
    for event in model_session.generate(request):
        if first is None and isinstance(event, AnswerDelta):
            first = time.perf_counter() - start
        if isinstance(event, Stats):
            stats = event.stats
        recorder.feed(event)
    chat.finish(recorder.final())
    assert first is not None and stats is not None, "the model did not answer"
    return first, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=50_000)
    args = parser.parse_args()
    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)
    init_backend()
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model_session, _ = ModelSession.load(
            LoadRequest(write_tiny_gemma4(folder / "tiny.gguf", n_ctx_train=131072), n_ctx=args.tokens + 8192)
        )
        try:
            doc = folder / "report.md"
            doc_tokens = write_document(doc, model_session, args.tokens)
            doc_mb = doc.stat().st_size / 1e6
            store = Store.open(folder / "chats.db")
            cached: list[float] = []
            reread: list[float] = []
            cached_eval: list[int] = []
            reread_eval: list[int] = []
            for _ in range(args.rounds):
                chat = ChatSession(store)
                conversation = chat.new()
                model_session.reset_cache()
                first_s, first_stats = ask(chat, model_session, QUESTION, [decode_file(doc, "document")])
                t, st = ask(chat, model_session, FOLLOW_UP)
                cached.append(t)
                cached_eval.append(st.evaluated_tokens)
                fresh = ChatSession(store)  # the chat reopened: nothing decoded, nothing in the KV cache
                fresh.open(conversation.id)
                model_session.reset_cache()
                t, st = ask(fresh, model_session, FOLLOW_UP)
                reread.append(t)
                reread_eval.append(st.evaluated_tokens)
            store.close()
        finally:
            model_session.close()

    c, r = statistics.median(cached), statistics.median(reread)
    print(f"\nTiny Gemma 4, a {doc_tokens:,}-token document ({doc_mb:.2f} MB), {args.rounds} rounds")
    print(f"  first question (document read)   : {first_s * 1000:8.1f} ms  evaluated {first_stats.evaluated_tokens:,}")
    print(f"  follow-up, document cached       : {c * 1000:8.1f} ms  evaluated {statistics.median(cached_eval):,.0f}")
    print(f"  follow-up, document read again   : {r * 1000:8.1f} ms  evaluated {statistics.median(reread_eval):,.0f}")
    ratio = c / r
    ok = ratio <= 0.1 and max(cached_eval) < 100
    verdict = "PASS" if ok else "FAIL"
    print(f"  cached / re-read TTFT            : {ratio:8.3f}  target <= 0.1, < 100 tokens evaluated  {verdict}")


if __name__ == "__main__":
    main()
