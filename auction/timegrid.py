"""Delivery days and the MTU grid.

The market day is a local day of the market's time zone (Europe/Berlin): it has 92, 96
or 100 quarter-hours depending on daylight saving. Inside the engine every instant is UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

DEFAULT_TIME_ZONE = "Europe/Berlin"


def day_bounds(day: date, time_zone: str = DEFAULT_TIME_ZONE) -> tuple[datetime, datetime]:
    """UTC start and end of the local day ``day`` (end exclusive)."""
    tz = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def mtu_count(day: date, mtu_minutes: int = 15, time_zone: str = DEFAULT_TIME_ZONE) -> int:
    """Number of MTUs of the delivery day: 96 normally, 92 or 100 on DST days."""
    start, end = day_bounds(day, time_zone)
    return int((end - start) / timedelta(minutes=mtu_minutes))


def mtu_starts(day: date, mtu_minutes: int = 15, time_zone: str = DEFAULT_TIME_ZONE) -> np.ndarray:
    """UTC start of every MTU of the day, as ``datetime64[us]``."""
    start, end = day_bounds(day, time_zone)
    step = np.timedelta64(mtu_minutes, "m")
    first = np.datetime64(start.replace(tzinfo=None), "us")
    last = np.datetime64(end.replace(tzinfo=None), "us")
    return np.arange(first, last, step)


def is_on_grid(instant: datetime, day: date, mtu_minutes: int, time_zone: str) -> bool:
    """Whether ``instant`` is an MTU edge of the day (grid anchored at local midnight)."""
    start, _ = day_bounds(day, time_zone)
    return (instant - start) % timedelta(minutes=mtu_minutes) == timedelta(0)


def local_iso(instant: datetime, time_zone: str = DEFAULT_TIME_ZONE) -> str:
    """ISO 8601 with the local offset, as the archive writes timestamps."""
    return instant.astimezone(ZoneInfo(time_zone)).isoformat()
