"""This machine's CPU speed for running a model: memory bandwidth and arithmetic throughput, measured and kept.

Writing one token streams the model's active weights from memory, so decode
speed follows the memory bandwidth; reading a prompt is arithmetic, so
prefill follows the compute throughput. ``measure_cpu`` measures both with
numpy in about half a second (call it off the GUI thread):

* bandwidth: as many threads as llama.cpp decodes with each OR-reduce their
  own slice of a buffer well beyond the last-level cache (3 × its size, at
  least 64 MiB, at most 512 MiB: a scan that long leaves nothing in the
  cache for the next pass); best of three passes. numpy's loops release
  the GIL, so the threads really read side by side. (A float ``sum`` is
  arithmetic-bound on one core; an integer OR is not.)
* compute: a 1024 × 1024 float32 matrix product on numpy's BLAS threads
  (one per CPU), best of three.

``machine_speed`` keeps the result for the session and in
``machine-speed.json`` in the data folder with the time it was taken; it is
measured again after ``MAX_AGE_S`` or when the CPU it was taken on differs
(another machine, another number of threads).
"""

from __future__ import annotations

import json
import logging
import math
import platform
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from app.models.hardware import cpu_threads
from app.paths import data_dir, write_json_atomically

log = logging.getLogger(__name__)

FILE_NAME = "machine-speed.json"
MAX_AGE_S = 30 * 24 * 3600  # measured again after 30 days
MIN_BUFFER = 64 << 20
MAX_BUFFER = 512 << 20
TRIES = 3
MATMUL_N = 1024


@dataclass(frozen=True)
class CpuSpeed:
    """What the CPU side of this machine did when measured."""

    bandwidth: float  # bytes/s read from memory, with ``threads`` threads
    flops: float  # float32 FLOP/s of a BLAS matrix product
    threads: int  # threads the bandwidth was read with (llama.cpp's decode threads)
    measured_at: float  # time.time() of the measurement
    cpu: str = ""  # which CPU it was (``cpu_identity()``)
    blas_threads: int = 0  # threads the matrix products ran on (one per CPU); 0: ``threads``

    @property
    def flops_per_thread(self) -> float:
        return self.flops / max(1, self.blas_threads or self.threads)

    @property
    def bandwidth_gb_s(self) -> float:
        return self.bandwidth / 1e9


def cpu_identity() -> str:
    """The processor and the CPUs we may use: a measurement taken elsewhere does not count here."""
    name = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                name = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()} {name or 'unknown CPU'} · {cpu_threads()} threads"


def last_level_cache() -> int:
    """Bytes of the largest CPU cache the OS reports (0 when it does not say)."""
    best = 0
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (index / "size").read_text().strip().upper()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        digits = text.rstrip("KMG")
        if digits.isdigit():
            best = max(best, int(digits) * scale)
    return best


def measure_cpu(*, threads: int | None = None, buffer_bytes: int | None = None, tries: int = TRIES) -> CpuSpeed:
    """Measure read bandwidth and matrix-product throughput now (about 0.2–0.5 s; not on the GUI thread)."""
    import numpy as np

    from app.engine.backends import default_threads  # loads llama.cpp: only when measuring

    n_threads = max(1, threads or default_threads())
    size = buffer_bytes or min(MAX_BUFFER, max(MIN_BUFFER, 3 * last_level_cache()))
    buf = np.ones(size // 8, dtype=np.uint64)  # written, so every page is real memory (not the shared zero page)
    parts = np.array_split(buf, n_threads)
    best = float("inf")
    with ThreadPoolExecutor(n_threads, thread_name_prefix="gemma-bandwidth") as pool:
        for _ in range(tries):
            start = time.perf_counter()
            list(pool.map(np.bitwise_or.reduce, parts))
            best = min(best, time.perf_counter() - start)
    del buf, parts
    return CpuSpeed(
        bandwidth=size / max(best, 1e-9),
        flops=_matmul_flops(tries),
        threads=n_threads,
        measured_at=time.time(),
        cpu=cpu_identity(),
        blas_threads=cpu_threads(),
    )


def _matmul_flops(tries: int) -> float:
    """FLOP/s of float32 matrix products on every CPU at once: one single-threaded BLAS product per CPU, on our own
    threads (numpy's BLAS has no threads of its own in Gemma Desk: see ``app/__init__.py``)."""
    import numpy as np

    n = cpu_threads()
    a = np.full((MATMUL_N, MATMUL_N), 0.5, dtype=np.float32)
    b = np.full((MATMUL_N, MATMUL_N), 0.25, dtype=np.float32)

    def products() -> None:
        list(pool.map(lambda _: np.matmul(a, b), range(n)))  # numpy lets go of the GIL while BLAS multiplies

    best = float("inf")
    with ThreadPoolExecutor(n, thread_name_prefix="gemma-matmul") as pool:
        products()  # warm up
        for _ in range(tries):
            start = time.perf_counter()
            products()
            best = min(best, time.perf_counter() - start)
    return n * 2 * MATMUL_N**3 / max(best, 1e-9)


def load_cpu_speed(path: Path, *, now: float | None = None, max_age_s: float = MAX_AGE_S) -> CpuSpeed | None:
    """The measurement kept in ``path``, or None when there is none, it is stale, damaged or from another CPU."""
    from app.engine.backends import default_threads

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        speed = CpuSpeed(
            bandwidth=float(data["bandwidth"]),
            flops=float(data["flops"]),
            threads=int(data["threads"]),
            measured_at=float(data["measured_at"]),
            cpu=str(data.get("cpu", "")),
            blas_threads=int(data.get("blas_threads", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError, ArithmeticError):  # 1e999 parses as inf
        return None
    age = (time.time() if now is None else now) - speed.measured_at
    if not 0 <= age <= max_age_s or speed.cpu != cpu_identity() or speed.threads != default_threads():
        return None
    if not (0 < speed.bandwidth < math.inf and 0 < speed.flops < math.inf):  # NaN fails both
        return None
    return speed


def save_cpu_speed(path: Path, speed: CpuSpeed) -> None:
    try:
        write_json_atomically(path, asdict(speed))
    except OSError as exc:  # a read-only data folder: measured again next time
        log.info("could not keep the machine's speed in %s: %s", path, exc)


_session: CpuSpeed | None = None
_session_lock = threading.Lock()


def machine_speed(folder: Path | None = None) -> CpuSpeed:
    """This machine's ``CpuSpeed``: this session's, else the one kept in the data folder, else measured now.

    Blocks for the measurement (about half a second) the first time: call it off the GUI thread.
    """
    global _session
    with _session_lock:
        if _session is None:
            path = (folder or data_dir()) / FILE_NAME
            kept = load_cpu_speed(path)
            if kept is None:
                kept = measure_cpu()
                save_cpu_speed(path, kept)
            _session = kept
        return _session
