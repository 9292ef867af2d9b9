"""Benchmark: reading a long PDF and counting its tokens, and what that costs the GUI thread.

A 300-page text PDF (about 2,000 characters a page, written with fpdf2) is
1. read with ``read_document`` (PDFium text per page): seconds and pages/s;
2. measured: its prompt block (``document_parts``) tokenized with the tiny
   Gemma 4 model's tokenizer (llama.cpp's, as the chips' counts are);
   target: read + count under 2 s;
3. read and counted again through ``app.ui.tasks.run_in_background`` while a
   1 ms timer on the GUI thread records the longest gap between its ticks
   (the GUI thread's longest stall); target <= 50 ms.
Rounds interleave the three, medians are printed (stalls: the worst round).

    uv run python -m tests.bench.document_extract [--rounds 5] [--pages 300]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.engine.attachments import document_parts
from app.engine.native import NativeModel
from app.media.documents import Document, read_document
from app.ui.tasks import run_in_background
from tests.bench.heartbeat import Heartbeat

TARGET_S = 2.0
TARGET_STALL_MS = 50.0


def count_tokens(model: NativeModel, document: Document) -> int:
    """Tokens of the document as the prompt carries it (its fenced text block; no pictures here)."""
    return sum(model.count_tokens(p.text) for p in document_parts(document))


def read_and_count(model: NativeModel, path: Path) -> tuple[float, float, int]:
    """Seconds to read, seconds to count, tokens."""
    started = time.perf_counter()
    document = read_document(path)
    read = time.perf_counter()
    tokens = count_tokens(model, document)
    return read - started, time.perf_counter() - read, tokens


def in_background(app: QApplication, model: NativeModel, path: Path) -> tuple[float, float]:
    """Read and count on the task pool while the GUI thread runs its event loop: seconds, longest stall."""
    loop = QEventLoop()
    results: list[object] = []
    beat = Heartbeat(interval_ms=1)
    beat.start()
    started = time.perf_counter()
    run_in_background(
        lambda: count_tokens(model, read_document(path)),
        lambda tokens: (results.append(tokens), loop.quit()),
        lambda error: (results.append(error), loop.quit()),
    )
    QTimer.singleShot(60_000, loop.quit)
    loop.exec()
    elapsed = time.perf_counter() - started
    stall = beat.stop()
    if not results or isinstance(results[0], BaseException):
        raise RuntimeError(f"background read failed: {results}")
    return elapsed, stall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", type=int, default=300)
    args = parser.parse_args()
    logging.getLogger("gemma_desk.llama").setLevel(logging.CRITICAL)
    app = QApplication([])
    from tests.fixtures.tiny_gemma4 import write_tiny_gemma4
    from tests.media.documents.sample_files import write_text_pdf

    with tempfile.TemporaryDirectory() as tmp:
        pdf = write_text_pdf(Path(tmp) / "report.pdf", args.pages, chars_per_page=2000)
        size_mb = pdf.stat().st_size / 1e6
        model = NativeModel(write_tiny_gemma4(Path(tmp) / "tiny.gguf"))
        try:
            read_and_count(model, pdf)  # warm-up: PDFium's fonts, the tokenizer's caches
            reads, counts, totals, background, stalls = [], [], [], [], []
            tokens = 0
            for _ in range(args.rounds):
                read_s, count_s, tokens = read_and_count(model, pdf)
                reads.append(read_s)
                counts.append(count_s)
                totals.append(read_s + count_s)
                elapsed, stall = in_background(app, model, pdf)
                background.append(elapsed)
                stalls.append(stall)
        finally:
            model.close()
    read_s, total_s, stall_ms = statistics.median(reads), statistics.median(totals), max(stalls) * 1000
    print(f"\n{args.pages}-page text PDF (~2,000 characters a page, {size_mb:.1f} MB), {args.rounds} rounds, medians")
    print(f"  read_document            : {read_s:7.3f} s   {args.pages / read_s:6.0f} pages/s")
    print(f"  count tokens (tiny Gemma): {statistics.median(counts):7.3f} s   {tokens:,} tokens")
    print(
        f"  read + count             : {total_s:7.3f} s   target < {TARGET_S:.0f} s     {_verdict(total_s < TARGET_S)}"
    )
    print(f"  read + count on the pool : {statistics.median(background):7.3f} s   (GUI event loop running)")
    stall_verdict = _verdict(stall_ms <= TARGET_STALL_MS)
    print(f"  longest GUI stall        : {stall_ms:7.1f} ms  target <= {TARGET_STALL_MS:.0f} ms  {stall_verdict}")
    print(f"    stalls by round        : {', '.join(f'{s * 1000:.1f}' for s in stalls)} ms")


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    main()
