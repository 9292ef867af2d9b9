"""Loading the catalog: where ``models.toml`` is (next to the app, or in the frozen bundle) and reading it."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from app.models.catalog.data import Catalog, CatalogError
from app.models.catalog.validate import validate

CATALOG_FILENAME = "models.toml"


def default_catalog_path() -> Path:
    """``models.toml`` next to the app: in the bundle when frozen (PyInstaller), else the repository root."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / CATALOG_FILENAME
    return Path(__file__).resolve().parents[3] / CATALOG_FILENAME  # app/models/catalog/load.py


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


def _one_line(text: str) -> str:
    return " ".join(text.split())
