"""auction.timegrid: delivery days, DST days and the MTU grid."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import polars as pl
import pytest

from auction.book import AVAILABILITY
from auction.timegrid import (
    Grid,
    availability_matrix,
    day_bounds,
    is_on_grid,
    local_instant,
    local_iso,
    mtu_count,
    mtu_index,
    mtu_index_expr,
    mtu_starts,
    whole_mtus,
)

BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("day", "count"),
    [(date(2026, 3, 29), 92), (date(2026, 11, 29), 96), (date(2026, 10, 25), 100)],
)
def test_mtu_count(day: date, count: int) -> None:
    assert mtu_count(day) == count
    assert len(mtu_starts(day)) == count
    assert mtu_count(day, mtu_minutes=60) == count // 4


def test_day_bounds_are_utc_local_midnights() -> None:
    assert day_bounds(date(2026, 3, 29)) == (
        datetime(2026, 3, 28, 23, tzinfo=UTC),
        datetime(2026, 3, 29, 22, tzinfo=UTC),
    )
    assert day_bounds(date(2026, 10, 25), BERLIN) == (
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 23, tzinfo=UTC),
    )


def test_mtu_starts_are_utc_quarter_hours() -> None:
    starts = mtu_starts(date(2026, 11, 29))
    assert str(starts[0]) == "2026-11-28T23:00:00.000000"
    assert str(starts[-1]) == "2026-11-29T22:45:00.000000"


@pytest.mark.parametrize(
    ("instant", "on_grid"),
    [
        (datetime(2026, 10, 25, 1, 15, tzinfo=UTC), True),  # 02:15+01:00, the repeated hour
        (datetime(2026, 10, 25, 1, 20, tzinfo=UTC), False),
        (datetime(2026, 10, 25, 23, 0, tzinfo=UTC), True),  # 24:00 local
    ],
)
def test_is_on_grid(instant: datetime, on_grid: bool) -> None:
    assert is_on_grid(instant, date(2026, 10, 25), 15, BERLIN) is on_grid


def test_local_iso_carries_the_local_offset() -> None:
    assert local_iso(datetime(2026, 11, 28, 23, tzinfo=UTC)) == "2026-11-29T00:00:00+01:00"
    assert local_iso(datetime(2026, 7, 1, 10, tzinfo=UTC), BERLIN) == "2026-07-01T12:00:00+02:00"


def test_local_instant_reads_the_wall_clock_of_the_day() -> None:
    spring, fall = date(2026, 3, 29), date(2026, 10, 25)
    assert local_instant(spring, time(4)) - local_instant(spring, time(0)) == timedelta(hours=3)
    assert local_instant(fall, time(4)) - local_instant(fall, time(0)) == timedelta(hours=5)
    assert local_instant(date(2026, 11, 30), time(8)) == datetime(2026, 11, 30, 7, tzinfo=UTC)
    # 02:30 does not exist on the spring-forward day: read with the winter offset.
    assert local_instant(spring, time(2, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


T0 = datetime(2026, 11, 28, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "floor", "ceil"),
    [
        (timedelta(0), 0, 0),
        (timedelta(minutes=15), 1, 1),
        (timedelta(minutes=16), 1, 2),
        (timedelta(microseconds=1), 0, 1),
        (timedelta(minutes=-1), -1, 0),
    ],
)
def test_mtu_index_floors_and_ceils_exactly(offset: timedelta, floor: int, ceil: int) -> None:
    assert mtu_index(T0 + offset, T0, 15) == floor
    assert mtu_index(T0 + offset, T0, 15, ceil=True) == ceil
    frame = pl.DataFrame({"at": [T0 + offset]}).cast({"at": pl.Datetime("us", "UTC")})
    got = frame.select(
        f=mtu_index_expr(pl.col("at"), T0, 15), c=mtu_index_expr(pl.col("at"), T0, 15, ceil=True)
    )
    assert got.row(0) == (floor, ceil)


def test_whole_mtus_wants_a_positive_whole_number() -> None:
    assert whole_mtus(T0, T0 + timedelta(hours=1), 15) == 4
    assert whole_mtus(T0, T0 + timedelta(minutes=50), 15) is None
    assert whole_mtus(T0, T0, 15) is None
    assert whole_mtus(T0 + timedelta(hours=1), T0, 15) is None


def test_grid_of_a_dst_day() -> None:
    grid = Grid.of_day(date(2026, 10, 25))
    assert (grid.start, grid.end, grid.n_mtu) == (*day_bounds(date(2026, 10, 25)), 100)
    assert grid.starts().len() == 100


def test_availability_matrix_derates_every_mtu_a_row_touches() -> None:
    grid = Grid(T0, 4, 15)
    rows = pl.DataFrame(
        {
            "asset_id": ["b", "b", "a", "zz"],
            "start": [T0 + timedelta(minutes=20), T0, T0, T0],
            "end": [
                T0 + timedelta(minutes=31),
                T0 + timedelta(hours=1),
                T0,
                T0 + timedelta(hours=1),
            ],
            "available_fraction": [0.5, 0.5, 0.0, 0.0],
        },
        schema=AVAILABILITY,
    )
    a = availability_matrix(rows, ["a", "b"], grid)
    np.testing.assert_array_equal(a, [[1, 1, 1, 1], [0.5, 0.25, 0.25, 0.5]])
