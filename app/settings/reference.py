"""The settings as a Markdown table for the docs (``python -m app.settings`` prints it)."""

from __future__ import annotations

import json

from app.settings.declarations import SETTINGS
from app.settings.validation import number_text


def reference_markdown() -> str:
    """The settings as a Markdown table for the docs (``python -m app.settings``)."""
    lines = ["| Setting | Key | Default | Allowed | What it does |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        if s.kind == "choice":
            allowed = ", ".join(f"`{c}`" for c in s.choices)
        elif s.kind in ("int", "float"):
            allowed = f"{number_text(s.minimum or 0)} … {number_text(s.maximum or 0)}"
            if s.minimum_label:
                allowed += f" ({number_text(s.minimum or 0)} = {s.minimum_label.lower()})"
        else:
            allowed = "on / off" if s.kind == "bool" else "text"
        default = json.dumps(s.default)
        label = s.label if s.in_dialog else f"{s.label} (kept by the app)"
        lines.append(f"| {label} | `{s.key}` | `{default}` | {allowed} | {s.help} |")
    return "\n".join(lines) + "\n"
