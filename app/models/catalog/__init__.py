"""The model catalog: the Gemma 4 models the app offers to download (``models.toml``).

The catalog names, for each model, its facts (parameters, context, modalities,
licence, architecture), the quantizations on offer with their GGUF files
(name, size, SHA-256, the Hugging Face repository and commit they live at) and
the multimodal projector.

One module per job: ``data`` (the types and their lookups), ``load`` (finding
and reading the file: ``load_catalog``), ``validate`` (strict checks of parsed
data; ``CatalogError`` with a one-line message naming the model, the key and
the problem) and ``fields`` (the checks of a single key).
"""

from __future__ import annotations

from app.models.catalog.data import (
    DEFAULT_ENDPOINT,
    DEFAULT_REVISION,
    MODALITIES,
    SCHEMA_VERSION,
    Catalog,
    CatalogError,
    CatalogKeyError,
    CatalogModel,
    FileRef,
    Quant,
)
from app.models.catalog.load import CATALOG_FILENAME, default_catalog_path, load_catalog
from app.models.catalog.validate import validate

__all__ = [
    "CATALOG_FILENAME",
    "DEFAULT_ENDPOINT",
    "DEFAULT_REVISION",
    "MODALITIES",
    "SCHEMA_VERSION",
    "Catalog",
    "CatalogError",
    "CatalogKeyError",
    "CatalogModel",
    "FileRef",
    "Quant",
    "default_catalog_path",
    "load_catalog",
    "validate",
]
