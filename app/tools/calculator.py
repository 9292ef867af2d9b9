"""The calculator tool: arithmetic the model asks for, worked out by walking the expression's syntax tree.

The expression is untrusted model output. It is parsed with :func:`ast.parse` and only a whitelist is walked:
numbers, ``+ - * / // % **``, unary signs, parentheses, comparisons, and the functions and constants in
:data:`FUNCTIONS` and :data:`CONSTANTS`. Nothing is ever handed to ``eval``, ``exec`` or ``compile``. Every
costly step is bounded *before* it runs (the expression's length, its node count and depth, the size of
integer results from ``**``, ``*``, ``factorial`` and ``round``), so a hostile expression gets a one-line
error instead of a frozen process.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from app.tools.model import ToolError, ToolResult, ToolSpec

MAX_LENGTH = 1000
MAX_NODES = 500
#: Deepest syntax tree walked (a sum of 200 numbers is 200 deep: the evaluator recurses once per level).
MAX_DEPTH = 200
MAX_PARENTHESES = 50
#: Integer results past this many bits (about 1,200 digits) are refused before they are computed.
MAX_BITS = 4096
#: ``round(x, n)``: ``n`` beyond this is refused (a huge negative ``n`` makes Python build ``10**-n``).
MAX_ROUND_DIGITS = 400
SIGNIFICANT_DIGITS = 15

Number = int | float
Value = int | float | bool

SPEC = ToolSpec(
    name="calculator",
    description=(
        "Evaluates an arithmetic expression exactly and returns the result. Supports numbers, + - * / // % **, "
        "parentheses, comparisons, the constants pi, e, tau, and the functions abs, round, min, max, floor, "
        "ceil, trunc, sqrt, cbrt, exp, log (natural, or log(x, base)), log10, log2, sin, cos, tan, asin, acos, "
        "atan, atan2, sinh, cosh, tanh, hypot, degrees, radians, factorial, gcd. Angles are in radians."
    ),
    parameters={
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "description": "The expression, for example: (2 + 3) * sqrt(16) / 7",
            }
        },
        "required": ["expression"],
    },
    read_only=True,
)

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
#: name → (the function, fewest arguments, most arguments; ``None``: any number).
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "abs": (abs, 1, 1),
    "round": (round, 1, 2),
    "min": (min, 1, None),
    "max": (max, 1, None),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "trunc": (math.trunc, 1, 1),
    "sqrt": (math.sqrt, 1, 1),
    "cbrt": (math.cbrt, 1, 1),
    "exp": (math.exp, 1, 1),
    "log": (math.log, 1, 2),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "atan2": (math.atan2, 2, 2),
    "sinh": (math.sinh, 1, 1),
    "cosh": (math.cosh, 1, 1),
    "tanh": (math.tanh, 1, 1),
    "hypot": (math.hypot, 1, None),
    "degrees": (math.degrees, 1, 1),
    "radians": (math.radians, 1, 1),
    "factorial": (math.factorial, 1, 1),
    "gcd": (math.gcd, 1, None),
}
_OPERATOR_SIGNS: dict[type[ast.AST], str] = {
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}
#: Typographic signs people and models paste, read as their ASCII operators.
_SIGNS = str.maketrans({"×": "*", "÷": "/", "−": "-", "–": "-"})
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.NamedExpr: "assignment",
    ast.JoinedStr: "text",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
}


def calculate(expression: str) -> str:
    """The value of ``expression`` as text (``"0.3"`` for ``0.1 + 0.2``), or :class:`ToolError`."""
    tree = _parse(expression)
    value = _evaluate(tree.body)
    return format_value(value)


def run(arguments: dict[str, Any]) -> ToolResult:
    """The tool's entry point: ``{"expression": "…"}`` → the result, or the error as an error result."""
    try:
        return ToolResult(text=calculate(arguments["expression"]))
    except ToolError as error:
        return ToolResult.error(error)


def format_value(value: Value) -> str:
    """Numbers as people expect them: floats rounded to 15 significant digits, so ``0.1 + 0.2`` is ``0.3``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(float(f"{value:.{SIGNIFICANT_DIGITS}g}"))


def _fail(message: str) -> ToolError:
    return ToolError(f"calculator: {message}")


def _parse(expression: str) -> ast.Expression:
    if not isinstance(expression, str):
        raise _fail("the expression must be a string")
    if len(expression) > MAX_LENGTH:
        raise _fail(f"the expression is longer than {MAX_LENGTH:,} characters ({len(expression):,})")
    text = expression.translate(_SIGNS).strip()
    if not text:
        raise _fail("the expression is empty")
    if "^" in text:
        raise _fail("use ** for powers (^ is not supported)")
    _check_parentheses(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        where = f", at character {error.offset}" if error.offset else ""
        raise _fail(f"not a valid expression ({error.msg}{where})") from None
    except (RecursionError, MemoryError, ValueError):
        raise _fail("the expression is too complex") from None
    _check_shape(tree)
    return tree


def _check_parentheses(text: str) -> None:
    depth = 0
    for char in text:
        depth += (char == "(") - (char == ")")
        if depth > MAX_PARENTHESES:
            raise _fail(f"parentheses are nested more than {MAX_PARENTHESES} deep")
        if depth < 0:
            raise _fail("a ')' has no matching '('")
    if depth:
        raise _fail("a '(' is not closed")


def _check_shape(tree: ast.Expression) -> None:
    """Node count (operators not counted) and depth, walked without recursion, before anything is evaluated."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.operator | ast.unaryop | ast.cmpop | ast.expr_context):
            continue
        count += 1
        if count > MAX_NODES:
            raise _fail(f"the expression has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise _fail(f"the expression is nested more than {MAX_DEPTH} levels deep")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _evaluate(node: ast.AST) -> Value:
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise _fail(f"{node.id} is a function: call it as {node.id}(…)")
        raise _fail(f"unknown name {node.id!r} (constants: {', '.join(CONSTANTS)})")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        operand = _number(_evaluate(node.operand), "a sign")
        return _checked(-operand if isinstance(node.op, ast.USub) else operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _binary(node.op, _evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.Compare):
        return _compare(node)
    if isinstance(node, ast.Call):
        return _call(node)
    raise _fail(f"{_describe(node)} is not allowed (numbers, operators, comparisons and the listed functions only)")


def _describe(node: ast.AST) -> str:
    for kind, words in _FORBIDDEN.items():
        if isinstance(node, kind):
            return words
    if isinstance(node, ast.UnaryOp | ast.BinOp):
        return f"the operator {_OPERATOR_SIGNS.get(type(node.op), type(node.op).__name__)}"
    return type(node).__name__.lower()


def _constant(value: object) -> Value:
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "text" if isinstance(value, str | bytes) else type(value).__name__
        raise _fail(f"{kind} is not allowed (numbers only)")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail("a number is too large")
    return value


def _number(value: Value, where: str) -> Number:
    if isinstance(value, bool):
        raise _fail(f"a comparison's true/false cannot be used as a number (in {where})")
    return value


def _too_big(left: int, right: int) -> bool:
    """Whether ``left * right`` would need more than :data:`MAX_BITS` bits."""
    return left.bit_length() + right.bit_length() > MAX_BITS + 1


def _binary(op: ast.operator, left_value: Value, right_value: Value) -> Value:
    symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}.get(
        type(op), "**"
    )
    left, right = _number(left_value, symbol), _number(right_value, symbol)
    if isinstance(op, ast.Pow):
        _check_power(left, right)
    elif isinstance(op, ast.Mult) and isinstance(left, int) and isinstance(right, int) and _too_big(left, right):
        raise _fail(f"the result is too large (over {MAX_BITS:,} bits)")
    try:
        result = _BINARY[type(op)](left, right)
    except ZeroDivisionError:
        raise _fail("division by zero") from None
    except OverflowError:
        raise _fail("the result is too large") from None
    if isinstance(result, complex):
        raise _fail("a negative number to a fractional power is not a real number")
    return _checked(result)


def _check_power(base: Number, exponent: Number) -> None:
    if base == 0 and exponent < 0:
        raise _fail("division by zero (0 to a negative power)")
    if abs(base) <= 1 or exponent <= 0:
        return
    try:
        bits = exponent * math.log2(abs(base))
    except OverflowError:  # an exponent too large for a float
        bits = math.inf
    if isinstance(base, int) and isinstance(exponent, int):
        if bits > MAX_BITS:
            raise _fail(f"the result is too large (over {MAX_BITS:,} bits)")
    elif bits > 1024:
        raise _fail("the result is too large")


def _checked(value: Any) -> Value:
    if isinstance(value, float) and math.isnan(value):
        raise _fail("the result is not a number")
    if isinstance(value, float) and math.isinf(value):
        raise _fail("the result is too large")
    return value  # type: ignore[no-any-return]


def _compare(node: ast.Compare) -> bool:
    left = _number(_evaluate(node.left), "a comparison")
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        if type(op) not in _COMPARE:
            raise _fail(f"the comparison {type(op).__name__} is not allowed")
        right = _number(_evaluate(right_node), "a comparison")
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True


def _call(node: ast.Call) -> Value:
    if not isinstance(node.func, ast.Name):
        raise _fail(f"{_describe(node.func)} cannot be called (only the listed functions)")
    name = node.func.id
    if name not in FUNCTIONS:
        raise _fail(f"unknown function {name!r} (functions: {', '.join(FUNCTIONS)})")
    if node.keywords:
        raise _fail(f"{name} takes no named arguments")
    function, fewest, most = FUNCTIONS[name]
    given = len(node.args)
    if given < fewest or (most is not None and given > most):
        wanted = f"{fewest}" if fewest == most else f"{fewest} to {most}" if most else f"at least {fewest}"
        raise _fail(f"{name} takes {wanted} argument{'' if most == 1 else 's'} ({given} given)")
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        raise _fail(f"{name} takes no *arguments")
    args = [_number(_evaluate(arg), name) for arg in node.args]
    _check_call(name, args)
    try:
        return _checked(function(*args))
    except ZeroDivisionError:
        raise _fail("division by zero") from None
    except OverflowError:
        raise _fail(f"{name}: a number is too large") from None
    except (ValueError, TypeError):
        shown = ", ".join(format_value(arg) for arg in args)
        raise _fail(f"{name}({shown}) is not defined (outside the function's domain)") from None


def _check_call(name: str, args: list[Number]) -> None:
    """Refuse calls whose cost or result would blow up, before making them."""
    if name == "factorial":
        (n,) = args
        if isinstance(n, float) and n.is_integer():
            args[0] = n = int(n)
        if not isinstance(n, int) or n < 0:
            raise _fail("factorial needs a whole number that is not negative")
        if n > 10_000 or (n > 2 and math.lgamma(n + 1) / math.log(2) > MAX_BITS):
            raise _fail(f"factorial({n}) is too large (over {MAX_BITS:,} bits)")
    elif name == "round" and len(args) == 2:
        digits = args[1]
        if not isinstance(digits, int):
            raise _fail("round's second argument must be a whole number of digits")
        if abs(digits) > MAX_ROUND_DIGITS:
            raise _fail(f"round's digits must be between -{MAX_ROUND_DIGITS} and {MAX_ROUND_DIGITS}")
    elif name == "gcd" and not all(isinstance(arg, int) for arg in args):
        raise _fail("gcd needs whole numbers")
