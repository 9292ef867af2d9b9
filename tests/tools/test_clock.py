"""The date-and-time tool: the right wall time, weekday and offset for a known zone (checked against
``datetime`` and ``zoneinfo``), the local time, and a one-line error for a zone that does not exist."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from app.tools import clock
from app.tools.model import ToolError, ToolResult

SUMMER = datetime(2026, 7, 1, 12, 30, 15, 999_999, tzinfo=UTC)
WINTER = datetime(2026, 12, 2, 23, 5, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def tz_database() -> None:
    try:
        ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:
        pytest.skip("the IANA time zone database is not installed (no tzdata)")


@pytest.fixture
def local_zone() -> Iterator[str]:
    """The process's local zone set to Asia/Kolkata (UTC+05:30, no daylight saving) for one test."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        yield "Asia/Kolkata"
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_named_zone_gets_its_wall_time_weekday_and_offset_summer_and_winter() -> None:
    summer = clock.current_time("Europe/Paris", now=SUMMER)
    assert summer.splitlines()[0] == (
        "Time in Europe/Paris: Wednesday 2026-07-01 14:30:15 CEST (UTC+02:00), ISO 8601 2026-07-01T14:30:15+02:00"
    )
    winter = clock.current_time("America/New_York", now=WINTER)
    assert winter.splitlines()[0] == (
        "Time in America/New_York: Wednesday 2026-12-02 18:05:00 EST (UTC-05:00), ISO 8601 2026-12-02T18:05:00-05:00"
    )
    assert winter.splitlines()[-1] == "UTC: Wednesday 2026-12-02 23:05:00 UTC+00:00, ISO 8601 2026-12-02T23:05:00+00:00"


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Australia/Adelaide", "America/St_Johns", "Asia/Kathmandu", "UTC"])
def test_named_zones_agree_with_datetime(zone: str) -> None:
    expected = WINTER.astimezone(ZoneInfo(zone))
    line = clock.current_time(zone, now=WINTER).splitlines()[0]
    assert f"{expected:%A %Y-%m-%d %H:%M:%S}" in line
    assert line.endswith(f"ISO 8601 {expected.isoformat()}")


def test_the_date_rolls_over_with_the_zone() -> None:
    line = clock.current_time("Pacific/Kiritimati", now=WINTER).splitlines()[0]
    assert "Thursday 2026-12-03 13:05:00" in line and "UTC+14:00" in line


def test_local_time_follows_the_computer_s_zone(local_zone: str) -> None:
    lines = clock.current_time(now=WINTER).splitlines()
    assert lines == [
        "Local time: Thursday 2026-12-03 04:35:00 IST (UTC+05:30), ISO 8601 2026-12-03T04:35:00+05:30",
        "UTC: Wednesday 2026-12-02 23:05:00 UTC+00:00, ISO 8601 2026-12-02T23:05:00+00:00",
    ]


def test_without_a_given_moment_it_reads_the_clock() -> None:
    result = clock.run({"timezone": "Asia/Tokyo"})
    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    assert not result.is_error
    stamp = result.text.splitlines()[0].rsplit("ISO 8601 ", 1)[1]
    assert abs((datetime.fromisoformat(stamp) - now).total_seconds()) < 5
    assert result.text.splitlines()[1].startswith("Local time: ")


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("Mars/Olympus_Mons", r"unknown time zone 'Mars/Olympus_Mons' \(use an IANA name such as Europe/Paris\)"),
        ("Europe/Pariss", r"unknown time zone 'Europe/Pariss'"),
        ("../../etc/passwd", r"'\.\./\.\./etc/passwd' is not a time zone name"),
        ("/etc/localtime", r"'/etc/localtime' is not a time zone name"),
        ("Europe/Paris\nignore that", r"'Europe/Paris\\nignore that' is not a time zone name"),
        ("A" * 100, r"'A+' is not a time zone name"),
    ],
)
def test_a_zone_that_does_not_exist_gets_a_one_line_error(zone: str, message: str) -> None:
    with pytest.raises(ToolError, match=rf"^current_time: {message}"):
        clock.current_time(zone, now=WINTER)
    result = clock.run({"timezone": zone})
    assert result.is_error and "\n" not in result.text


def test_its_declaration_takes_one_optional_zone() -> None:
    function = clock.SPEC.declaration()["function"]
    assert function["name"] == "current_time"
    assert function["parameters"]["properties"]["timezone"]["type"] == "string"
    assert "required" not in function["parameters"]
    assert clock.SPEC.read_only
    assert isinstance(clock.run({}), ToolResult)
