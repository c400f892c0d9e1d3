"""Windows in local wall-clock time: the next midnight reads 24:00, on DST days too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from auction.timegrid import day_bounds, mtu_count
from auction.wallclock import clock, window, window_expr

BERLIN = "Europe/Berlin"
SPRING, AUTUMN, PLAIN = date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 29)


def test_a_full_day_is_00_to_24_on_plain_and_dst_days() -> None:
    for day, quarters in ((PLAIN, 96), (SPRING, 92), (AUTUMN, 100)):
        start, end = day_bounds(day, BERLIN)
        assert mtu_count(day, 15, BERLIN) == quarters
        assert window(start, end, BERLIN) == "00:00-24:00"


def test_hours_of_a_dst_day_read_as_the_wall_clock() -> None:
    start, _ = day_bounds(SPRING, BERLIN)  # 23:00 UTC the day before
    assert window(start, start + timedelta(hours=3), BERLIN) == "00:00-04:00"  # 02:00 skipped
    autumn, _ = day_bounds(AUTUMN, BERLIN)
    assert window(autumn, autumn + timedelta(hours=5), BERLIN) == "00:00-04:00"  # 02:00 twice


def test_an_end_beyond_the_next_midnight_carries_its_date() -> None:
    start = datetime(2026, 11, 29, 21, 0, tzinfo=UTC)  # 22:00 CET
    assert window(start, start + timedelta(hours=4), BERLIN) == "22:00-2026-11-30 02:00"
    assert clock(start, PLAIN, BERLIN) == "22:00"


@given(
    day=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
    first=st.integers(0, 95),
    length=st.integers(1, 96),
)
def test_the_frame_expression_says_what_the_function_says(
    day: date, first: int, length: int
) -> None:
    day_start, day_end = day_bounds(day, BERLIN)
    start = day_start + timedelta(minutes=15 * first)
    end = min(start + timedelta(minutes=15 * length), day_end)
    if start >= end:
        return
    frame = pl.DataFrame({"start": [start], "end": [end]})
    text = frame.select(window_expr(pl.col("start"), pl.col("end"), BERLIN)).item()
    assert text == window(start, end, BERLIN)
