"""Numbers as people read them: file sizes, memory, parameter counts, durations.

One formatter per kind of number, so the window, the command line and the
messages of the core all print a size or a time the same way. A leaf module:
it imports nothing from ``app``.
"""

from __future__ import annotations

import math

GB = 1_000_000_000
MIB = 1 << 20

#: Decimal units, as disks are sold (a "5.1 GB" file is 5.1 billion bytes).
_SIZE_UNITS = (("KB", 1e3), ("MB", 1e6), ("GB", 1e9))


def format_size(size: int) -> str:
    """``5.1 GB``, ``300.0 MB``, ``12.0 KB``, ``512 bytes``, ``2.0 TB`` (decimal units, as disks are sold).

    A value is shown in the next unit up once it would round to 1000 of the current
    one (``999,990`` bytes is ``1.0 MB``, not ``1000.0 KB``). Negative sizes (a
    difference) keep their sign.
    """
    if abs(size) < 1000:
        return "1 byte" if size == 1 else f"{size} bytes"
    for unit, scale in _SIZE_UNITS:
        if round(abs(size) / scale, 1) < 1000:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 1e12:.1f} TB"


def format_gb(n: int) -> str:
    """Memory in gigabytes with one decimal: ``12.3 GB`` (always GB, so amounts compare at a glance)."""
    return f"{n / GB:.1f} GB"


def format_memory(n: int) -> str:
    """A part of a memory estimate: ``512 MiB`` below a gigabyte (binary, as llama.cpp logs), else ``format_gb``."""
    return f"{n / MIB:,.0f} MiB" if n < GB else format_gb(n)


def format_params(n: int) -> str:
    """A parameter count: ``4.02B``, ``268M``, ``91,136`` (``1.00B`` rather than ``1000M``)."""
    if round(n / 1e6) >= 1000:
        return f"{n / 1e9:.2f}B"
    return f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n:,}"


def format_duration(seconds: float) -> str:
    """A recording's length as a clock: ``630.2`` → ``"10:31"``, ``"1:02:03"`` past an hour.

    Whole seconds, rounded up, so "too long" never reads as the limit itself; below zero reads ``0:00``.
    """
    total = max(0, math.ceil(seconds - 1e-6))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_time_left(seconds: float) -> str:
    """A wait in words: ``45 s``, ``2 min 18 s``, ``1 h 5 min`` (a download's time left; rounded to the second)."""
    s = max(0, int(seconds + 0.5))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"
