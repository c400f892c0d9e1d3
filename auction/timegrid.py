"""Delivery days and the MTU grid: the one place that turns instants into MTU indices.

The market day is a local day of the market's time zone (Europe/Berlin): it has 92, 96
or 100 quarter-hours depending on daylight saving. Inside the engine every instant is UTC.
MTU arithmetic is done in whole microseconds (polars' unit), so it is exact: an instant
is on the grid or it is not, with no float in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from auction.book import UTC_TIME, numbered

DEFAULT_TIME_ZONE = "Europe/Berlin"
_US = timedelta(microseconds=1)


def day_bounds(day: date, time_zone: str = DEFAULT_TIME_ZONE) -> tuple[datetime, datetime]:
    """UTC start and end of the local day ``day`` (end exclusive)."""
    tz = ZoneInfo(time_zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def mtu_count(day: date, mtu_minutes: int = 15, time_zone: str = DEFAULT_TIME_ZONE) -> int:
    """Number of MTUs of the delivery day: 96 normally, 92 or 100 on DST days."""
    start, end = day_bounds(day, time_zone)
    return mtu_span(start, end, mtu_minutes)


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
    return on_grid(instant, start, mtu_minutes)


def local_instant(day: date, at: time, time_zone: str = DEFAULT_TIME_ZONE) -> datetime:
    """UTC instant of the wall-clock time ``at`` on the local ``day`` (a time a DST change
    skips is read with the offset before the change, as zoneinfo does)."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def local_iso(instant: datetime, time_zone: str = DEFAULT_TIME_ZONE) -> str:
    """ISO 8601 with the local offset, as the archive writes timestamps."""
    return instant.astimezone(ZoneInfo(time_zone)).isoformat()


# --------------------------------------------------------------------------- MTU indices


def mtu_us(mtu_minutes: int) -> int:
    """Microseconds of one MTU."""
    return mtu_minutes * 60_000_000


def mtu_span(start: datetime, end: datetime, mtu_minutes: int) -> int:
    """Whole MTUs from ``start`` to ``end``, rounded down."""
    return (end - start) // timedelta(minutes=mtu_minutes)


def whole_mtus(start: datetime, end: datetime, mtu_minutes: int) -> int | None:
    """The number of MTUs of ``[start, end)``, or None unless it is a positive whole number."""
    mtu = timedelta(minutes=mtu_minutes)
    if end <= start or (end - start) % mtu:
        return None
    return (end - start) // mtu


def mtu_index(instant: datetime, start: datetime, mtu_minutes: int, *, ceil: bool = False) -> int:
    """The MTU edge at or before (with ``ceil``: at or after) ``instant``, counted from
    ``start``; not clipped, so negative before ``start``."""
    offset, step = (instant - start) // _US, mtu_us(mtu_minutes)
    return -(-offset // step) if ceil else offset // step


def on_grid(instant: datetime, start: datetime, mtu_minutes: int) -> bool:
    """Whether ``instant`` is an MTU edge of the grid anchored at ``start``."""
    return (instant - start) % timedelta(minutes=mtu_minutes) == timedelta(0)


def offset_us_expr(instant: pl.Expr, start: datetime | pl.Expr) -> pl.Expr:
    """Microseconds from ``start`` (an aware instant, or a column of them) to ``instant``."""
    origin = pl.lit(start.astimezone(UTC), dtype=UTC_TIME) if isinstance(start, datetime) else start
    return (instant - origin).dt.total_microseconds()


def mtu_index_expr(
    instant: pl.Expr, start: datetime | pl.Expr, mtu_minutes: int, *, ceil: bool = False
) -> pl.Expr:
    """``mtu_index`` over a column: the edge at or before (``ceil``: at or after); not clipped."""
    offset, step = offset_us_expr(instant, start), mtu_us(mtu_minutes)
    return -(-offset // step) if ceil else offset // step


def on_grid_expr(instant: pl.Expr, start: datetime | pl.Expr, mtu_minutes: int) -> pl.Expr:
    """``on_grid`` over a column."""
    return offset_us_expr(instant, start) % mtu_us(mtu_minutes) == 0


# --------------------------------------------------------------------------- a stretch of MTUs


@dataclass(frozen=True)
class Grid:
    """The MTUs ``[start, start + n_mtu·mtu)``, UTC."""

    start: datetime
    n_mtu: int
    mtu_minutes: int

    @classmethod
    def of_day(cls, day: date, mtu_minutes: int = 15, time_zone: str = DEFAULT_TIME_ZONE) -> Grid:
        """The MTUs of the delivery day."""
        start, end = day_bounds(day, time_zone)
        return cls(start, mtu_span(start, end, mtu_minutes), mtu_minutes)

    @property
    def mtu(self) -> timedelta:
        return timedelta(minutes=self.mtu_minutes)

    @property
    def dt_h(self) -> float:
        return self.mtu_minutes / 60

    @property
    def end(self) -> datetime:
        return self.start + self.n_mtu * self.mtu

    def starts(self) -> pl.Series:
        """The UTC start of every MTU."""
        return pl.datetime_range(
            self.start,
            self.end,
            interval=f"{self.mtu_minutes}m",
            closed="left",
            time_unit="us",
            time_zone="UTC",
            eager=True,
        ).alias("start")

    def index(self, column: str, *, ceil: bool) -> pl.Expr:
        """The MTU edge at or before (or, with ``ceil``, at or after) ``column``, in [0, n]."""
        edge = mtu_index_expr(pl.col(column), self.start, self.mtu_minutes, ceil=ceil)
        return edge.clip(0, self.n_mtu)

    def on_grid(self, column: str) -> pl.Expr:
        """Whether ``column`` is an MTU edge of the grid."""
        return on_grid_expr(pl.col(column), self.start, self.mtu_minutes)


def availability_matrix(availability: pl.DataFrame, asset_ids: list[str], grid: Grid) -> np.ndarray:
    """``a[k, t]``: the product of the fractions of every row overlapping MTU ``t``.

    ``availability`` as ``auction.book.AVAILABILITY``; rows of other assets are ignored.
    A row covering part of an MTU derates all of it (capacity must hold all through), as
    ``clearing.reference.availability_matrix``, which takes an archive, has it too;
    overlapping rows multiply, in a canonical order (the input's row order does not matter).
    """
    a = np.ones((len(asset_ids), grid.n_mtu))
    rows = (
        availability.join(numbered(asset_ids, "asset_id", "k"), on="asset_id", how="inner")
        .with_columns(t0=grid.index("start", ceil=False), t1=grid.index("end", ceil=True))
        .filter(pl.col("t1") > pl.col("t0"))
        .sort("k", "t0", "t1", "available_fraction")
    )
    if rows.height == 0:
        return a
    t = np.arange(grid.n_mtu)
    covers = (rows["t0"].to_numpy()[:, None] <= t) & (t < rows["t1"].to_numpy()[:, None])
    fraction = rows["available_fraction"].to_numpy()[:, None]
    np.multiply.at(a, rows["k"].to_numpy(), np.where(covers, fraction, 1.0))
    return a
