"""How the app prints sizes, memory, parameter counts and durations (``app.units``): the edges people see."""

from __future__ import annotations

import pytest

from app.units import (
    GB,
    MIB,
    format_duration,
    format_gb,
    format_memory,
    format_params,
    format_size,
    format_time_left,
)

GIB = 1 << 30


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 KB"),
        (1023, "1.0 KB"),
        (1024, "1.0 KB"),
        (12_345, "12.3 KB"),
        (999_949, "999.9 KB"),
        (999_950, "1.0 MB"),  # not "1000.0 KB"
        (300_000_000, "300.0 MB"),
        (int(1.5 * GIB), "1.6 GB"),  # decimal units, as disks are sold
        (5_100_000_000, "5.1 GB"),
        (999_960_000_000, "1.0 TB"),
        (2_000_000_000_000, "2.0 TB"),
        (10**18, "1000000.0 TB"),  # huge: still one line, never an exception
        (-512, "-512 bytes"),  # a difference keeps its sign
        (-int(1.5 * GB), "-1.5 GB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


def test_format_size_agrees_with_the_download_and_free_space_messages() -> None:
    from pathlib import Path

    from app.models.download import DownloadError, check_free_space

    with pytest.raises(DownloadError, match=r"need 1000000\.0 TB, [0-9.]+ [KMGT]?B(ytes)? free\.$"):
        check_free_space(Path("/"), 10**18)


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0.0 GB"), (GB // 2, "0.5 GB"), (16 * GB, "16.0 GB"), (int(12.34 * GB), "12.3 GB"), (10**15, "1000000.0 GB")],
)
def test_format_gb_is_always_gigabytes(n: int, text: str) -> None:
    assert format_gb(n) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 MiB"), (512 * MIB, "512 MiB"), (950 * MIB, "950 MiB"), (GB - 1, "954 MiB"), (GB, "1.0 GB")],
)
def test_format_memory_switches_to_gb_at_a_gigabyte(n: int, text: str) -> None:
    assert format_memory(n) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (91_136, "91,136"),
        (999_999, "999,999"),
        (1_000_000, "1M"),
        (268_098_176, "268M"),
        (999_400_000, "999M"),
        (999_600_000, "1.00B"),  # not "1000M"
        (4_020_000_000, "4.02B"),
        (30_700_000_000, "30.70B"),
    ],
)
def test_format_params(n: int, text: str) -> None:
    assert format_params(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0:00"),
        (-3, "0:00"),
        (0.2, "0:01"),  # rounded up: "too long" never reads as the limit itself
        (30.0, "0:30"),
        (30.02, "0:31"),
        (630.2, "10:31"),
        (3600, "1:00:00"),
        (3723, "1:02:03"),
    ],
)
def test_format_duration_is_a_clock(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (-2, "0 s"),
        (44.4, "44 s"),
        (59.6, "1 min 0 s"),
        (138, "2 min 18 s"),
        (3900, "1 h 5 min"),
        (90_000, "25 h 0 min"),
    ],
)
def test_format_time_left(seconds: float, text: str) -> None:
    assert format_time_left(seconds) == text
