"""Tools the model may call: the shared interface (declarations, results, argument checks) and the built-ins.

Qt-free, like the rest of the core: the window, the command line and a server all use it.
"""

from __future__ import annotations

from app.tools.builtin import BUILTINS, BuiltinTool, builtin_specs
from app.tools.model import ToolError, ToolResult, ToolSpec

__all__ = ["BUILTINS", "BuiltinTool", "ToolError", "ToolResult", "ToolSpec", "builtin_specs"]
