"""Benchmark: launch to first window, the frozen bundle against ``python -m app``, side by side.

Run it under an X server (``xvfb-run``): each round starts the app as a user would (a fresh data folder, no
model), and the time to its window being mapped and painted is read from the X server (``xwininfo`` lists the
window once it is shown), then the app is closed. The two launches alternate, five rounds each; the medians
and their ratio are printed.

    xvfb-run -s "-screen 0 1280x800x24" uv run python -m tests.bench.cold_start
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FROZEN = REPO / "build" / "dist" / "gemma-desk" / "gemma-desk"


def _window_shown() -> bool:
    out = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
    return any('"Gemma Desk"' in line and "x" in line.split(")")[-1] for line in out.splitlines())


def launch(cmd: list[str], timeout: float = 60.0) -> float:
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["GEMMA_DESK_HOME"] = tempfile.mkdtemp(prefix="gemma-cold-")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        while not _window_shown():
            if time.perf_counter() - t0 > timeout or proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]}: no window")
            time.sleep(0.005)
        return time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(env["GEMMA_DESK_HOME"], ignore_errors=True)
        time.sleep(0.5)  # let the X server forget the window


def main() -> int:
    if not os.environ.get("DISPLAY") or shutil.which("xwininfo") is None:
        print(
            "needs an X server and xwininfo: "
            "xvfb-run -s '-screen 0 1280x800x24' uv run python -m tests.bench.cold_start"
        )
        return 2
    if not FROZEN.exists():
        print("no frozen bundle: bash packaging/build-linux.sh")
        return 2
    runs = {"frozen bundle": [FROZEN], "python -m app": [sys.executable, "-m", "app"]}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for cmd in runs.values():
        launch(cmd)  # warm the page cache once each: this compares the launches, not the disk
    for _ in range(5):
        for name, cmd in runs.items():
            times[name].append(launch(cmd))
    print("launch → first window (s), median of 5, alternating")
    for name, values in times.items():
        print(f"  {name:<15} {statistics.median(values):.3f}   ({', '.join(f'{v:.2f}' for v in values)})")
    ratio = statistics.median(times["frozen bundle"]) / statistics.median(times["python -m app"])
    print(f"  frozen / python = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
