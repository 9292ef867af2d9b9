"""The shared tool interface: declarations in the shape chat templates take, and argument checks whose one-line
errors the model is told."""

from __future__ import annotations

from typing import Any

import pytest

from app.tools import ToolError, ToolResult, ToolSpec

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 1, "maxLength": 10},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "ratio": {"type": "number"},
        "exact": {"type": "boolean"},
        "mode": {"type": "string", "enum": ["fast", "slow"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "options": {
            "type": "object",
            "properties": {"depth": {"type": "integer"}},
            "required": ["depth"],
        },
        "extra": {"type": "object"},
        "maybe": {"type": ["string", "null"]},
    },
    "required": ["query"],
}
SEARCH = ToolSpec("search", "Searches notes.", SCHEMA, read_only=True, source="notes-server")


def test_the_declaration_is_the_openai_function_shape_the_template_takes() -> None:
    declaration = SEARCH.declaration()
    assert declaration == {
        "type": "function",
        "function": {"name": "search", "description": "Searches notes.", "parameters": SCHEMA},
    }
    declaration["function"]["parameters"]["properties"].clear()
    assert SEARCH.parameters["properties"], "the declaration is a copy: changing it leaves the spec alone"


def test_a_tool_without_parameters_declares_an_empty_object() -> None:
    spec = ToolSpec("ping", "Answers pong.")
    assert spec.declaration()["function"]["parameters"] == {"type": "object", "properties": {}}
    assert spec.check_arguments({}) == {}
    assert spec.check_arguments(None) == {}
    with pytest.raises(ToolError, match=r"^ping: unexpected argument 'x' \(known: none\)$"):
        spec.check_arguments({"x": 1})


@pytest.mark.parametrize("name", ["", "two words", "call{x}", "a" * 65, "9lives", "name:x"])
def test_names_the_call_format_cannot_carry_are_refused(name: str) -> None:
    with pytest.raises(ToolError, match=r"^tool name .* is not usable"):
        ToolSpec(name, "…")


def test_arguments_that_fit_pass_and_integral_floats_become_integers() -> None:
    arguments = {
        "query": "cats",
        "limit": 5.0,
        "ratio": 2,
        "exact": False,
        "mode": "slow",
        "tags": ["a", "b"],
        "options": {"depth": 2},
        "extra": {"anything": [1, {"goes": True}]},
        "maybe": None,
    }
    checked = SEARCH.check_arguments(arguments)
    assert checked == {**arguments, "limit": 5}
    assert type(checked["limit"]) is int


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "search: missing required argument 'query'"),
        ({"query": 3}, "search: 'query' must be a string"),
        ({"query": "a", "limit": "5"}, "search: 'limit' must be an integer"),
        ({"query": "a", "limit": 2.5}, "search: 'limit' must be an integer"),
        ({"query": "a", "limit": True}, "search: 'limit' must be an integer"),
        ({"query": "a", "ratio": "1.5"}, "search: 'ratio' must be a number"),
        ({"query": "a", "ratio": float("nan")}, "search: 'ratio' must be a number"),
        ({"query": "a", "exact": 1}, "search: 'exact' must be true or false"),
        ({"query": "a", "mode": "medium"}, "search: 'mode' must be one of 'fast', 'slow'"),
        ({"query": "a", "tags": "a,b"}, "search: 'tags' must be a list"),
        ({"query": "a", "tags": ["a", 2]}, "search: 'tags[1]' must be a string"),
        ({"query": "a", "options": []}, "search: 'options' must be an object"),
        ({"query": "a", "options": {}}, "search: missing required argument 'options.depth'"),
        ({"query": "a", "options": {"depth": "1"}}, "search: 'options.depth' must be an integer"),
        ({"query": "a", "options": {"depth": 1, "x": 0}}, "search: unexpected argument 'options.x' (known: depth)"),
        ({"query": "a", "maybe": 3}, "search: 'maybe' must be a string or null"),
        ({"query": "a", "colour": "red"}, "search: unexpected argument 'colour' (known: exact, extra, limit,"),
        ({"query": ""}, "search: 'query' must be at least 1 characters long"),
        ({"query": "a" * 11}, "search: 'query' must be at most 10 characters long"),
        ({"query": "a", "limit": 0}, "search: 'limit' must be at least 1"),
        ({"query": "a", "limit": 51}, "search: 'limit' must be at most 50"),
    ],
)
def test_arguments_that_do_not_fit_get_a_one_line_error_naming_the_argument(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolError) as raised:
        SEARCH.check_arguments(arguments)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_arguments_that_are_not_an_object_are_refused() -> None:
    with pytest.raises(ToolError, match=r"^search: the arguments must be an object of named values$"):
        SEARCH.check_arguments(["cats"])


def test_extra_keys_pass_where_the_schema_allows_them() -> None:
    open_spec = ToolSpec("open", "…", {"type": "object", "properties": {}, "additionalProperties": True})
    assert open_spec.check_arguments({"a": 1}) == {"a": 1}
    typed = ToolSpec("typed", "…", {"type": "object", "additionalProperties": {"type": "integer"}})
    assert typed.check_arguments({"a": 1}) == {"a": 1}
    with pytest.raises(ToolError, match=r"^typed: 'b' must be an integer$"):
        typed.check_arguments({"b": "x"})


def test_arguments_nested_past_the_limit_are_refused_without_a_crash() -> None:
    deep: Any = 1
    for _ in range(10_000):
        deep = [deep]
    spec = ToolSpec("open", "…", {"type": "object", "additionalProperties": True})
    with pytest.raises(ToolError, match=r"^open: 'x(\[0\])+' nest more than 32 levels deep$"):
        spec.check_arguments({"x": deep})


def test_a_malformed_schema_from_a_server_constrains_nothing_instead_of_failing() -> None:
    odd = ToolSpec("odd", "…", {"type": "object", "properties": {"a": "not a schema"}, "required": "a"}, source="mcp")
    assert odd.check_arguments({"a": {"b": 2}}) == {"a": {"b": 2}}
    with pytest.raises(ToolError, match=r"^odd: unexpected argument 'b'"):
        odd.check_arguments({"b": 1})
    weird_types = ToolSpec("weird", "…", {"properties": {"a": {"type": "complex"}}})
    assert weird_types.check_arguments({"a": [1, "x"]}) == {"a": [1, "x"]}


def test_errors_are_one_line_and_results_carry_text_images_and_failure() -> None:
    assert str(ToolError("first\nsecond   line")) == "first second line"
    assert ToolResult("4") == ToolResult(text="4", images=(), is_error=False)
    failed = ToolResult.error(ToolError("calculator: division by zero"))
    assert failed == ToolResult(text="calculator: division by zero", is_error=True)
