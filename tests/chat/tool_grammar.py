"""Grammars that make the tiny random-weight model write exactly what a test needs: Gemma 4 tool calls, or an
answer. The control tokens are matched by id (GBNF's ``<[id]>``), as the real model would emit them."""

from __future__ import annotations

from tests.fixtures.tiny_gemma4 import special_token_id


def _token(text: str) -> str:
    return f"<[{special_token_id(text)}]>"


def calls_grammar(*calls: str, before: str = "") -> str:
    """The model writes ``before`` and then each ``NAME{…}`` call; ``"`` in a call stands for Gemma's ``<|"|>``."""
    quote = _token('<|"|>')
    bodies = []
    for call in calls:
        pieces = call.split('"')
        body = " ".join(
            f"{_literal(p)}" if i % 2 == 0 else f"{quote} {_literal(p)} {quote}" for i, p in enumerate(pieces)
        )
        bodies.append(f'{_token("<|tool_call>")} "call:" {body} {_token("<tool_call|>")}')
    prefix = f"{_literal(before)} " if before else ""
    return "root ::= " + prefix + " ".join(bodies) + "\n"


def answer_grammar(text: str) -> str:
    """The model answers exactly ``text``."""
    return f"root ::= {_literal(text)}\n"


def _literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"' if text else '""'
