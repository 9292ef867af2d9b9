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
from collections.abc import Callable
from pathlib import Path

from app.engine.errors import EngineError
from app.engine.gguf_file import GGUFInfo, projector_width, read_gguf_info
from app.engine.mtp_file import ASSISTANT_ARCH, check_assistant_pair

_QUANT = re.compile(r"[-_.](?:i?q\d[\w]*|f16|f32|bf16|fp16|fp32)$", re.IGNORECASE)


def _stem_words(name: str) -> set[str]:
    stem = Path(name).stem.lower().replace("mmproj", "")
    stem = _QUANT.sub("", stem)
    return {w for w in re.split(r"[-_.\s]+", stem) if w}


def _best_companion(model_path: Path, named: Callable[[str], bool], fits: Callable[[GGUFInfo], bool]) -> Path | None:
    """The GGUF beside ``model_path`` whose lower-case name passes ``named`` and whose header ``fits``, sharing
    the most words with the model's name; None when none does (or the folder cannot be read)."""
    words = _stem_words(model_path.name)
    best: tuple[int, Path] | None = None
    try:
        candidates = sorted(p for p in model_path.parent.glob("*.gguf") if named(p.name.lower()))
    except OSError:
        return None
    for candidate in candidates:
        if candidate == model_path:
            continue
        try:
            if not fits(read_gguf_info(candidate)):
                continue
        except EngineError:
            continue
        score = len(words & _stem_words(candidate.name))
        if best is None or score > best[0]:
            best = (score, candidate)
    return best[1] if best else None


def find_mmproj(model_path: Path) -> Path | None:
    """The projector next to ``model_path`` that belongs to it, or None."""
    model_path = Path(model_path)
    try:
        model = read_gguf_info(model_path)
    except EngineError:
        return None
    width = model.get(f"{model.architecture}.embedding_length")

    def fits(info: GGUFInfo) -> bool:
        return info.is_projector and not (isinstance(width, int) and projector_width(info) not in (None, width))

    return _best_companion(model_path, lambda name: "mmproj" in name, fits)


def find_assistant(model_path: Path) -> Path | None:
    """The MTP assistant next to ``model_path`` that fits it (a name with "mtp" or "assistant"), or None."""
    model_path = Path(model_path)
    try:
        model = read_gguf_info(model_path)
    except EngineError:
        return None
    if model.architecture != "gemma4":
        return None

    def fits(info: GGUFInfo) -> bool:
        if info.architecture != ASSISTANT_ARCH:
            return False
        check_assistant_pair(info, model)  # raises EngineError: not this model's
        return True

    return _best_companion(model_path, lambda name: "mtp" in name or "assistant" in name, fits)
