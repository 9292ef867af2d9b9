"""``gemma-desk serve`` as a real process: it prints its address, answers, refuses an unsafe address before
loading, keeps a new key only as a hash, and ends with 130 on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx


def start(python: str, env: dict[str, str], *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [python, "-m", "app", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"at (http://\S+)/v1", line)
        if found:
            return proc, found.group(1)
    _out, err = proc.communicate(timeout=10)
    raise AssertionError(f"serve did not start: {err}")


def interrupt(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)  # also closes the pipes
    return proc.returncode


def test_serve_answers_until_ctrl_c(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    proc, address = start(python, cli_env, "-m", str(tiny_model), "--ctx", "1024")
    try:
        assert address.startswith("http://127.0.0.1:")
        assert httpx.get(address + "/health", timeout=10).json()["status"] == "ok"
        reply = httpx.post(
            address + "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
            timeout=60,
        )
        assert reply.status_code == 200 and reply.json()["choices"][0]["finish_reason"] == "length"
    finally:
        code = interrupt(proc)
    assert code == 130


def test_serve_on_every_address_without_a_key_is_refused_before_loading(
    python: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**cli_env, "GEMMA_DESK_HOME": str(tmp_path)}
    env.pop("GEMMA_DESK_API_KEY", None)
    started = time.monotonic()
    proc = subprocess.run(
        [python, "-m", "app", "serve", "-m", str(tmp_path / "not-even-there.gguf"), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "without an API key" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 30


def test_a_new_key_is_shown_once_then_asked_for(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    env = {**cli_env, "GEMMA_DESK_HOME": str(tmp_path)}
    env.pop("GEMMA_DESK_API_KEY", None)
    made = subprocess.run(
        [python, "-m", "app", "serve", "--new-key"], capture_output=True, text=True, env=env, timeout=60
    )
    assert made.returncode == 0, made.stderr
    key = re.search(r"New API key .*: (\S+)", made.stdout).group(1)  # type: ignore[union-attr]
    stored = (tmp_path / "server.json").read_text(encoding="utf-8")
    assert key not in stored and json.loads(stored)["api_key"]["hash"]
    proc, address = start(python, env, "-m", str(tiny_model), "--ctx", "1024", "--host", "0.0.0.0")
    try:
        local = "http://127.0.0.1:" + address.rsplit(":", 1)[1]
        assert httpx.get(local + "/health", timeout=10).status_code == 401
        good = httpx.get(local + "/health", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert good.status_code == 200
    finally:
        assert interrupt(proc) == 130
