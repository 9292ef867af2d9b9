"""Words for models and downloads, shared by the welcome page and the model manager."""

from __future__ import annotations

from pathlib import Path

from app.models.catalog import CatalogModel
from app.models.hardware import Hardware
from app.units import format_gb

MODALITY_ORDER = ("text", "image", "audio", "video")


def model_facts(model: CatalogModel) -> str:
    """ "25.8B parameters, 3.8B active · text · image · 256K context" """
    params = f"{model.params_b:g}B parameters"
    if model.active_params_b < model.params_b:
        params += f", {model.active_params_b:g}B {'active' if model.is_moe else 'effective'}"
    modalities = " · ".join(m for m in MODALITY_ORDER if m in model.modalities)
    ctx = model.context_length
    context = f"{ctx // 1024}K context" if ctx % 1024 == 0 else f"{ctx:,} tokens of context"
    return f"{params} · {modalities} · {context}"


def hardware_summary(hw: Hardware, folder: Path) -> str:
    """One line: RAM, CPU threads, llama.cpp's backends and GPUs, free disk in the models folder."""
    gpus = ", ".join(f"{g.name} ({g.backend}, {format_gb(g.memory_free)} free)" for g in hw.gpus)
    backends = " + ".join(hw.backends) + (f": {gpus}" if gpus else " only (no GPU llama.cpp can use)")
    return (
        f"This machine: {format_gb(hw.ram_available)} of {format_gb(hw.ram_total)} RAM available · "
        f"{hw.cpu_threads} CPU threads · {backends} · {format_gb(hw.disk_free)} free in {folder}"
    )
