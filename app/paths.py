"""Where Gemma Desk keeps its files: per-user folders from platformdirs (data, settings, logs).

``GEMMA_DESK_HOME`` overrides every folder (portable installs, tests).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "Gemma Desk"
ENV_HOME = "GEMMA_DESK_HOME"


def data_dir() -> Path:
    """Chats and attachments (Linux: ~/.local/share/Gemma Desk)."""
    override = os.environ.get(ENV_HOME)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The settings file (Linux: ~/.config/Gemma Desk)."""
    override = os.environ.get(ENV_HOME)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def models_dir(configured: str = "") -> Path:
    """Downloaded models: the folder chosen in the settings, else ``models`` in the data folder."""
    if configured.strip():
        return Path(configured).expanduser()
    return data_dir() / "models"


def log_dir() -> Path:
    override = os.environ.get(ENV_HOME)
    if override:
        return Path(override).expanduser() / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def resource_path(name: str) -> Path:
    """A file under ``resources/``: in the bundle when frozen (PyInstaller), else in the repository."""
    import sys

    bundle = getattr(sys, "_MEIPASS", None)
    root = Path(bundle) if getattr(sys, "frozen", False) and bundle else Path(__file__).resolve().parents[1]
    return root / "resources" / name


def keep_bad_copy(path: Path) -> str:
    """Copy a damaged file beside itself (``NAME.bad``) before it is replaced; the sentence that says so, or
    one saying why it could not be kept."""
    bad = path.with_name(path.name + ".bad")
    try:
        shutil.copyfile(path, bad)
    except OSError as error:
        return f"(A copy of the old file could not be kept: {error.strerror or error}.)"
    return f"The old file was kept as {bad.name}."


def write_json_atomically(path: Path, data: object) -> None:
    """Write ``data`` as indented JSON through a temporary file and ``os.replace``: a crash leaves the old file or
    the new one, never half of one. Raises ``OSError``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2, ensure_ascii=False)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
