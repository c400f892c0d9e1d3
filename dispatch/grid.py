"""The MTU grid of a stretch of time, and the fleet's availability on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from auction.book import UTC_TIME


@dataclass(frozen=True)
class Grid:
    """The MTUs of the delivery day ``[start, start + n_mtu·mtu)``, UTC."""

    start: datetime
    n_mtu: int
    mtu_minutes: int

    @property
    def dt_h(self) -> float:
        return self.mtu_minutes / 60

    @property
    def end(self) -> datetime:
        return self.start + self.n_mtu * timedelta(minutes=self.mtu_minutes)

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
        mtu_us = self.mtu_minutes * 60_000_000
        offset = (pl.col(column) - pl.lit(self.start, dtype=UTC_TIME)).dt.total_microseconds()
        edge = -(-offset // mtu_us) if ceil else offset // mtu_us
        return edge.clip(0, self.n_mtu)


def availability_matrix(availability: pl.DataFrame, asset_ids: list[str], grid: Grid) -> np.ndarray:
    """``a[k, t]``: the product of the fractions of every row overlapping MTU ``t``.

    The same rule as ``clearing.reference.availability_matrix`` (a row covering part of
    an MTU derates all of it: capacity must hold all through), which takes an archive;
    overlapping rows multiply.
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


def numbered(ids: list[str], column: str, index: str) -> pl.DataFrame:
    """``ids`` with their position, to join on (replace_strict keeps the type of an empty
    mapping's input, not the return type)."""
    frame = pl.DataFrame({column: ids}, schema={column: pl.String})
    return frame.with_row_index(index).with_columns(pl.col(index).cast(pl.Int64))
