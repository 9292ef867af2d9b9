"""The date-and-time tool: the current date, time, weekday and time zone, here or in a named IANA zone.

A model cannot know what time it is; this tells it. Without arguments it gives the computer's local time and
UTC; with ``timezone`` (an IANA name such as ``Europe/Paris``) it gives that zone's time too. The zone name
comes from the model, so it is checked before :mod:`zoneinfo` looks it up.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.tools.model import ToolError, ToolResult, ToolSpec

#: What an IANA zone name looks like (``America/Argentina/Buenos_Aires``, ``Etc/GMT+5``, ``UTC``).
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")

SPEC = ToolSpec(
    name="current_time",
    description=(
        "Gives the current date, time, weekday and time zone: the user's local time and UTC, and optionally "
        "the time in another time zone."
    ),
    parameters={
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": "An IANA time zone name such as Europe/Paris or America/New_York (optional)",
            }
        },
    },
    read_only=True,
)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or :class:`ToolError` saying it is unknown."""
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        raise ToolError(f"current_time: {str(name)[:64]!r} is not a time zone name (use one such as Europe/Paris)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ToolError(f"current_time: unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from None


def describe(moment: datetime) -> str:
    """``Wednesday 2026-12-02 09:10:05 CET (UTC+01:00), ISO 8601 2026-12-02T09:10:05+01:00``."""
    moment = moment.replace(microsecond=0)
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    zone = moment.tzname() or ""
    label = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    named = f"{zone} ({label})" if zone and zone != label and zone != "UTC" else label
    return f"{moment:%A %Y-%m-%d %H:%M:%S} {named}, ISO 8601 {moment.isoformat()}"


def current_time(timezone: str | None = None, now: datetime | None = None) -> str:
    """The tool's text: local time, UTC, and ``timezone``'s time when one is named.

    ``now`` (an aware datetime) stands for the present; by default it is read from the clock.
    """
    zone = zone_named(timezone) if timezone else None
    instant = (now or datetime.now(UTC)).astimezone(UTC)
    lines = [f"Local time: {describe(instant.astimezone())}", f"UTC: {describe(instant)}"]
    if zone is not None:
        lines.insert(0, f"Time in {timezone}: {describe(instant.astimezone(zone))}")
    return "\n".join(lines)


def run(arguments: dict[str, Any]) -> ToolResult:
    """The tool's entry point: ``{}`` or ``{"timezone": "Asia/Tokyo"}``."""
    try:
        return ToolResult(text=current_time(arguments.get("timezone") or None))
    except ToolError as error:
        return ToolResult.error(error)
