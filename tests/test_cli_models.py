"""`gemma-desk models`: list, fit, download (pause with Ctrl-C, resume), verify and import, as real subprocesses.

Downloads come from a real HTTP server on 127.0.0.1 that serves the tiny Gemma 4 under a test catalog.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from app.models.download import part_path
from tests.models.http_fixture import FileServer
from tests.models.served_catalog import MMPROJ_FILE, MODEL_FILE, endpoint, serve_catalog
from tests.test_cli import run_cli


@pytest.fixture
def env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return cli_env | {"GEMMA_DESK_HOME": str(tmp_path / "home")}


def models(python: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(python, env, "models", *args, timeout=120)


def test_list_shows_every_catalog_model_with_its_fit(python: str, env: dict[str, str]) -> None:
    proc = models(python, env, "list")
    assert proc.returncode == 0, proc.stderr
    for name in ("Gemma 4 E2B", "Gemma 4 E4B", "Gemma 4 26B A4B", "Gemma 4 31B"):
        assert name in proc.stdout
    assert "e4b:Q4_K_M" in proc.stdout and "needs" in proc.stdout
    rows = [json.loads(line) for line in models(python, env, "list", "--json").stdout.splitlines()]
    catalog = [r for r in rows if r["type"] == "catalog"]
    assert {r["model"] for r in catalog} == {"gemma-4-e2b-it", "gemma-4-e4b-it", "gemma-4-26b-a4b-it", "gemma-4-31b-it"}
    for r in catalog:
        assert r["verdict"] in ("fits", "tight", "too_big") and r["need_bytes"] > r["download_bytes"] > 0
        assert r["state"] == "absent"


def test_fit_recommends_a_model_for_this_machine_with_the_estimate(python: str, env: dict[str, str]) -> None:
    proc = models(python, env, "fit")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # E2B (about 4 GB) fits any machine these tests run on
    assert "This machine:" in proc.stdout and "RAM:" in proc.stdout and "llama.cpp backends: CPU" in proc.stdout
    assert "Recommended: Gemma 4" in proc.stdout
    assert "Estimate at" in proc.stdout and "KV cache" in proc.stdout and "weights" in proc.stdout
    assert "gemma-desk models download" in proc.stdout
    named = models(python, env, "fit", "e2b:Q8_0", "--ctx", "4096", "--json")
    row = json.loads(named.stdout)
    assert row["ref"] == "e2b:Q8_0" and row["n_ctx"] == 4096 and row["need_bytes"] > 5_000_000_000


def test_fit_of_a_gguf_file_reads_its_header(python: str, env: dict[str, str], tiny_model: Path) -> None:
    proc = models(python, env, "fit", str(tiny_model), "--ctx", "2048")
    assert proc.returncode == 0, proc.stderr
    assert tiny_model.name in proc.stdout and "Fits: needs" in proc.stdout and "Estimate at 2,048 tokens" in proc.stdout


def test_bad_names_and_files_get_one_line(python: str, env: dict[str, str], tmp_path: Path) -> None:
    proc = models(python, env, "download", "gemma-9")
    assert proc.returncode == 2 and "choose one of: e2b, e4b, 26b-a4b, 31b" in proc.stderr
    ctx = models(python, env, "fit", "e2b", "--ctx", "-5")
    assert ctx.returncode == 2 and "between 256 and 1,048,576 tokens (see 'gemma-desk models fit --help')" in ctx.stderr
    mirror = models(python, env, "download", "e2b", "--folder", str(tmp_path / "m"), "--endpoint", "mirror.local")
    assert mirror.returncode == 1 and "'mirror.local' is not an http:// or https:// address" in mirror.stderr
    assert not (tmp_path / "m").exists()  # nothing was started
    assert "Traceback" not in proc.stderr
    page = tmp_path / "model.gguf"
    page.write_text("<!DOCTYPE html><html><body>Sign in</body></html>")
    proc = models(python, env, "import", str(page))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "GGUF" in proc.stderr or "web page" in proc.stderr


def test_download_pause_resume_verify(
    python: str, env: dict[str, str], tmp_path: Path, server: FileServer, tiny_model: Path, tiny_mmproj: Path
) -> None:
    catalog = serve_catalog(server, tmp_path, tiny_model.read_bytes(), tiny_mmproj.read_bytes())
    folder = tmp_path / "models"
    base = ["--catalog", str(catalog), "--folder", str(folder)]
    server.slow_s, server.piece = 0.02, 8192  # ~400 KB/s: slow enough to interrupt
    child = subprocess.Popen(
        [python, "-m", "app", "models", *base, "download", "tiny:Q8_0", "--endpoint", endpoint(server)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    model = folder / MODEL_FILE
    deadline = time.monotonic() + 30
    while not (part_path(model).is_file() and part_path(model).stat().st_size > 50_000):
        assert time.monotonic() < deadline and child.poll() is None, child.stderr.read() if child.stderr else ""
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)  # Ctrl-C pauses: the .part stays
    _out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert "Paused. Run 'gemma-desk models download tiny:Q8_0' again to resume." in err
    kept = part_path(model).stat().st_size
    assert 0 < kept < tiny_model.stat().st_size and not model.exists()

    server.slow_s = 0.0
    server.seen.clear()
    proc = models(python, env, *base, "download", "tiny:Q8_0", "--endpoint", endpoint(server))
    assert proc.returncode == 0, proc.stderr
    assert "Tiny Gemma 4 Q8_0 is ready" in proc.stderr and "SHA-256 checked" in proc.stderr
    assert server.seen[0].range == f"bytes={kept}-"  # resumed, not restarted
    assert model.read_bytes() == tiny_model.read_bytes()
    assert (folder / MMPROJ_FILE).read_bytes() == tiny_mmproj.read_bytes()
    listed = models(python, env, *base, "list", "--json").stdout
    rows = [json.loads(line) for line in listed.splitlines()]
    assert any(r["type"] == "catalog" and r["state"] == "installed" for r in rows)
    assert any(r["type"] == "local" and r["path"] == str(model) and r["mmproj"] for r in rows)

    ok = models(python, env, *base, "verify")
    assert ok.returncode == 0 and ok.stdout.count("SHA-256 matches") == 2, ok.stdout
    with model.open("r+b") as f:  # one flipped byte in the middle
        f.seek(model.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    bad = models(python, env, *base, "verify", "--json")
    results = {Path(r["path"]).name: r["result"] for r in map(json.loads, bad.stdout.splitlines())}
    assert bad.returncode == 1 and results == {MODEL_FILE: "damaged", MMPROJ_FILE: "sha256"}


def test_import_reads_the_header_and_finds_the_projector(
    python: str, env: dict[str, str], tmp_path: Path, tiny_model: Path, tiny_mmproj: Path
) -> None:
    elsewhere = tmp_path / "my models"
    elsewhere.mkdir()
    model = elsewhere / "tiny-gemma4-Q8_0.gguf"
    model.write_bytes(tiny_model.read_bytes())
    (elsewhere / "mmproj-tiny-gemma4-f16.gguf").write_bytes(tiny_mmproj.read_bytes())
    folder = tmp_path / "models"
    proc = models(python, env, "--folder", str(folder), "import", str(model))
    assert proc.returncode == 0, proc.stderr
    assert "Imported tiny-gemma4-Q8_0.gguf: Gemma 4 (gemma4)" in proc.stdout
    assert "Projector: mmproj-tiny-gemma4-f16.gguf" in proc.stdout
    rows = [
        json.loads(line) for line in models(python, env, "--folder", str(folder), "list", "--json").stdout.splitlines()
    ]
    local = [r for r in rows if r["type"] == "local"]
    assert len(local) == 1 and local[0]["imported"] and local[0]["chat_template"] and local[0]["path"] == str(model)


def test_a_non_gemma_chat_model_is_imported_as_such_and_answers(
    python: str, env: dict[str, str], tmp_path: Path, tiny_llama: Path
) -> None:
    folder = tmp_path / "models"
    proc = models(python, env, "--folder", str(folder), "import", str(tiny_llama))
    assert proc.returncode == 0, proc.stderr
    assert "Other chat model (llama)" in proc.stdout and "No chat template" not in proc.stdout
    args = ("ask", "-m", str(tiny_llama), "--max-tokens", "8", "--seed", "1", "--json", "Hello")
    answer = run_cli(python, env, *args)
    assert answer.returncode == 0, answer.stderr
    events = [json.loads(line) for line in answer.stdout.splitlines()]
    stats = next(e for e in events if e["type"] == "stats")
    assert stats["prompt_tokens"] > 5 and 1 <= stats["completion_tokens"] <= 8  # random weights may stop early
    assert "no chat template" not in answer.stdout + answer.stderr  # its own ChatML template was used
    assert events[-1]["type"] == "done" and events[-1]["stop_reason"] in ("end", "max_tokens")


def two_model_catalog(folder: Path) -> Path:
    """A bigger model that cannot hear and a smaller one that can (sizes only: nothing is downloaded)."""
    entry = 'family = "gemma4"\ncontext_length = 8192\nlicense = "Apache-2.0"\nkv_bytes_per_token_f16 = 4096\n'
    text = f"""schema = 1

[[models]]
id = "gemma-4-deaf-it"
name = "Gemma 4 Deaf"
{entry}params_b = 0.02
active_params_b = 0.02
modalities = ["text"]
repo = "test/deaf"

[[models.quants]]
name = "Q4_K_M"
file = "deaf-Q4_K_M.gguf"
size = 20000000

[[models]]
id = "gemma-4-ear-it"
name = "Gemma 4 Ear"
{entry}params_b = 0.01
active_params_b = 0.01
modalities = ["text", "image", "audio"]
repo = "test/ear"

[[models.quants]]
name = "Q4_K_M"
file = "ear-Q4_K_M.gguf"
size = 10000000

[models.mmproj]
file = "mmproj-ear.gguf"
size = 1000000
"""
    path = folder / "models.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_fit_shows_the_speed_and_offers_a_model_that_hears(python: str, env: dict[str, str], tmp_path: Path) -> None:
    proc = models(python, env, "fit")
    assert proc.returncode == 0, proc.stderr
    assert "Speed here: Writes " in proc.stdout and " tok/s" in proc.stdout
    assert "this machine read memory at" in proc.stdout and "GB/s" in proc.stdout
    row = json.loads(models(python, env, "fit", "--json").stdout)
    assert row["decode_tok_s"] > 0 and row["prefill_tok_s"] > 0 and row["speed_source"] == "estimate"
    # Which model is picked depends on this machine's memory and speed: E2B/E4B hear and need no voice note,
    # 26B-A4B/31B cannot and get one naming a model that hears.
    assert row["hears"] is ("audio" in row["modalities"])
    assert (row["voice_note"] is None) is row["hears"]
    if not row["hears"]:
        assert "cannot hear: push-to-talk needs E2B or E4B" in row["voice_note"] and row["voice_ref"]
    assert (Path(env["GEMMA_DESK_HOME"]) / "machine-speed.json").is_file()  # measured once, then kept
    listed = [json.loads(line) for line in models(python, env, "list", "--json").stdout.splitlines()]
    assert all(r["decode_tok_s"] > 0 for r in listed if r["type"] == "catalog")
    assert " tok/s" in models(python, env, "list").stdout

    catalog = two_model_catalog(tmp_path)
    proc = models(python, env, "fit", "--catalog", str(catalog))
    assert proc.returncode == 0, proc.stderr
    assert "Recommended: Gemma 4 Deaf Q4_K_M" in proc.stdout
    assert "Voice: Gemma 4 Deaf cannot hear: push-to-talk needs Ear. For voice, choose Gemma 4 Ear Q4_K_M" in (
        proc.stdout
    )
    assert "gemma-desk models download ear:Q4_K_M" in proc.stdout
    row = json.loads(models(python, env, "fit", "--catalog", str(catalog), "--json").stdout)
    assert row["hears"] is False and row["voice_ref"] == "ear:Q4_K_M" and "cannot hear" in row["voice_note"]


def test_fit_of_a_gguf_file_estimates_its_speed(python: str, env: dict[str, str], tiny_model: Path) -> None:
    proc = models(python, env, "fit", str(tiny_model), "--ctx", "2048")
    assert proc.returncode == 0, proc.stderr
    assert "Speed here: Writes about " in proc.stdout
    row = json.loads(models(python, env, "fit", str(tiny_model), "--json").stdout)
    assert row["decode_tok_s"] > 0 and row["speed_source"] == "estimate"
