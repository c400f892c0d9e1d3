"""Which delivery days a template has work for at an instant.

A day is *due* from its ``create_at`` until its gate closes: a scheduler that was down
when a day's creation time came creates it when it is back, as long as bids can still be
taken. A day whose gate closed before anyone created it is *missed*.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from auction.calendar.template import day_times, time_zone
from auction.calendar.walltime import MAX_DAYS_BEFORE

# How far back the scheduler looks for days it missed (older ones show in the calendar).
MISSED_LOOKBACK_DAYS = 31


def local_day(instant: datetime, zone: str) -> date:
    return instant.astimezone(ZoneInfo(zone)).date()


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def due_days(body: Mapping[str, Any], first_day: date, now: datetime) -> list[date]:
    """Days from ``first_day`` on whose creation time has come and whose gate is open."""
    today = local_day(now, time_zone(body))
    candidates = _days(
        max(first_day, today - timedelta(days=1)), today + timedelta(days=MAX_DAYS_BEFORE + 1)
    )
    return [d for d in candidates if _in_window(body, d, now)]


def _in_window(body: Mapping[str, Any], day: date, now: datetime) -> bool:
    times = day_times(body, day)
    return times.create_at <= now < times.gate_close


def missed_days(body: Mapping[str, Any], first_day: date, now: datetime) -> list[date]:
    """Days from ``first_day`` on (at most ``MISSED_LOOKBACK_DAYS`` back) whose gate has
    closed: the caller keeps those nobody created."""
    today = local_day(now, time_zone(body))
    first = max(first_day, today - timedelta(days=MISSED_LOOKBACK_DAYS))
    candidates = _days(first, today + timedelta(days=MAX_DAYS_BEFORE + 1))
    return [d for d in candidates if day_times(body, d).gate_close <= now]


def first_day_after(body: Mapping[str, Any], now: datetime) -> date:
    """The first day whose creation time is still ahead at ``now``: where a new template
    starts unless told otherwise (it does not create days already in their window)."""
    day = local_day(now, time_zone(body))
    while day_times(body, day).create_at < now:
        day += timedelta(days=1)
    return day
