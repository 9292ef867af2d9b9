"""What an MCP server sends back, checked and capped: tool listings into ``ToolSpec``s, call results into
``ToolResult``s.

A server is untrusted: a tool whose name the model could not call is left out (and logged), text past the cap
is cut with a note saying so, and pictures are decoded from base64, checked to be pictures and capped too.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass

from mcp_types import (
    AudioContent,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ListToolsResult,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from app.tools.model import ToolError, ToolResult, ToolSpec
from app.units import format_size

#: The first bytes of each picture format the model's vision input takes.
_PICTURE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
#: A tool description longer than this is cut (it goes into every prompt).
_DESCRIPTION_CAP = 2000
#: A tool whose parameter schema is larger than this (as JSON) is left out: it would crowd the prompt.
SCHEMA_CAP = 20_000
#: At most this many tools from one server are offered.
TOOLS_CAP = 128


@dataclass(frozen=True)
class ResultLimits:
    """How much of one result is kept: text (UTF-8 bytes), each picture, and how many pictures."""

    text_bytes: int = 1_000_000
    image_bytes: int = 10_000_000
    images: int = 8


def tool_specs(server: str, listed: ListToolsResult, log: logging.Logger) -> list[ToolSpec]:
    """The listed tools the model can call, each with ``source`` = the server's name."""
    specs: list[ToolSpec] = []
    if len(listed.tools) > TOOLS_CAP:
        log.warning("the server lists %d tools; the first %d are offered", len(listed.tools), TOOLS_CAP)
    for tool in listed.tools[:TOOLS_CAP]:
        size = len(json.dumps(tool.input_schema, ensure_ascii=False))
        if size > SCHEMA_CAP:
            log.warning("tool %.64r left out: its parameter schema is %s", tool.name, format_size(size))
            continue
        read_only = bool(tool.annotations is not None and tool.annotations.read_only_hint is True)
        description = (tool.description or tool.title or "")[:_DESCRIPTION_CAP]
        try:
            specs.append(ToolSpec(tool.name, description, dict(tool.input_schema), read_only, server))
        except ToolError as error:
            log.warning("tool left out: %s", error)
    return specs


def tool_result(result: CallToolResult, limits: ResultLimits) -> ToolResult:
    """The call's content as text for the model and pictures for its vision input."""
    parts: list[str] = []
    images: list[bytes] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent):
            note = _take_image(block, images, limits)
            if note:
                parts.append(note)
        elif isinstance(block, AudioContent):
            parts.append("[sound left out: tool results take text and pictures]")
        elif isinstance(block, ResourceLink):
            parts.append(f"[resource {block.name}: {block.uri}]")
        elif isinstance(block, EmbeddedResource):
            contents = block.resource
            if isinstance(contents, TextResourceContents):
                parts.append(contents.text)
            else:
                parts.append(f"[binary resource {contents.uri} left out]")
    if not parts and not images and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, indent=2))
    return ToolResult(cap_text("\n".join(parts), limits.text_bytes), tuple(images), bool(result.is_error))


def cap_text(text: str, cap: int) -> str:
    """``text`` if it fits in ``cap`` UTF-8 bytes, else its start with a note saying how much there was."""
    data = text.encode("utf-8")
    if len(data) <= cap:
        return text
    kept = data[:cap].decode("utf-8", errors="ignore")
    return f"{kept}\n… (result cut at {format_size(cap)} of {format_size(len(data))})"


def _take_image(block: ImageContent, images: list[bytes], limits: ResultLimits) -> str:
    """Decode one picture into ``images``; a note for the text when it cannot be used."""
    if len(images) >= limits.images:
        return f"[picture left out: more than {limits.images} in one result]"
    if len(block.data) > limits.image_bytes * 4 // 3 + 4:
        return f"[picture left out: over the {format_size(limits.image_bytes)} limit]"
    try:
        data = base64.b64decode(block.data, validate=True)
    except (binascii.Error, ValueError):
        return "[picture left out: its data is not valid base64]"
    if len(data) > limits.image_bytes:
        return f"[picture left out: over the {format_size(limits.image_bytes)} limit]"
    if not block.mime_type.startswith("image/") or not _is_picture(data):
        return f"[picture left out: not a PNG, JPEG, GIF or WebP picture ({block.mime_type[:40]})]"
    images.append(data)
    return ""


def _is_picture(data: bytes) -> bool:
    """PNG, JPEG, GIF or WebP by their first bytes (a RIFF file is a WebP only with "WEBP" at 8: not a WAV)."""
    return data.startswith(_PICTURE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
