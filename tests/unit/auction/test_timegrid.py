"""auction.timegrid: delivery days, DST days and the MTU grid."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from auction.timegrid import day_bounds, is_on_grid, local_iso, mtu_count, mtu_starts

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
