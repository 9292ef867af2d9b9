"""The models on this machine: downloaded into the models folder, or imported from elsewhere.

Each entry is read from its GGUF header (architecture, parameter count,
quantization, context length, chat template present) and paired with the
projector next to it. Imported files stay where they are; their paths are
remembered in ``library.json`` in the models folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from app.engine.errors import EngineError, ModelFileError
from app.engine.gguf_file import GGUFInfo, read_gguf_info
from app.engine.mtp_file import ASSISTANT_ARCH
from app.models.local import find_assistant, find_mmproj

#: llama.cpp's ``general.file_type`` values (llama.h ``llama_ftype``) → the usual names.
FILE_TYPES: dict[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
}

GEMMA_ARCHES = frozenset({"gemma", "gemma2", "gemma3", "gemma3n", "gemma4"})


class CompanionFileError(ModelFileError):
    """The file goes with a model (an MTP assistant) rather than being one."""


@dataclass(frozen=True)
class LocalModel:
    """A GGUF language model on disk, as its header describes it."""

    path: Path
    name: str
    architecture: str
    params: int | None  # from the tensor shapes
    quantization: str
    context_length: int | None
    has_chat_template: bool
    size_bytes: int
    mmproj: Path | None
    imported: bool  # lives outside the models folder
    assistant: Path | None = None  # a Gemma 4 MTP assistant next to it that fits it

    @property
    def is_gemma(self) -> bool:
        return self.architecture in GEMMA_ARCHES

    @property
    def kind(self) -> str:
        """How the UI labels it: Gemma 4, another Gemma, another chat model, or a base model."""
        if self.architecture == "gemma4":
            return "Gemma 4"
        if self.is_gemma:
            return "Gemma (earlier generation)"
        return "Other chat model" if self.has_chat_template else "Base model (no chat template)"


def _count_params(info: GGUFInfo) -> int | None:
    if not info.tensors:
        return None
    return sum(t.n_elements for t in info.tensors)


def describe(path: Path, *, imported: bool = False) -> LocalModel:
    """Read a model's header (raises ``ModelFileError`` for bad files and for projectors)."""
    info = read_gguf_info(path)
    if info.is_projector:
        raise ModelFileError(f"{path.name} is a vision/audio projector (mmproj), not a language model.")
    if info.architecture == ASSISTANT_ARCH:
        raise CompanionFileError(
            f"{path.name} is a Gemma 4 MTP assistant (it drafts tokens for a Gemma 4 model), not a chat model."
        )
    file_type = info.get("general.file_type")
    quant = FILE_TYPES.get(file_type, f"type {file_type}") if isinstance(file_type, int) else "unknown"
    return LocalModel(
        path=path,
        name=info.name,
        architecture=info.architecture,
        params=_count_params(info),
        quantization=quant,
        context_length=info.context_length,
        has_chat_template=bool(info.chat_template),
        size_bytes=info.file_size,
        mmproj=find_mmproj(path),
        imported=imported,
        assistant=find_assistant(path),
    )


class Library:
    """Models in ``folder`` plus imported ones (remembered in ``folder/library.json``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._index = self.folder / "library.json"

    def _imported_paths(self) -> list[Path]:
        try:
            data = json.loads(self._index.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        paths = data.get("imported", []) if isinstance(data, dict) else []
        return [Path(p) for p in paths if isinstance(p, str)]

    def _save_imported(self, paths: list[Path]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._index.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"imported": [str(p) for p in paths]}, indent=2), encoding="utf-8")
        os.replace(tmp, self._index)

    def models(self) -> tuple[list[LocalModel], list[str]]:
        """Every usable model, and one line per file that could not be read."""
        found: list[LocalModel] = []
        problems: list[str] = []
        seen: set[Path] = set()
        candidates = sorted(self.folder.glob("*.gguf")) if self.folder.is_dir() else []
        for path in candidates:
            if "mmproj" in path.name.lower():
                continue
            seen.add(path.resolve())
            try:
                found.append(describe(path))
            except CompanionFileError:
                continue  # an assistant is offered with its model, not as one
            except EngineError as exc:
                problems.append(str(exc))
        for path in self._imported_paths():
            if path.resolve() in seen:
                continue
            if not path.exists():
                problems.append(f"{path.name} was imported from {path.parent} but is no longer there.")
                continue
            try:
                found.append(describe(path, imported=True))
            except EngineError as exc:
                problems.append(str(exc))
        return found, problems

    def import_model(self, path: Path) -> LocalModel:
        """Remember a GGUF that lives elsewhere (nothing is copied)."""
        path = Path(path).expanduser().resolve()
        model = describe(path, imported=True)
        paths = self._imported_paths()
        if path not in paths and path.parent != self.folder.resolve():
            self._save_imported([*paths, path])
        return model

    def forget(self, path: Path) -> None:
        path = Path(path).resolve()
        self._save_imported([p for p in self._imported_paths() if p.resolve() != path])

    def delete(self, model: LocalModel, *, with_mmproj: bool = True) -> int:
        """Delete a downloaded model (and its projector if no other model uses it); imported ones are
        only forgotten. Returns the bytes freed."""
        if model.imported:
            self.forget(model.path)
            return 0
        freed = 0
        others = [m for m in self.models()[0] if m.path != model.path]
        targets = [model.path]
        if with_mmproj and model.mmproj is not None and all(m.mmproj != model.mmproj for m in others):
            targets.append(model.mmproj)
        for target in targets:
            try:
                freed += target.stat().st_size
                target.unlink()
            except FileNotFoundError:
                pass
        return freed
