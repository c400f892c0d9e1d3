"""Windows in local wall-clock time, as a person reads them: the one formatter of every
table, page and text that shows a window (``00:00-24:00``).

The end of a window that ends at the next local midnight reads ``24:00``, not ``00:00``
(a full-day product is ``00:00-24:00``, not the empty-looking ``00:00-00:00``); this holds
on the DST days too, whose local day has 92 or 100 quarter-hours. An end on a later day
than that carries its date.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl

DATE_FORMAT = "%Y-%m-%d "


def clock(instant: datetime, day: date, time_zone: str, date_format: str = DATE_FORMAT) -> str:
    """``14:00``: ``instant``'s wall-clock time on the local ``day``; the next midnight
    reads ``24:00``; any other day carries its date (``date_format``)."""
    local = instant.astimezone(ZoneInfo(time_zone))
    if local.date() == day:
        return f"{local:%H:%M}"
    if local.date() == day + timedelta(days=1) and local.time() == time(0):
        return "24:00"
    return local.strftime(date_format + "%H:%M")


def window(start: datetime, end: datetime, time_zone: str, sep: str = "-") -> str:
    """``00:00-24:00``: both ends on the start's local day."""
    day = start.astimezone(ZoneInfo(time_zone)).date()
    return f"{clock(start, day, time_zone)}{sep}{clock(end, day, time_zone)}"


def window_expr(start: pl.Expr, end: pl.Expr, time_zone: str, sep: str = "-") -> pl.Expr:
    """``window`` on columns of UTC instants (windows within a day or ending at the next
    local midnight, such as products, blocks and MTUs)."""
    first = start.dt.convert_time_zone(time_zone)
    last = end.dt.convert_time_zone(time_zone)
    midnight = (last.dt.date() == first.dt.date() + pl.duration(days=1)) & (
        last.dt.time() == time(0)
    )
    tail = pl.when(midnight).then(pl.lit("24:00")).otherwise(last.dt.strftime("%H:%M"))
    return first.dt.strftime("%H:%M") + pl.lit(sep) + tail
