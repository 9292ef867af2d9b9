"""A GPU that fails to take the model: it is loaded again on the CPU, and the notice says why.

There is no GPU here, so the GPU side is a stand-in: ``backend_name`` reports CUDA and the native model refuses
any GPU offload the way llama.cpp does when a driver fails; the CPU load that follows is the real one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.engine import loader
from app.engine.errors import ModelLoadError
from app.engine.events import LoadRequest


def test_a_failing_gpu_load_falls_back_to_the_cpu(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = loader.NativeModel
    attempts: list[int] = []

    def native_model(path: Path, *, n_gpu_layers: int = -1, **kw: Any) -> Any:
        attempts.append(n_gpu_layers)
        if n_gpu_layers != 0:
            raise ModelLoadError("CUDA error: out of memory (cudaMalloc failed)")
        return real(path, n_gpu_layers=n_gpu_layers, **kw)

    monkeypatch.setattr(loader, "backend_name", lambda: "CUDA")
    monkeypatch.setattr(loader, "NativeModel", native_model)
    loaded = loader.load_model(LoadRequest(model_path=tiny_model, n_ctx=512, n_gpu_layers=-1))
    try:
        assert attempts == [-1, 0]
        assert loaded.info.backend == "CPU" and loaded.info.gpu_layers == 0
        assert loaded.notice.startswith("Loading on the GPU (CUDA) failed: CUDA error: out of memory")
        assert "runs on the CPU instead" in loaded.notice
    finally:
        loaded.close()


def test_cpu_only_requests_and_cpu_builds_do_not_retry(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []

    def broken(_path: Path, *, n_gpu_layers: int = -1, **_kw: Any) -> Any:
        attempts.append(n_gpu_layers)
        raise ModelLoadError("llama.cpp could not load the model")

    monkeypatch.setattr(loader, "NativeModel", broken)
    with pytest.raises(ModelLoadError, match=r"^llama\.cpp could not load the model$"):  # CPU-only build: no fallback
        loader.load_model(LoadRequest(model_path=tiny_model, n_ctx=512))
    assert len(attempts) == 1  # one load, no second try
    attempts.clear()
    monkeypatch.setattr(loader, "backend_name", lambda: "CUDA")
    with pytest.raises(ModelLoadError, match=r"^llama\.cpp could not load the model$"):  # the CPU was asked for
        loader.load_model(LoadRequest(model_path=tiny_model, n_ctx=512, n_gpu_layers=0))
    assert attempts == [0]  # its failure is the answer: no retry
