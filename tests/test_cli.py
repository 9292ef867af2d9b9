"""`gemma-desk ask`: the public command-line interface, run as a real subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.engine.test_prompt import SANDBOX_ESCAPE
from tests.fixtures.tiny_gemma4 import write_tiny_gemma4

STATS_FIELDS = {
    "prompt_tokens",
    "reused_tokens",
    "evaluated_tokens",
    "media_encoded",
    "completion_tokens",
    "ttft_s",
    "decode_tps",
    "n_ctx",
    "backend",
    "stop_reason",
}


def run_cli(python: str, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_json_stream_ends_with_stats_and_done(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    proc = run_cli(python, cli_env, "ask", "--model", str(tiny_model), "--think", "--json", "--max-tokens", "30", "hi")
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    kinds = [e["type"] for e in events]
    assert kinds[-2:] == ["stats", "done"]
    assert set(kinds[:-2]) <= {"thinking", "answer"} and kinds[:-2]
    assert all(isinstance(e["text"], str) and e["text"] for e in events[:-2])
    stats = events[-2]
    assert stats.keys() >= STATS_FIELDS
    assert stats["completion_tokens"] == 30 and stats["stop_reason"] == "max_tokens"
    assert stats["backend"] == "CPU"
    assert events[-1] == {"type": "done", "stop_reason": "max_tokens"}
    assert proc.stderr == ""  # llama.cpp's own log stays out of the terminal


def test_plain_output(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    proc = run_cli(python, cli_env, "ask", "-m", str(tiny_model), "--max-tokens", "12", "--seed", "4", "Hello")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert "12 tokens" in proc.stderr and "tok/s" in proc.stderr


def test_seed_makes_answers_repeatable(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    args = ("ask", "-m", str(tiny_model), "--max-tokens", "12", "--seed", "9", "--json", "Hello")
    a, b = run_cli(python, cli_env, *args), run_cli(python, cli_env, *args)
    texts = [[e.get("text") for e in json_lines(p.stdout) if e["type"] == "answer"] for p in (a, b)]
    assert texts[0] == texts[1] and texts[0]


def test_help_lists_the_commands(python: str, cli_env: dict[str, str]) -> None:
    proc = run_cli(python, cli_env, "--help")
    assert proc.returncode == 0
    assert "ask" in proc.stdout and "chat" in proc.stdout


def test_missing_model(python: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli(python, cli_env, "ask", "--model", str(tmp_path / "none.gguf"), "hi")
    assert_one_line_error(proc, 1, "Model file not found")


def test_not_a_gguf(python: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    fake = tmp_path / "notes.gguf"
    fake.write_text("these are my notes")
    proc = run_cli(python, cli_env, "ask", "--model", str(fake), "hi")
    assert_one_line_error(proc, 1, "not a GGUF")


def test_truncated_gguf(python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_model.read_bytes()[:400_000])
    proc = run_cli(python, cli_env, "ask", "--model", str(cut), "hi")
    assert_one_line_error(proc, 1, "incomplete")


def test_unknown_architecture(python: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    path = write_tiny_gemma4(tmp_path / "odd.gguf", arch="gemma99")
    proc = run_cli(python, cli_env, "ask", "--model", str(path), "hi")
    assert_one_line_error(proc, 1, "architecture 'gemma99'")


def test_template_sandbox_escape_is_refused(python: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write_tiny_gemma4(tmp_path / "evil.gguf", chat_template=SANDBOX_ESCAPE.replace("marker", repr(str(marker))))
    proc = run_cli(python, cli_env, "ask", "--model", str(path), "hi")
    assert_one_line_error(proc, 1, "unsafe")
    assert not marker.exists()


def test_context_larger_than_supported(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    proc = run_cli(python, cli_env, "ask", "--model", str(tiny_model), "--ctx", "1000000", "hi")
    assert_one_line_error(proc, 1, "at most 8,192 tokens")


def test_cpu_moe_layers_of_a_mixture_of_experts(python: str, cli_env: dict[str, str], tiny_moe_model: Path) -> None:
    model = str(tiny_moe_model)
    proc = run_cli(python, cli_env, "ask", "--model", model, "--cpu-moe", "2", "--json", "--max-tokens", "3", "hi")
    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout)[-1]["type"] == "done"
    proc = run_cli(python, cli_env, "ask", "--model", model, "--cpu-moe", "9", "hi")
    assert_one_line_error(proc, 1, "has 4 layers; the experts of 9 layers cannot stay on the CPU (use 0 … 4)")


@pytest.mark.parametrize("prompt", [[], [""], ["   "]])
def test_empty_prompt(python: str, cli_env: dict[str, str], tiny_model: Path, prompt: list[str]) -> None:
    proc = run_cli(python, cli_env, "ask", "--model", str(tiny_model), *prompt)
    assert_one_line_error(proc, 2, "prompt is empty")


def test_base_model_prints_a_notice_and_answers(python: str, cli_env: dict[str, str], tiny_base_model: Path) -> None:
    proc = run_cli(python, cli_env, "ask", "--model", str(tiny_base_model), "--json", "--max-tokens", "5", "hi")
    assert proc.returncode == 0
    assert proc.stderr.count("\n") == 1 and "no chat template" in proc.stderr
    assert json_lines(proc.stdout)[-1] == {"type": "done", "stop_reason": "max_tokens"}


def test_ctrl_c_stops_cleanly_with_exit_130(python: str, cli_env: dict[str, str], tiny_model: Path) -> None:
    proc = subprocess.Popen(
        [python, "-m", "app", "ask", "--model", str(tiny_model), "--json", "--ctx", "8192", "go"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=cli_env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the answer has started streaming
    assert json.loads(first)["type"] in ("answer", "thinking")
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 5
    assert proc.returncode == 130
    assert "Traceback" not in err
    events = json_lines(out)
    assert events[-1] == {"type": "done", "stop_reason": "stopped"}
    assert events[-2]["type"] == "stats" and events[-2]["stop_reason"] == "stopped"


def test_an_mtp_assistant_beside_the_model_drafts_the_answers(
    python: str, cli_env: dict[str, str], tiny_model: Path, tmp_path: Path
) -> None:
    """Gemma 4's MTP assistant is found next to the model (or named with --assistant) and drafts; --speculative off
    leaves it out; a file that is not an assistant is a one-line refusal."""
    from tests.fixtures.tiny_gemma4_assistant import write_tiny_gemma4_assistant

    folder = tmp_path / "models"
    folder.mkdir()
    model = folder / "tiny-gemma4.gguf"
    model.symlink_to(tiny_model)
    write_tiny_gemma4_assistant(folder / "tiny-gemma4-MTP.gguf")
    ask = ("ask", "--model", str(model), "--json", "--max-tokens", "24", "--temperature", "0", "hi")
    stats = [e for e in json_lines(run_cli(python, cli_env, *ask).stdout) if e["type"] == "stats"]
    assert stats and stats[-1]["drafter"] == "MTP" and stats[-1]["draft_tokens"] > 0
    off = [e for e in json_lines(run_cli(python, cli_env, *ask, "--speculative", "off").stdout) if e["type"] == "stats"]
    assert off and off[-1]["drafter"] == "" and off[-1]["draft_tokens"] == 0
    proc = run_cli(python, cli_env, "ask", "--model", str(model), "--assistant", str(tiny_model), "hi")
    assert_one_line_error(proc, 1, "gemma4-assistant")
