"""The Help menu's About box: the app, the engine, Qt, the model loaded (the shortcuts sheet is
``shortcuts_sheet``)."""

from __future__ import annotations

from app import __version__
from app.engine import ModelInfo
from app.units import format_params


def about_text(info: ModelInfo | None, backend_summary: str) -> str:
    """The About box: the app, the engine (llama.cpp and its backend), Qt, and the model loaded."""
    import llama_cpp
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from app.engine.cpu_variants import loaded_variant

    variant = loaded_variant()

    if info is None:
        model = "none loaded"
    else:
        gpu = f", {info.gpu_layers} layers on the GPU" if info.gpu_layers else ""
        if info.cpu_moe_layers:
            gpu += f" (the experts of {info.cpu_moe_layers} of them in RAM)"
        model = f"{info.name} ({info.architecture}, {format_params(info.n_params)} parameters) on {info.backend}{gpu}"
        model += f"<br>{info.path.name}" + (f" + {info.mmproj_path.name}" if info.mmproj_path else "")
    return (
        f"<h3>Gemma Desk {__version__}</h3>"
        "<p>Chat with Google's Gemma 4 on your own computer. Nothing you type, show or say leaves it.</p>"
        f"<p><b>Engine:</b> llama.cpp through llama-cpp-python {llama_cpp.__version__}"
        f" ({backend_summary or 'backend shown once a model loads'})<br>"
        f"<b>CPU kernels:</b> {variant.label if variant else 'chosen when llama.cpp starts'}<br>"
        f"<b>Qt:</b> {qVersion()} (PySide6 {pyside_version})<br>"
        f"<b>Model:</b> {model}</p>"
        "<p>Gemma is a family of open models by Google. Gemma Desk is released under the Apache License 2.0.</p>"
    )
