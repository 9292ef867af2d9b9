"""``gemma-desk ask --speak``: the answer reaches the speakers, and the command ends when the voice is done."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.speech import NO_ENGINE
from app.speech.engine import ENGINE_VARIABLE, engine_for_this_machine
from tests.media.virtual_mic import NoVirtualMic
from tests.speech.conftest import MISSING
from tests.speech.sink_recorder import SinkRecorder
from tests.test_cli import run_cli


def test_ask_speak_reads_the_answer_aloud(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    if engine_for_this_machine() is None:
        pytest.skip(MISSING)
    try:
        recorder = SinkRecorder()
    except NoVirtualMic as missing:
        pytest.skip(str(missing))
    args = ("ask", "-m", str(tiny_model), "--max-tokens", "24", "--seed", "3", "--speak", "Hello")
    with recorder:
        start = time.perf_counter()
        proc = run_cli(python, cli_env, *args, timeout=120)
        ended = time.perf_counter()
        time.sleep(0.3)  # any sound after the command ended would show here
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "notice" not in proc.stderr.lower(), proc.stderr
    answer = proc.stdout.strip()
    assert answer
    heard = recorder.sound_seconds(start)
    assert 0.5 < heard < 0.3 * len(answer), (heard, answer)  # the tiny model's answer is word salad: per letter
    loud = recorder.loud_times(start)
    assert loud[-1] < ended + 0.1  # the command waited for the voice


def test_ask_speak_without_an_engine_answers_and_says_why(
    python: str, cli_env: dict[str, str], tiny_model: Path
) -> None:
    env = {**cli_env, ENGINE_VARIABLE: "none"}
    proc = run_cli(python, env, "ask", "-m", str(tiny_model), "--max-tokens", "8", "--speak", "Hello", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert any(NO_ENGINE in line for line in lines), proc.stderr
    assert "Traceback" not in proc.stderr and "pipewire" not in proc.stderr
