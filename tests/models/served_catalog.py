"""A one-model catalog whose files the test HTTP server serves, in the layout the app's URLs use.

The app fetches ``{endpoint}/{repo}/resolve/{revision}/{file}``; with the
endpoint ``http://127.0.0.1:PORT/files`` the test server answers those paths
from ``server.files``. The model is the tiny Gemma 4 (and its projector), so
a downloaded file really loads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from tests.models.http_fixture import FileServer

REPO_ID = "test-org/tiny-gemma-4-GGUF"
MODEL_FILE = "tiny-gemma-4-it-Q8_0.gguf"
MMPROJ_FILE = "mmproj-tiny-gemma-4-it-f16.gguf"


def endpoint(server: FileServer) -> str:
    return f"http://127.0.0.1:{server.port}/files"


def serve_catalog(
    server: FileServer,
    folder: Path,
    model: bytes,
    mmproj: bytes | None = None,
    *,
    sha256: str | None = None,
    with_hash: bool = True,
) -> Path:
    """Serve ``model`` (and ``mmproj``) and write ``folder/models.toml`` naming them; returns its path.

    ``sha256`` overrides the model's published hash (a wrong one, for the damaged-download tests).
    """
    served = {f"{REPO_ID}/resolve/main/{MODEL_FILE}": model}
    if mmproj is not None:
        served[f"{REPO_ID}/resolve/main/{MMPROJ_FILE}"] = mmproj
    server.files.update(served)
    model_hash = sha256 or hashlib.sha256(model).hexdigest()
    lines = [
        "schema = 1",
        "",
        "[[models]]",
        'id = "gemma-4-tiny-it"',
        'name = "Tiny Gemma 4"',
        'family = "gemma4"',
        "params_b = 0.001",
        "active_params_b = 0.001",
        "context_length = 8192",
        f"modalities = {_toml_list(['text', 'image', 'audio'] if mmproj is not None else ['text'])}",
        f'repo = "{REPO_ID}"',
        'license = "Apache-2.0"',
        "kv_bytes_per_token_f16 = 4096",
        "",
        "[[models.quants]]",
        'name = "Q8_0"',
        f'file = "{MODEL_FILE}"',
        f"size = {len(model)}",
    ]
    if with_hash:
        lines.append(f'sha256 = "{model_hash}"')
    if mmproj is not None:
        lines += ["", "[models.mmproj]", f'file = "{MMPROJ_FILE}"', f"size = {len(mmproj)}"]
        if with_hash:
            lines.append(f'sha256 = "{hashlib.sha256(mmproj).hexdigest()}"')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "models.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml_list(items: list[Any]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"
