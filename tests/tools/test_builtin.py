"""The built-in tools: all listed, none enabled until the user says so, and run with their arguments checked so
that bad input comes back as an error result the model can be told, never an exception."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.tools import BUILTINS, ToolResult, builtin_specs
from app.tools.builtin import find, run

REPO = Path(__file__).resolve().parents[2]


def test_the_built_ins_are_listed_and_each_is_off_until_enabled() -> None:
    assert [spec.name for spec in builtin_specs()] == ["current_time", "calculator"]
    assert all(not tool.enabled_by_default for tool in BUILTINS)
    assert all(spec.source == "builtin" and spec.read_only for spec in builtin_specs())
    assert find("calculator") is BUILTINS[1]
    assert find("read_file") is None, "reading a file needs a dialog at call time: the window provides it"


def test_every_declaration_has_the_shape_the_chat_template_takes() -> None:
    for spec in builtin_specs():
        declaration = spec.declaration()
        assert set(declaration) == {"type", "function"} and declaration["type"] == "function"
        function = declaration["function"]
        assert set(function) == {"name", "description", "parameters"}
        assert function["name"] == spec.name and len(function["description"]) > 20
        assert function["parameters"]["type"] == "object"
        assert all("type" in p and "description" in p for p in function["parameters"]["properties"].values())


def test_run_checks_the_arguments_then_runs_the_tool() -> None:
    assert run("calculator", {"expression": "2 ** 8"}) == ToolResult("256")
    assert "Time in Asia/Tokyo: " in run("current_time", {"timezone": "Asia/Tokyo"}).text
    assert run("current_time", {}).text.startswith("Local time: ")


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("calculator", {"expression": 42}, "calculator: 'expression' must be a string"),
        ("calculator", {}, "calculator: missing required argument 'expression'"),
        ("calculator", {"expression": "1", "mode": "x"}, "calculator: unexpected argument 'mode' (known: expression)"),
        ("calculator", "1 + 1", "calculator: the arguments must be an object of named values"),
        ("calculator", {"expression": "9**9**9"}, "calculator: the result is too large (over 4,096 bits)"),
        ("current_time", {"timezone": 5}, "current_time: 'timezone' must be a string"),
        ("current_time", {"timezone": "Nowhere/Land"}, "current_time: unknown time zone 'Nowhere/Land'"),
        ("rm_rf", {}, "'rm_rf' is not a built-in tool (built-ins: current_time, calculator)"),
    ],
)
def test_bad_calls_come_back_as_error_results(name: str, arguments: object, message: str) -> None:
    result = run(name, arguments)
    assert result.is_error
    assert result.text.startswith(message)
    assert "\n" not in result.text


def test_the_tools_package_loads_no_qt_and_no_llama_cpp() -> None:
    code = "import sys, app.tools.builtin\nprint(sorted(k for k in sys.modules if 'PySide' in k or 'llama' in k))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
