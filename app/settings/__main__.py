"""``python -m app.settings``: print the settings reference (Markdown) for the docs."""

from __future__ import annotations

from app.settings.reference import reference_markdown

print(reference_markdown(), end="")
