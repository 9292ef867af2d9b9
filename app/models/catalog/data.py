"""The catalog's data: ``Catalog``, ``CatalogModel``, ``Quant`` and ``FileRef``, their lookups, and its errors.

A file without a SHA-256 cannot be verified after download, only its size
checked (``FileRef.can_verify``); the UI says so.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_REVISION = "main"

MODALITIES = frozenset({"text", "image", "audio", "video"})
#: Architecture keys that are not GGUF metadata keys (see ``CatalogModel.fit_arch``).
ARCH_KV_FULL = "attention.head_count_kv_full"
ARCH_SWA_PATTERN = "attention.sliding_window_pattern"


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or malformed (one line: where, which key, what)."""


class CatalogKeyError(KeyError):
    """No model or quantization by that name; the message lists the choices."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class FileRef:
    """A file to download: its name in the repository, size and SHA-256 (either may be unknown).

    ``repo`` and ``revision`` say where it lives: the repository (the model's
    unless the catalog names another) and the commit its size and hash were
    read at (``None``: the default branch).
    """

    name: str
    size: int | None
    sha256: str | None
    size_approx: bool = False
    repo: str | None = None
    revision: str | None = None

    @property
    def can_verify(self) -> bool:
        """True when a SHA-256 is known; otherwise only the size can be checked after download."""
        return self.sha256 is not None

    @property
    def verification(self) -> str:
        """How a download of this file is checked, in words for the UI."""
        if self.sha256 is not None:
            return "SHA-256 checked"
        if self.size is not None and not self.size_approx:
            return "cannot verify: size check only"
        return "cannot verify: no checksum or exact size"

    def url(self, repo: str | None = None, endpoint: str = DEFAULT_ENDPOINT, revision: str | None = None) -> str:
        """``{endpoint}/{repo}/resolve/{revision}/{name}``; repo and revision default to the file's own."""
        repo = repo or self.repo
        if not repo:
            raise ValueError(f"{self.name}: no repository given and the catalog names none")
        rev = revision or self.revision or DEFAULT_REVISION
        quote = urllib.parse.quote
        base = endpoint.rstrip("/")
        return f"{base}/{quote(repo, safe='/')}/resolve/{quote(rev, safe='')}/{quote(self.name, safe='/')}"


@dataclass(frozen=True)
class Quant:
    """One downloadable quantization of a model ("Q4_K_M", "Q8_0", ...)."""

    name: str
    file: FileRef
    recommended: bool = False


@dataclass(frozen=True)
class CatalogModel:
    """A model in the catalog and everything needed to offer, size and download it."""

    id: str
    name: str
    family: str
    params_b: float
    active_params_b: float
    context_length: int
    modalities: frozenset[str]
    repo: str
    license: str
    quants: tuple[Quant, ...]
    mmproj: FileRef | None = None
    #: The Gemma 4 MTP assistant (a ``gemma4-assistant`` GGUF that drafts for this size), an optional companion.
    assistant: FileRef | None = None
    kv_bytes_per_token_f16: int | None = None
    arch: Mapping[str, int] = field(default_factory=dict, hash=False)
    notes: str = ""
    aliases: tuple[str, ...] = ()
    revision: str | None = None

    @property
    def short_name(self) -> str:
        """The id without "gemma-4-" and "-it": "e4b", "26b-a4b" (always accepted by ``Catalog.get``)."""
        short = self.id
        for prefix in ("gemma-4-", "gemma4-"):
            short = short.removeprefix(prefix)
        return short.removesuffix("-it")

    @property
    def can_hear(self) -> bool:
        return "audio" in self.modalities

    @property
    def can_see(self) -> bool:
        return "image" in self.modalities

    @property
    def is_moe(self) -> bool:
        return self.active_params_b < self.params_b and "expert_count" in self.arch

    @property
    def default_quant(self) -> Quant:
        """The recommended quantization, else Q4_K_M, else the first listed."""
        for q in self.quants:
            if q.recommended:
                return q
        for q in self.quants:
            if q.name.upper() == "Q4_K_M":
                return q
        return self.quants[0]

    def quant(self, name: str) -> Quant:
        """The quantization called ``name`` (any case); ``CatalogKeyError`` lists the choices otherwise."""
        wanted = name.strip().upper()
        for q in self.quants:
            if q.name.upper() == wanted:
                return q
        choices = ", ".join(q.name for q in self.quants)
        raise CatalogKeyError(f"{self.name} has no quantization {name!r}; choose one of: {choices}")

    def files(self, quant: Quant | str | None = None) -> tuple[FileRef, ...]:
        """What a download of ``quant`` (default: the recommended one) takes: the model, then the projector and
        the MTP assistant, each when the catalog lists one."""
        q = self.default_quant if quant is None else quant if isinstance(quant, Quant) else self.quant(quant)
        return tuple(f for f in (q.file, self.mmproj, self.assistant) if f is not None)

    def fit_arch(self) -> dict[str, Any]:
        """The architecture facts in the form ``app.models.fit`` reads from a GGUF (``arch_facts``).

        Expands the catalog's compact forms: the sliding-window pattern "every
        n-th layer is full attention" into one bool per layer (True = sliding),
        and ``attention.head_count_kv_full`` into a per-layer KV head count.
        Empty when the catalog gives no facts.
        """
        if not self.arch:
            return {}
        facts: dict[str, Any] = {k: v for k, v in self.arch.items() if k != ARCH_KV_FULL}
        facts["architecture"] = self.family
        n_layer = self.arch.get("block_count", 0)
        every = self.arch.get(ARCH_SWA_PATTERN, 0)
        if n_layer > 0 and every > 0:
            is_swa = [il % every < every - 1 for il in range(n_layer)]
            facts[ARCH_SWA_PATTERN] = is_swa
            full_kv = self.arch.get(ARCH_KV_FULL)
            swa_kv = self.arch.get("attention.head_count_kv")
            if full_kv is not None and swa_kv is not None:
                facts["attention.head_count_kv"] = [swa_kv if swa else full_kv for swa in is_swa]
        return facts


@dataclass(frozen=True)
class Catalog:
    """All the models on offer, in catalog order."""

    schema: int
    models: tuple[CatalogModel, ...]

    def __iter__(self) -> Iterator[CatalogModel]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def model(self, ref: str) -> CatalogModel:
        """The model named by its id or an alias ("gemma-4-e4b-it", "e4b", "E4B"), any case."""
        wanted = ref.strip().lower()
        for m in self.models:
            if wanted == m.id or wanted == m.short_name or wanted in m.aliases:
                return m
        choices = ", ".join(m.short_name for m in self.models)
        raise CatalogKeyError(f"No model {ref!r} in the catalog; choose one of: {choices}")

    def get(self, ref: str) -> tuple[CatalogModel, Quant]:
        """A model and quantization from ``"model"`` or ``"model:QUANT"`` (e.g. "e4b", "E4B:q8_0").

        Without a quantization, the model's recommended one (Q4_K_M).
        """
        model_ref, sep, quant_ref = ref.partition(":")
        model = self.model(model_ref)
        if not sep:
            return model, model.default_quant
        if not quant_ref.strip():
            raise CatalogKeyError(f"{ref!r} names no quantization after the colon")
        return model, model.quant(quant_ref)
