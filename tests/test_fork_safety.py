"""The app's process can fork while numpy multiplies on another thread (Qt WebEngine forks to start its helpers).

With numpy's OpenBLAS thread pool, a fork() during products on another thread waits forever in OpenBLAS's fork
handler: a page preview opened while the machine's speed was measured hung the whole window (stop 25's CI, and
locally about one run in five of the frozen self-check). ``app/__init__.py`` leaves OpenBLAS no pool of its own.
Without it, the script below hangs within a second on this machine (checked by hand: 10 s of forking, killed at 30 s).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = """
import os, sys, threading, time
import app  # first, as every entry point does: before numpy
import numpy as np

stop = False
def multiply():
    a = np.full((256, 256), 0.5, dtype=np.float32)
    while not stop:
        np.matmul(a, a)

threading.Thread(target=multiply, daemon=True).start()
time.sleep(0.1)
forks, start = 0, time.monotonic()
while time.monotonic() - start < 3:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    forks += 1
stop = True
print(forks)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this OS")
def test_forking_while_numpy_multiplies_on_another_thread_does_not_hang() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}  # what a user's shell passes
    try:
        proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("a fork() hung while numpy multiplied on another thread")
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 50  # it really forked, many times, during the products
