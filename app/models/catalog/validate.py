"""Validating the catalog: strict checks of parsed ``models.toml`` data, building the ``Catalog``.

Unknown keys, wrong types, bad hashes, duplicates and the like raise
``CatalogError`` with a one-line message naming the model, the key and the
problem; the first problem found is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.models.catalog.data import MODALITIES, SCHEMA_VERSION, Catalog, CatalogError, CatalogModel, FileRef, Quant
from app.models.catalog.fields import (
    bool_field,
    is_int,
    is_list,
    kind_of,
    no_unknown_keys,
    optional_pattern_field,
    pattern_field,
    positive_int_field,
    positive_number_field,
    shown,
    text_field,
)

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
_MODEL_OPTIONAL = frozenset({"aliases", "revision", "kv_bytes_per_token_f16", "arch", "notes", "mmproj", "assistant"})
_FILE_KEYS = frozenset({"file", "size", "sha256", "size_approx", "repo", "revision"})
_QUANT_KEYS = _FILE_KEYS | {"name", "recommended"}


def validate(data: Mapping[str, Any]) -> Catalog:
    """Check parsed catalog data strictly and build the ``Catalog``; ``CatalogError`` on the first problem."""
    if not isinstance(data, Mapping):
        raise CatalogError(f"the catalog must be a table, not {kind_of(data)}")
    no_unknown_keys(data, _TOP_KEYS, "the catalog")
    if "schema" not in data:
        raise CatalogError("the catalog has no 'schema' key (expected schema = 1)")
    schema = data["schema"]
    if not is_int(schema):
        raise CatalogError(f"'schema' must be an integer, not {kind_of(schema)}")
    if schema != SCHEMA_VERSION:
        raise CatalogError(f"schema {schema} is not supported (this app reads schema {SCHEMA_VERSION})")
    entries = data.get("models")
    if entries is None:
        raise CatalogError("the catalog has no [[models]]")
    if not is_list(entries) or not entries:
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
        raise CatalogError(f"{where}: must be a table ([[models]]), not {kind_of(entry)}")
    no_unknown_keys(entry, _MODEL_REQUIRED | _MODEL_OPTIONAL, where)
    missing = sorted(_MODEL_REQUIRED - entry.keys())
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(repr(k) for k in missing)}")

    model_id = pattern_field(entry, "id", _ID_RE, where, "lowercase letters, digits, '.', '_' and '-'")
    name = text_field(entry, "name", where)
    family = text_field(entry, "family", where)
    params = positive_number_field(entry, "params_b", where)
    active = positive_number_field(entry, "active_params_b", where)
    if active > params:
        raise CatalogError(f"{where}: 'active_params_b' ({active}) is more than 'params_b' ({params})")
    context = positive_int_field(entry, "context_length", where)
    modalities = _modalities(entry.get("modalities"), where)
    repo = pattern_field(entry, "repo", _REPO_RE, where, "a Hugging Face repository id 'owner/name'")
    revision = optional_pattern_field(entry, "revision", _REVISION_RE, where, "a commit hash or branch name")
    license_ = text_field(entry, "license", where)
    notes = text_field(entry, "notes", where) if "notes" in entry else ""
    kv_bytes = positive_int_field(entry, "kv_bytes_per_token_f16", where) if "kv_bytes_per_token_f16" in entry else None
    aliases = _aliases(entry.get("aliases", []), where)
    arch = _arch(entry.get("arch", {}), where)

    quants = _quants(entry.get("quants"), where, repo, revision)
    mmproj = _companion(entry, "mmproj", where, repo, revision)
    assistant = _companion(entry, "assistant", where, repo, revision)
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
        assistant=assistant,
        kv_bytes_per_token_f16=kv_bytes,
        arch=arch,
        notes=notes,
        aliases=aliases,
        revision=revision,
    )


def _companion(entry: Mapping[str, Any], key: str, where: str, repo: str, revision: str | None) -> FileRef | None:
    """An optional file that goes with every quantization ([models.mmproj], [models.assistant])."""
    if key not in entry:
        return None
    table = entry[key]
    if not isinstance(table, Mapping):
        raise CatalogError(f"{where}: {key!r} must be a table ([models.{key}]), not {kind_of(table)}")
    no_unknown_keys(table, _FILE_KEYS, f"{where}: {key}")
    return _file(table, f"{where}: {key}", repo, revision)


def _quants(value: Any, where: str, repo: str, revision: str | None) -> tuple[Quant, ...]:
    if value is None or (is_list(value) and not value):
        raise CatalogError(f"{where}: has no quantizations ([[models.quants]])")
    if not is_list(value):
        raise CatalogError(f"{where}: 'quants' must be an array of tables ([[models.quants]]), not {kind_of(value)}")
    quants: list[Quant] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(value):
        at = f"{where}: quants[{index}]"
        if not isinstance(entry, Mapping):
            raise CatalogError(f"{at}: must be a table, not {kind_of(entry)}")
        if isinstance(entry.get("name"), str):
            at = f"{where}: quant {entry['name']!r}"
        no_unknown_keys(entry, _QUANT_KEYS, at)
        if "name" not in entry:
            raise CatalogError(f"{at}: missing 'name'")
        name = pattern_field(entry, "name", _QUANT_RE, at, "letters, digits and '_' (e.g. 'Q4_K_M')")
        if name.upper() in seen:
            raise CatalogError(f"{where}: quantization {name!r} is listed twice")
        seen[name.upper()] = name
        recommended = bool_field(entry, "recommended", at) if "recommended" in entry else False
        quants.append(Quant(name=name, file=_file(entry, at, repo, revision), recommended=recommended))
    recommended_names = [q.name for q in quants if q.recommended]
    if len(recommended_names) > 1:
        raise CatalogError(f"{where}: more than one recommended quantization ({', '.join(recommended_names)})")
    return tuple(quants)


def _file(entry: Mapping[str, Any], where: str, repo: str, revision: str | None) -> FileRef:
    if "file" not in entry:
        raise CatalogError(f"{where}: missing 'file'")
    name = text_field(entry, "file", where)
    if not name.lower().endswith(".gguf"):
        raise CatalogError(f"{where}: 'file' must name a .gguf file, not {name!r}")
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise CatalogError(f"{where}: 'file' must be a plain path inside the repository, not {name!r}")
    size: int | None = None
    if "size" in entry:
        size = positive_int_field(entry, "size", where)
    size_approx = bool_field(entry, "size_approx", where) if "size_approx" in entry else False
    if size_approx and size is None:
        raise CatalogError(f"{where}: 'size_approx' is set but there is no 'size'")
    sha256: str | None = None
    if "sha256" in entry:
        sha256 = entry["sha256"]
        if not isinstance(sha256, str) or not _SHA256_RE.fullmatch(sha256):
            raise CatalogError(f"{where}: 'sha256' must be 64 lowercase hex digits, not {shown(sha256)}")
    file_repo = repo
    if "repo" in entry:
        file_repo = pattern_field(entry, "repo", _REPO_RE, where, "a Hugging Face repository id 'owner/name'")
    file_revision = optional_pattern_field(entry, "revision", _REVISION_RE, where, "a commit hash or branch name")
    if file_revision is None and "repo" not in entry:
        file_revision = revision  # the model's commit applies to files in the model's repository
    return FileRef(name=name, size=size, sha256=sha256, size_approx=size_approx, repo=file_repo, revision=file_revision)


def _modalities(value: Any, where: str) -> frozenset[str]:
    if not is_list(value) or not value:
        raise CatalogError(f"{where}: 'modalities' must be a non-empty list of strings, not {shown(value)}")
    items: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise CatalogError(f"{where}: 'modalities' must hold strings, not {kind_of(item)}")
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
    if not is_list(value):
        raise CatalogError(f"{where}: 'aliases' must be a list of strings, not {kind_of(value)}")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _ALIAS_RE.fullmatch(item):
            raise CatalogError(f"{where}: alias {shown(item)} must be lowercase letters, digits, '.', '_' and '-'")
        if item in out:
            raise CatalogError(f"{where}: alias {item!r} is listed twice")
        out.append(item)
    return tuple(out)


def _arch(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise CatalogError(f"{where}: 'arch' must be a table ([models.arch]), not {kind_of(value)}")
    out: dict[str, int] = {}
    for key, item in value.items():
        if not _ARCH_KEY_RE.fullmatch(key):
            raise CatalogError(f"{where}: arch key {key!r} is not a metadata name (quote dotted keys)")
        if not is_int(item) or item < 0:
            raise CatalogError(f"{where}: arch.{key} must be a non-negative integer, not {shown(item)}")
        out[key] = item
    return out
