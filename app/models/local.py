"""Local model files: find the vision/audio projector (mmproj) and the MTP assistant that go with a model.

Releases put the projector next to the weights under names such as
``mmproj-gemma-4-E4B-it-f16.gguf`` or ``gemma-4-E4B-it-mmproj-F16.gguf``. A
candidate must be a projector (``general.architecture == "clip"``) whose
output width equals the model's embedding width; among those, the one whose
name shares the most with the model's wins. An MTP assistant (a ``gemma4-assistant`` GGUF, e.g.
``gemma-4-E4B-it-Q8_0-MTP.gguf``) must pass ``app.engine.mtp_file``'s check against the model.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.engine.errors import EngineError
from app.engine.gguf_file import projector_width, read_gguf_info
from app.engine.mtp_file import ASSISTANT_ARCH, check_assistant_pair

_QUANT = re.compile(r"[-_.](?:i?q\d[\w]*|f16|f32|bf16|fp16|fp32)$", re.IGNORECASE)


def _stem_words(name: str) -> set[str]:
    stem = Path(name).stem.lower().replace("mmproj", "")
    stem = _QUANT.sub("", stem)
    return {w for w in re.split(r"[-_.\s]+", stem) if w}


def find_mmproj(model_path: Path) -> Path | None:
    """The projector next to ``model_path`` that belongs to it, or None."""
    model_path = Path(model_path)
    try:
        model = read_gguf_info(model_path)
    except EngineError:
        return None
    width = model.get(f"{model.architecture}.embedding_length")
    words = _stem_words(model_path.name)
    best: tuple[int, Path] | None = None
    try:
        candidates = sorted(p for p in model_path.parent.glob("*.gguf") if "mmproj" in p.name.lower())
    except OSError:
        return None
    for candidate in candidates:
        if candidate == model_path:
            continue
        try:
            info = read_gguf_info(candidate)
        except EngineError:
            continue
        if not info.is_projector:
            continue
        if isinstance(width, int) and projector_width(info) not in (None, width):
            continue
        score = len(words & _stem_words(candidate.name))
        if best is None or score > best[0]:
            best = (score, candidate)
    return best[1] if best else None


def find_assistant(model_path: Path) -> Path | None:
    """The MTP assistant next to ``model_path`` that fits it (a name with "mtp" or "assistant"), or None."""
    model_path = Path(model_path)
    try:
        model = read_gguf_info(model_path)
    except EngineError:
        return None
    if model.architecture != "gemma4":
        return None
    words = _stem_words(model_path.name)
    best: tuple[int, Path] | None = None
    try:
        candidates = sorted(
            p for p in model_path.parent.glob("*.gguf") if "mtp" in p.name.lower() or "assistant" in p.name.lower()
        )
    except OSError:
        return None
    for candidate in candidates:
        if candidate == model_path:
            continue
        try:
            info = read_gguf_info(candidate)
            if info.architecture != ASSISTANT_ARCH:
                continue
            check_assistant_pair(info, model)
        except EngineError:
            continue
        score = len(words & _stem_words(candidate.name))
        if best is None or score > best[0]:
            best = (score, candidate)
    return best[1] if best else None
