"""What a server sends back is untrusted: listings and results checked and capped (the SDK's own types, filled
in the way a hostile or careless server could)."""

from __future__ import annotations

import base64
import logging

import pytest
from mcp_types import CallToolResult, ImageContent, ListToolsResult, TextContent, Tool, ToolAnnotations

from app.tools.mcp.results import SCHEMA_CAP, TOOLS_CAP, ResultLimits, cap_text, tool_result, tool_specs

LOG = logging.getLogger("gemma_desk.mcp.test")


def tool(name: str, schema: dict[str, object] | None = None, read_only: bool | None = None) -> Tool:
    annotations = ToolAnnotations(read_only_hint=read_only) if read_only is not None else None
    return Tool(
        name=name, description=f"{name} tool", input_schema=schema or {"type": "object"}, annotations=annotations
    )


def test_tools_the_model_could_not_call_or_that_would_flood_the_prompt_are_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOG.name)
    flood = {"type": "object", "description": "x" * SCHEMA_CAP}
    listed = ListToolsResult(
        tools=[tool("ok", read_only=True), tool("has space"), tool("big", flood), tool("no", read_only=False)]
    )
    specs = tool_specs("srv", listed, LOG)
    assert [(s.name, s.read_only, s.source) for s in specs] == [("ok", True, "srv"), ("no", False, "srv")]
    assert any("'has space'" in r.getMessage() for r in caplog.records)
    assert any("'big' left out: its parameter schema is 20.0 KB" in r.getMessage() for r in caplog.records)


def test_at_most_so_many_tools_from_one_server() -> None:
    listed = ListToolsResult(tools=[tool(f"t{n}") for n in range(TOOLS_CAP + 5)])
    assert len(tool_specs("srv", listed, LOG)) == TOOLS_CAP


def test_pictures_that_are_not_base64_or_not_pictures_become_notes() -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 20).decode()
    result = CallToolResult(
        content=[
            TextContent(type="text", text="before"),
            ImageContent(type="image", data="not base64!", mime_type="image/png"),
            ImageContent(type="image", data=base64.b64encode(b"<html>").decode(), mime_type="image/png"),
            ImageContent(type="image", data=png, mime_type="image/png"),
            ImageContent(type="image", data=png, mime_type="image/png"),
        ]
    )
    got = tool_result(result, ResultLimits(images=1))
    assert got.images == (base64.b64decode(png),)
    assert got.text.splitlines() == [
        "before",
        "[picture left out: its data is not valid base64]",
        "[picture left out: not a PNG, JPEG, GIF or WebP picture (image/png)]",
        "[picture left out: more than 1 in one result]",
    ]


def test_structured_content_alone_is_given_as_json() -> None:
    result = CallToolResult(content=[], structured_content={"temperature": 21.5})
    assert tool_result(result, ResultLimits()).text == '{\n  "temperature": 21.5\n}'


def test_text_is_cut_on_a_character_boundary() -> None:
    assert cap_text("ab€", 4) == "ab\n… (result cut at 4 bytes of 5 bytes)"
    assert cap_text("ab€", 5) == "ab€"


def test_a_wav_sent_as_a_picture_is_left_out_and_a_webp_is_taken() -> None:
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(24)
    webp = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24)
    result = CallToolResult(
        content=[
            ImageContent(type="image", data=base64.b64encode(wav).decode(), mime_type="image/webp"),
            ImageContent(type="image", data=base64.b64encode(webp).decode(), mime_type="image/webp"),
        ]
    )
    got = tool_result(result, ResultLimits())
    assert got.images == (webp,)
    assert got.text == "[picture left out: not a PNG, JPEG, GIF or WebP picture (image/webp)]"
