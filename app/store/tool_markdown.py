"""An answer's tool steps as Markdown, for the export: each call a block with its arguments and its result.

The steps are the JSON objects the conversation core stored; the store does not own their shape, so every key may
be missing or of the wrong type, and whatever is there is shown. A step looks like ``{"thinking", "text",
"calls": [{"name", "source", "arguments", "raw", "status", "result", "images", "seconds", …}]}``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.store.models import AttachmentRef

_BACKTICKS = re.compile(r"`+")
_SOURCES = {"builtin": "Built-in"}
#: How each ending reads (the words the chat's tool block uses); an unknown one is shown as it is.
STATUS_WORDS = {
    "pending": "waiting",
    "running": "running",
    "done": "done",
    "error": "failed",
    "denied": "denied",
    "malformed": "not readable",
    "refused": "not offered",
    "limit": "over the limit",
    "stopped": "stopped",
}


def fence(text: str, info: str = "") -> list[str]:
    """``text`` in a code fence longer than any run of backticks inside it, so nothing in it can close it."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    marks = "`" * max(3, longest + 1)
    return [marks + info, text, marks]


def tool_step_markdown(
    step: Mapping[str, Any],
    attachments: Sequence[AttachmentRef],
    link: Callable[[AttachmentRef], str],
    shown: set[int],
) -> list[str]:
    """One step's lines: its thinking (folded), the text the model wrote before its calls, then each call.

    ``link`` shows an attachment of the message (copying its file); the positions shown are added to ``shown``.
    """
    out: list[str] = []
    thinking = _text(step.get("thinking")).strip()
    if thinking:
        out += ["<details>", "<summary>Thinking</summary>", "", thinking, "", "</details>", ""]
    text = _text(step.get("text")).strip()
    if text:
        out += [text, ""]
    calls = step.get("calls")
    for call in calls if isinstance(calls, list) else ():
        if isinstance(call, Mapping):
            out += _call_markdown(call, attachments, link, shown)
    return out


def _call_markdown(
    call: Mapping[str, Any],
    attachments: Sequence[AttachmentRef],
    link: Callable[[AttachmentRef], str],
    shown: set[int],
) -> list[str]:
    name = _text(call.get("name")).strip() or "a tool"
    facts = _facts(call)
    out = [f"**Tool call · {name}**" + (f" ({' · '.join(facts)})" if facts else ""), ""]
    arguments = call.get("arguments")
    raw = _text(call.get("raw"))
    if arguments not in (None, {}) or (arguments == {} and not raw.strip()):
        out += [*fence(json.dumps(arguments, ensure_ascii=False, indent=2, default=str), "json"), ""]
    elif raw.strip():  # arguments that could not be read: what the model wrote
        out += [*fence(raw), ""]
    why = _text(call.get("error")).strip()
    if why:
        out += [f"*({why})*", ""]
    result = _text(call.get("result"))
    if result.strip():
        out += ["Result:", "", *fence(result), ""]
    images = call.get("images")
    for position in images if isinstance(images, list) else ():
        if _is_int(position) and 0 <= position < len(attachments) and position not in shown:
            shown.add(position)
            out += [link(attachments[position]), ""]
    return out


def _facts(call: Mapping[str, Any]) -> list[str]:
    """Where the tool came from, how long it took, how it ended: e.g. ["Built-in", "0.01 s", "done"]."""
    facts = []
    source = _text(call.get("source")).strip()
    if source:
        facts.append(_SOURCES.get(source, source))
    seconds = call.get("seconds")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and 0 <= seconds < math.inf:
        facts.append(f"{seconds:.2f} s" if seconds < 1 else f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s")
    status = _text(call.get("status")).strip()
    if status:
        facts.append(STATUS_WORDS.get(status, status))
    return facts


def _text(value: object) -> str:
    """A value meant to be text: strings as they are, numbers written out, anything else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
