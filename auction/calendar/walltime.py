"""Times a template names relative to the delivery day, and what they are on a given day.

A *day rule* is ``D-7 09:00``: the wall-clock time 09:00 of the local day seven days
before delivery. A *wall time* is ``HH:MM`` on the delivery day itself, ``24:00`` its end.

Daylight saving (docs/operations.md, "The auction calendar"): a wall time the spring
change skips (02:00-03:00 in Europe/Berlin) is read as the first time after the gap
(03:00), so a window reaching into the gap is clipped to it and a window inside it is
empty; a wall time the autumn change repeats means its first occurrence (summer time), so
a window over 02:00-03:00 holds both of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_RULE_PATTERN = r"^D-([0-9]{1,2}) ([01][0-9]|2[0-3]):([0-5][0-9])$"
WALL_TIME_PATTERN = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
MAX_DAYS_BEFORE = 60
_DAY_RULE = re.compile(DAY_RULE_PATTERN)
_WALL_TIME = re.compile(WALL_TIME_PATTERN)
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DayRule:
    """``days_before`` days before delivery at the wall-clock time ``at``."""

    days_before: int
    at: time

    def on(self, day: date, time_zone: str) -> datetime:
        """The UTC instant the rule names for delivery day ``day``."""
        return wall_instant(day - timedelta(days=self.days_before), self.at, time_zone)

    def __str__(self) -> str:
        return f"D-{self.days_before} {self.at:%H:%M}"


def parse_day_rule(text: str) -> DayRule:
    """``D-7 09:00`` as a DayRule; ValueError naming the form otherwise."""
    match = _DAY_RULE.fullmatch(text)
    if match is None or int(match[1]) > MAX_DAYS_BEFORE:
        raise ValueError(
            f"{text!r} is not a day rule: write D-N HH:MM with N from 0 to {MAX_DAYS_BEFORE} "
            "(D-2 15:00 is 15:00 two days before delivery)"
        )
    return DayRule(int(match[1]), time(int(match[2]), int(match[3])))


def parse_wall_time(text: str) -> timedelta:
    """``HH:MM`` (or ``24:00``) as the time since local midnight it names on a clock face."""
    if _WALL_TIME.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not a wall time: write HH:MM, from 00:00 to 24:00")
    hours, minutes = text.split(":")
    return timedelta(hours=int(hours), minutes=int(minutes))


def exists(day: date, at: time, time_zone: str) -> bool:
    """Whether the wall-clock time ``at`` happens on ``day`` (not skipped by DST)."""
    local = datetime.combine(day, at, tzinfo=ZoneInfo(time_zone))
    back = local.astimezone(UTC).astimezone(ZoneInfo(time_zone))
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def wall_instant(day: date, at: time, time_zone: str) -> datetime:
    """UTC instant of wall-clock ``at`` on the local ``day``: a skipped time is the first
    time after the gap, a repeated time its first occurrence (module docstring)."""
    naive = datetime.combine(day, at)
    while not exists(naive.date(), naive.time(), time_zone):  # at most one gap's minutes
        naive += _MINUTE
    return datetime.combine(naive.date(), naive.time(), tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def on_day(day: date, since_midnight: timedelta, time_zone: str) -> datetime:
    """UTC instant of a wall time (``parse_wall_time``) on delivery day ``day``."""
    if since_midnight >= _DAY:
        return wall_instant(day + _DAY, time(0), time_zone)
    minutes = since_midnight // _MINUTE
    return wall_instant(day, time(minutes // 60, minutes % 60), time_zone)
