"""The model catalog: the Gemma 4 models the app offers to download (``models.toml``).

The catalog names, for each model, its facts (parameters, context, modalities,
licence, architecture), the quantizations on offer with their GGUF files
(name, size, SHA-256, the Hugging Face repository and commit they live at) and
the multimodal projector. ``load_catalog`` reads and checks the file;
``validate`` checks already-parsed data strictly (unknown keys, wrong types,
bad hashes, duplicates, ...) and raises ``CatalogError`` with a one-line
message naming the model, the key and the problem.

A file without a SHA-256 cannot be verified after download, only its size
checked (``FileRef.can_verify``); the UI says so.
"""

from __future__ import annotations

import re
import sys
import tomllib
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

SCHEMA_VERSION = 1
DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_REVISION = "main"
CATALOG_FILENAME = "models.toml"

MODALITIES = frozenset({"text", "image", "audio", "video"})
#: Architecture keys that are not GGUF metadata keys (see ``CatalogModel.fit_arch``).
ARCH_KV_FULL = "attention.head_count_kv_full"
ARCH_SWA_PATTERN = "attention.sliding_window_pattern"

_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_ALIAS_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_QUANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*")
_REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
_REVISION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_ARCH_KEY_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")

_TOP_KEYS = frozenset({"schema", "models"})
_MODEL_REQUIRED = frozenset(
    {"id", "name", "family", "params_b", "active_params_b", "context_length", "modalities", "repo", "license", "quants"}
)
_MODEL_OPTIONAL = frozenset({"aliases", "revision", "kv_bytes_per_token_f16", "arch", "notes", "mmproj"})
_FILE_KEYS = frozenset({"file", "size", "sha256", "size_approx", "repo", "revision"})
_QUANT_KEYS = _FILE_KEYS | {"name", "recommended"}


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or malformed (one line: where, which key, what)."""


class CatalogKeyError(KeyError):
    """No model or quantization by that name; the message lists the choices."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


# -- data --------------------------------------------------------------------------------


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
        """What a download of ``quant`` (default: the recommended one) takes: the model, then the projector."""
        q = self.default_quant if quant is None else quant if isinstance(quant, Quant) else self.quant(quant)
        return (q.file,) if self.mmproj is None else (q.file, self.mmproj)

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


# -- loading ------------------------------------------------------------------------------


def default_catalog_path() -> Path:
    """``models.toml`` next to the app: in the bundle when frozen (PyInstaller), else the repository root."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / CATALOG_FILENAME
    return Path(__file__).resolve().parents[2] / CATALOG_FILENAME


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Read and check the catalog (default: ``default_catalog_path()``); ``CatalogError`` if anything is wrong."""
    source = Path(path) if path is not None else default_catalog_path()
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{source}: cannot read the model catalog ({exc.strerror or exc})") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{source}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {_one_line(str(exc))}") from exc
    try:
        return validate(data)
    except CatalogError as exc:
        raise CatalogError(f"{source.name}: {exc}") from None


def validate(data: Mapping[str, Any]) -> Catalog:
    """Check parsed catalog data strictly and build the ``Catalog``; ``CatalogError`` on the first problem."""
    if not isinstance(data, Mapping):
        raise CatalogError(f"the catalog must be a table, not {_kind(data)}")
    _no_unknown(data, _TOP_KEYS, "the catalog")
    if "schema" not in data:
        raise CatalogError("the catalog has no 'schema' key (expected schema = 1)")
    schema = data["schema"]
    if not _is_int(schema):
        raise CatalogError(f"'schema' must be an integer, not {_kind(schema)}")
    if schema != SCHEMA_VERSION:
        raise CatalogError(f"schema {schema} is not supported (this app reads schema {SCHEMA_VERSION})")
    entries = data.get("models")
    if entries is None:
        raise CatalogError("the catalog has no [[models]]")
    if not _is_list(entries) or not entries:
        raise CatalogError("'models' must be a non-empty array of tables ([[models]])")

    models: list[CatalogModel] = []
    names: dict[str, str] = {}  # id / alias / short name -> the model id that has it
    for index, entry in enumerate(entries):
        where = f"models[{index}]"
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
            where = f"model {entry['id']!r}"
        model = _model(entry, where)
        for name in dict.fromkeys((model.id, model.short_name, *model.aliases)):
            owner = names.get(name)
            if owner == model.id:
                raise CatalogError(f"{where}: duplicate model id {name!r}")
            if owner is not None:
                what = "id" if name == model.id else "alias"
                raise CatalogError(f"{where}: {what} {name!r} is already used by model {owner!r}")
            names[name] = model.id
        models.append(model)
    return Catalog(schema=schema, models=tuple(models))


def _model(entry: Any, where: str) -> CatalogModel:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where}: must be a table ([[models]]), not {_kind(entry)}")
    _no_unknown(entry, _MODEL_REQUIRED | _MODEL_OPTIONAL, where)
    missing = sorted(_MODEL_REQUIRED - entry.keys())
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(repr(k) for k in missing)}")

    model_id = _pattern(entry, "id", _ID_RE, where, "lowercase letters, digits, '.', '_' and '-'")
    name = _text(entry, "name", where)
    family = _text(entry, "family", where)
    params = _positive_number(entry, "params_b", where)
    active = _positive_number(entry, "active_params_b", where)
    if active > params:
        raise CatalogError(f"{where}: 'active_params_b' ({active}) is more than 'params_b' ({params})")
    context = _positive_int(entry, "context_length", where)
    modalities = _modalities(entry.get("modalities"), where)
    repo = _pattern(entry, "repo", _REPO_RE, where, "a Hugging Face repository id 'owner/name'")
    revision = _optional_pattern(entry, "revision", _REVISION_RE, where, "a commit hash or branch name")
    license_ = _text(entry, "license", where)
    notes = _text(entry, "notes", where) if "notes" in entry else ""
    kv_bytes = _positive_int(entry, "kv_bytes_per_token_f16", where) if "kv_bytes_per_token_f16" in entry else None
    aliases = _aliases(entry.get("aliases", []), where)
    arch = _arch(entry.get("arch", {}), where)

    quants = _quants(entry.get("quants"), where, repo, revision)
    mmproj: FileRef | None = None
    if "mmproj" in entry:
        mm = entry["mmproj"]
        if not isinstance(mm, Mapping):
            raise CatalogError(f"{where}: 'mmproj' must be a table ([models.mmproj]), not {_kind(mm)}")
        _no_unknown(mm, _FILE_KEYS, f"{where}: mmproj")
        mmproj = _file(mm, f"{where}: mmproj", repo, revision)
    needs_projector = sorted(modalities - {"text"})
    if needs_projector and mmproj is None:
        raise CatalogError(f"{where}: lists {', '.join(needs_projector)} but has no [models.mmproj] projector")

    return CatalogModel(
        id=model_id,
        name=name,
        family=family,
        params_b=float(params),
        active_params_b=float(active),
        context_length=context,
        modalities=modalities,
        repo=repo,
        license=license_,
        quants=quants,
        mmproj=mmproj,
        kv_bytes_per_token_f16=kv_bytes,
        arch=arch,
        notes=notes,
        aliases=aliases,
        revision=revision,
    )


def _quants(value: Any, where: str, repo: str, revision: str | None) -> tuple[Quant, ...]:
    if value is None or (_is_list(value) and not value):
        raise CatalogError(f"{where}: has no quantizations ([[models.quants]])")
    if not _is_list(value):
        raise CatalogError(f"{where}: 'quants' must be an array of tables ([[models.quants]]), not {_kind(value)}")
    quants: list[Quant] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(value):
        at = f"{where}: quants[{index}]"
        if not isinstance(entry, Mapping):
            raise CatalogError(f"{at}: must be a table, not {_kind(entry)}")
        if isinstance(entry.get("name"), str):
            at = f"{where}: quant {entry['name']!r}"
        _no_unknown(entry, _QUANT_KEYS, at)
        if "name" not in entry:
            raise CatalogError(f"{at}: missing 'name'")
        name = _pattern(entry, "name", _QUANT_RE, at, "letters, digits and '_' (e.g. 'Q4_K_M')")
        if name.upper() in seen:
            raise CatalogError(f"{where}: quantization {name!r} is listed twice")
        seen[name.upper()] = name
        recommended = _bool(entry, "recommended", at) if "recommended" in entry else False
        quants.append(Quant(name=name, file=_file(entry, at, repo, revision), recommended=recommended))
    recommended_names = [q.name for q in quants if q.recommended]
    if len(recommended_names) > 1:
        raise CatalogError(f"{where}: more than one recommended quantization ({', '.join(recommended_names)})")
    return tuple(quants)


def _file(entry: Mapping[str, Any], where: str, repo: str, revision: str | None) -> FileRef:
    if "file" not in entry:
        raise CatalogError(f"{where}: missing 'file'")
    name = _text(entry, "file", where)
    if not name.lower().endswith(".gguf"):
        raise CatalogError(f"{where}: 'file' must name a .gguf file, not {name!r}")
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise CatalogError(f"{where}: 'file' must be a plain path inside the repository, not {name!r}")
    size: int | None = None
    if "size" in entry:
        size = _positive_int(entry, "size", where)
    size_approx = _bool(entry, "size_approx", where) if "size_approx" in entry else False
    if size_approx and size is None:
        raise CatalogError(f"{where}: 'size_approx' is set but there is no 'size'")
    sha256: str | None = None
    if "sha256" in entry:
        sha256 = entry["sha256"]
        if not isinstance(sha256, str) or not _SHA256_RE.fullmatch(sha256):
            raise CatalogError(f"{where}: 'sha256' must be 64 lowercase hex digits, not {_show(sha256)}")
    file_repo = repo
    if "repo" in entry:
        file_repo = _pattern(entry, "repo", _REPO_RE, where, "a Hugging Face repository id 'owner/name'")
    file_revision = _optional_pattern(entry, "revision", _REVISION_RE, where, "a commit hash or branch name")
    if file_revision is None and "repo" not in entry:
        file_revision = revision  # the model's commit applies to files in the model's repository
    return FileRef(name=name, size=size, sha256=sha256, size_approx=size_approx, repo=file_repo, revision=file_revision)


def _modalities(value: Any, where: str) -> frozenset[str]:
    if not _is_list(value) or not value:
        raise CatalogError(f"{where}: 'modalities' must be a non-empty list of strings, not {_show(value)}")
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise CatalogError(f"{where}: 'modalities' must hold strings, not {_kind(item)}")
        if item not in MODALITIES:
            allowed = ", ".join(sorted(MODALITIES))
            raise CatalogError(f"{where}: unknown modality {item!r} (allowed: {allowed})")
        if item in items:
            raise CatalogError(f"{where}: modality {item!r} is listed twice")
        items.append(item)
    if "text" not in items:
        raise CatalogError(f"{where}: 'modalities' must include 'text'")
    return frozenset(items)


def _aliases(value: Any, where: str) -> tuple[str, ...]:
    if not _is_list(value):
        raise CatalogError(f"{where}: 'aliases' must be a list of strings, not {_kind(value)}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _ALIAS_RE.fullmatch(item):
            raise CatalogError(f"{where}: alias {_show(item)} must be lowercase letters, digits, '.', '_' and '-'")
        if item in out:
            raise CatalogError(f"{where}: alias {item!r} is listed twice")
        out.append(item)
    return tuple(out)


def _arch(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: 'arch' must be a table ([models.arch]), not {_kind(value)}")
    out: dict[str, int] = {}
    for key, item in value.items():
        if not _ARCH_KEY_RE.fullmatch(key):
            raise CatalogError(f"{where}: arch key {key!r} is not a metadata name (quote dotted keys)")
        if not _is_int(item) or item < 0:
            raise CatalogError(f"{where}: arch.{key} must be a non-negative integer, not {_show(item)}")
        out[key] = item
    return out


# -- small checks ---------------------------------------------------------------------------


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if _is_list(value):
        return "a list"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if isinstance(value, bool | int | float):
        return f"{_kind(value)} ({value!r})"
    return _kind(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _no_unknown(entry: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in entry if k not in allowed)
    if unknown:
        raise CatalogError(f"{where}: unknown key {', '.join(repr(k) for k in unknown)}")


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise CatalogError(f"{where}: {key!r} must be a string, not {_kind(value)}")
    if not value.strip():
        raise CatalogError(f"{where}: {key!r} is empty")
    return value


def _pattern(entry: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str, expected: str) -> str:
    value = _text(entry, key, where)
    if not pattern.fullmatch(value):
        raise CatalogError(f"{where}: {key!r} must be {expected}, not {value!r}")
    return value


def _optional_pattern(
    entry: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str, expected: str
) -> str | None:
    return _pattern(entry, key, pattern, where, expected) if key in entry else None


def _positive_int(entry: Mapping[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if not _is_int(value):
        raise CatalogError(f"{where}: {key!r} must be an integer, not {_show(value)}")
    if value <= 0:
        raise CatalogError(f"{where}: {key!r} must be positive, not {value}")
    return value


def _positive_number(entry: Mapping[str, Any], key: str, where: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogError(f"{where}: {key!r} must be a number, not {_show(value)}")
    if not value > 0 or value != value or value == float("inf"):
        raise CatalogError(f"{where}: {key!r} must be a positive number, not {value}")
    return float(value)


def _bool(entry: Mapping[str, Any], key: str, where: str) -> bool:
    value = entry.get(key)
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: {key!r} must be true or false, not {_show(value)}")
    return value
