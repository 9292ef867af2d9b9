"""Exporting a conversation: Markdown of the active branch (pictures and documents alongside, each tool call an
answer made as a block), or JSON of the whole tree (each attachment with its page choice, each answer's tool steps
as they were stored)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from app.store.models import AttachmentRef, Conversation, Message, StoreError
from app.store.schema import os_error
from app.store.tool_markdown import tool_step_markdown

JSON_FORMAT = "gemma-desk-conversation"
JSON_VERSION = 1

_ROLE_HEADINGS = {"user": "User", "assistant": "Assistant", "system": "System"}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def safe_filename(title: str, fallback: str = "Chat", limit: int = 80) -> str:
    """A title as a file name that works on Windows, macOS and Linux (no separators, no reserved names)."""
    name = " ".join(_UNSAFE.sub(" ", title).split()).strip(" .")[:limit].rstrip(" .")
    if not name or name.split(".")[0].lower() in _RESERVED:
        return fallback if not name else f"{fallback} {name}"
    return name


def write_markdown(
    conversation: Conversation,
    branch: Sequence[Message],
    file_of: Callable[[AttachmentRef], Path],
    folder: Path,
) -> Path:
    """Write ``<title>.md`` into ``folder``; attachments are copied into ``<title>_files/`` and linked."""
    base = safe_filename(conversation.title)
    target = folder / f"{base}.md"
    files_dir = folder / f"{base}_files"
    used: set[str] = set()
    out = [f"# {conversation.title}", "", f"*Exported from Gemma Desk on {time.strftime('%Y-%m-%d %H:%M')}.*", ""]
    if conversation.system_prompt:
        out += ["> **System prompt**", ">", *(f"> {line}".rstrip() for line in conversation.system_prompt.splitlines())]
        out.append("")

    def link(ref: AttachmentRef) -> str:
        return _attachment_link(ref, file_of(ref), files_dir, used)

    try:
        for message in branch:
            out += _message_markdown(message, link)
        _write_text(target, "\n".join(out).rstrip() + "\n")
    except OSError as error:
        raise os_error(error, f"The export to {folder}") from None
    return target


def _message_markdown(message: Message, link: Callable[[AttachmentRef], str]) -> list[str]:
    """One message's lines: heading, thinking (folded), tool calls, text, attachments, how it ended."""
    heading = _ROLE_HEADINGS.get(message.role, message.role.title())
    if message.role == "assistant" and message.model:
        heading += f" · {message.model}"
    out = [f"## {heading}", ""]
    if message.thinking.strip():
        out += _thinking(message.thinking, message.thinking_seconds)
    shown: set[int] = set()  # attachments a tool call showed already
    for step in message.tools:
        out += tool_step_markdown(step, message.attachments, link, shown)
    if message.content.strip():
        out += [message.content.strip(), ""]
    for position, ref in enumerate(message.attachments):
        if position not in shown:
            out += [link(ref), ""]
    if message.status == "stopped":
        out += ["*(Stopped before the answer was finished.)*", ""]
    elif message.status == "error":
        out += [f"*(Error: {message.error or 'the answer failed'})*", ""]
    return out


def _thinking(text: str, seconds: float | None) -> list[str]:
    took = f" · {seconds:.0f} s" if isinstance(seconds, int | float) and seconds else ""
    return ["<details>", f"<summary>Thinking{took}</summary>", "", text.strip(), "", "</details>", ""]


def _attachment_link(ref: AttachmentRef, source: Path, files_dir: Path, used: set[str]) -> str:
    """Copy one attachment next to the Markdown file and return the line that shows or links it."""
    if not source.exists():
        return f"*({ref.name}: the attached file is missing.)*"
    name = safe_filename(Path(ref.name).stem, fallback=ref.kind) + (Path(ref.name).suffix.lower() or ref.ext)
    stem, suffix = os.path.splitext(name)
    number = 1
    while name.lower() in used:
        number += 1
        name = f"{stem}-{number}{suffix}"
    used.add(name.lower())
    files_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, files_dir / name)
    link = f"<{files_dir.name}/{name}>"
    label = ref.name.replace("[", "(").replace("]", ")")
    if ref.kind == "image":
        return f"![{label}]({link})"
    pages = _chosen_pages(ref.choice)
    return f"[{label}]({link})" + (f" (pages {pages})" if pages else "")


def _chosen_pages(choice: str) -> str:
    """ "1-3, 9" for a document sent in part (from its stored page choice); "" when it went whole."""
    data = _choice(choice)
    numbers = sorted({n for n in data.get("pages", ()) if isinstance(n, int) and not isinstance(n, bool)})
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _choice(choice: str) -> dict[str, Any]:
    """A stored page choice as data ({} for none, or one that cannot be read)."""
    try:
        data = json.loads(choice or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def to_json(conversation: Conversation, messages: Sequence[Message], active: Sequence[int]) -> dict[str, Any]:
    """Every message of every branch (with ``parent_id``), attachment metadata and statistics."""
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "exported_at": time.time(),
        "conversation": {
            "id": conversation.id,
            "title": conversation.title,
            "created_at": conversation.created_at,
            "updated_at": conversation.updated_at,
            "system_prompt": conversation.system_prompt,
            "thinking": conversation.thinking,
            "settings": conversation.settings,
            "leaf_id": conversation.leaf_id,
        },
        "active_path": list(active),
        "messages": [
            {
                "id": m.id,
                "parent_id": m.parent_id,
                "role": m.role,
                "content": m.content,
                "thinking": m.thinking,
                "thinking_seconds": m.thinking_seconds,
                "status": m.status,
                "error": m.error,
                "stats": m.stats,
                "model": m.model,
                "created_at": m.created_at,
                "updated_at": m.updated_at,
                "tools": [dict(step) for step in m.tools],
                "attachments": [
                    {
                        "sha256": a.sha256,
                        "kind": a.kind,
                        "name": a.name,
                        "mime": a.mime,
                        "size": a.size,
                        "choice": _choice(a.choice),
                    }
                    for a in m.attachments
                ],
            }
            for m in messages
        ],
    }


def write_json(data: dict[str, Any], path: Path) -> Path:
    try:
        _write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    except OSError as error:
        raise os_error(error, f"The export to {path}") from None
    except (TypeError, ValueError) as error:
        raise StoreError(f"The conversation could not be written as JSON ({error}).") from None
    return path


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file and rename it, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
