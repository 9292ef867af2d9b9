"""The file-reading tool: the model asks to read a file or list a folder, and the *user* picks which one.

The model never names a path: it says why it wants one (``reason``) and whether it wants a file or a folder
(``kind``); the client asks the user to pick (the window with a file dialog, at call time), and picking is the
consent. A file is read like a document attached by hand (text, Markdown, code, PDF, Word, PowerPoint, Excel…,
only a regular file, size-capped); a folder is listed one level deep, names and sizes, capped.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.media.errors import MediaError
from app.tools.mcp.results import cap_text
from app.tools.model import ToolResult, ToolSpec
from app.units import format_size

#: The longest result the tool gives back (UTF-8 bytes), like an MCP result.
MAX_RESULT_BYTES = 1_000_000
#: The most entries a folder listing shows.
MAX_ENTRIES = 1_000

SPEC = ToolSpec(
    name="read_user_file",
    description=(
        "Asks the user to pick a file to read (text, code, PDF, Word, PowerPoint, Excel) or a folder to list. "
        "The user chooses which one, or declines. Say in reason what you need it for."
    ),
    parameters={
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": ["file", "folder"], "description": "A file to read or a folder to list"},
            "reason": {"type": "string", "maxLength": 500, "description": "Why, in a few words, shown to the user"},
        },
        "required": ["kind", "reason"],
    },
    read_only=True,
)


def read_picked(arguments: dict[str, Any], pick: Callable[[str, str], Path | None]) -> ToolResult:
    """Ask ``pick`` for a file or folder and read it; a declined pick tells the model the user said no."""
    kind = str(arguments.get("kind", "file"))
    reason = str(arguments.get("reason", ""))
    chosen = pick(kind, reason)
    if chosen is None:
        return ToolResult.error(f"the user did not pick a {kind}")
    return list_folder(chosen) if kind == "folder" else read_file(chosen)


def read_file(path: Path) -> ToolResult:
    """The file's text as a document reader gives it, headed by its name."""
    from app.media.documents.reader import read_document

    try:
        document = read_document(path)
    except MediaError as error:
        return ToolResult.error(str(error))
    text = document.text
    if document.pictures and not text.strip():
        return ToolResult.error(f"{path.name} has no text to read (its pages are pictures)")
    return ToolResult(cap_text(f"{path.name} ({document.kind}):\n{text}", MAX_RESULT_BYTES))


def list_folder(path: Path) -> ToolResult:
    """One line per entry (folders end with ``/``), sorted, capped at ``MAX_ENTRIES``."""
    try:
        if not path.is_dir():
            return ToolResult.error(f"{path.name} is not a folder")
        with os.scandir(path) as entries:
            found = sorted(entries, key=lambda entry: entry.name.lower())
    except OSError as error:
        return ToolResult.error(f"{path.name} could not be listed: {error.strerror or error}")
    lines = [f"Folder {path}: {len(found):,} entries"]
    for entry in found[:MAX_ENTRIES]:
        lines.append(_entry_line(entry))
    if len(found) > MAX_ENTRIES:
        lines.append(f"… and {len(found) - MAX_ENTRIES:,} more")
    return ToolResult(cap_text("\n".join(lines), MAX_RESULT_BYTES))


def _entry_line(entry: os.DirEntry[str]) -> str:
    name = entry.name.replace("\n", " ").replace("\r", " ")
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return f"{name} (unreadable)"
    if stat.S_ISDIR(info.st_mode):
        return f"{name}/"
    if stat.S_ISLNK(info.st_mode):
        return f"{name} (link)"
    return f"{name}  {format_size(info.st_size)}"
