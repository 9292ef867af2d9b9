"""The sidebar's groups: pinned chats first, then the rest by their last activity, in local time (no Qt).

Today, Yesterday, Previous 7 days (two to seven days ago) and Older; an empty group is left out, and a pinned chat
is only in "Pinned". Search results are grouped the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

PINNED, TODAY, YESTERDAY, WEEK, OLDER = "Pinned", "Today", "Yesterday", "Previous 7 days", "Older"
GROUPS = (PINNED, TODAY, YESTERDAY, WEEK, OLDER)


@dataclass(frozen=True)
class ConversationRow:
    """One chat as the sidebar shows it."""

    id: int
    title: str
    updated_at: float
    pinned: bool = False


def date_group(updated_at: float, now: float) -> str:
    """TODAY, YESTERDAY, WEEK or OLDER for a chat last active at ``updated_at`` (seconds), seen at ``now``."""
    days = (dt.date.fromtimestamp(now) - dt.date.fromtimestamp(updated_at)).days
    if days <= 0:  # (a clock set back leaves a chat "in the future": still today's)
        return TODAY
    if days == 1:
        return YESTERDAY
    return WEEK if days <= 7 else OLDER


def grouped(rows: Sequence[ConversationRow], now: float) -> list[tuple[str, list[ConversationRow]]]:
    """The rows under their groups' names, in ``GROUPS`` order, each group keeping the rows' order."""
    groups: dict[str, list[ConversationRow]] = {name: [] for name in GROUPS}
    for row in rows:
        groups[PINNED if row.pinned else date_group(row.updated_at, now)].append(row)
    return [(name, members) for name, members in groups.items() if members]


def seconds_to_midnight(now: float) -> float:
    """How long until the local date changes (when the groups must be drawn again)."""
    today = dt.date.fromtimestamp(now)
    midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min).timestamp()
    return max(1.0, midnight - now)
