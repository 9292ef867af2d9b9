"""How many threads the engine decodes with by default, and the environment override."""

from __future__ import annotations

import os

import pytest

from app.engine.backends import THREADS_ENV, default_threads


def test_the_override_sets_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_ENV, "3")
    assert default_threads() == 3


@pytest.mark.parametrize("value", ["", "0", "-2", "two", "1.5", " "])
def test_a_bad_override_is_ignored(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(THREADS_ENV, value)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    assert default_threads() == (cores - 1 if cores > 8 else cores)
