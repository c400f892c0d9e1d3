"""auction.archive on the daylight saving days: whole-day products of 23 and 25 hours,
windows on and off the MTU grid of the local day."""

from __future__ import annotations

from pathlib import Path

import pytest

from auction.archive import read_archive
from tests.unit.auction.archive_base import (
    TABLES,
    problems,
    read_rows,
    set_config,
    write_csv,
)

DST_DAYS = [
    # day, its local start and end (end = 24:00 local), first MTU edge after 03:00 local
    ("2026-03-29", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
    ("2026-10-25", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"),
]


def dst_archive(root: Path, day: str, start: str, end: str) -> None:
    set_config(root, delivery_day=day)
    rows = read_rows(root / "products.csv")
    rows = rows[:2]  # only the first product
    rows[1][1:3] = [start, end]
    write_csv(root / "products.csv", rows)
    write_csv(root / "bids.csv", TABLES["bids.csv"][:3])
    write_csv(root / "allocations.csv", TABLES["allocations.csv"][:1])
    write_csv(root / "availability.csv", TABLES["availability.csv"][:1])


@pytest.mark.parametrize(("day", "start", "end"), DST_DAYS)
def test_whole_dst_day_product_is_valid(root: Path, day: str, start: str, end: str) -> None:
    dst_archive(root, day, start, end)
    products = read_archive(root).products
    hours = (products["end"] - products["start"]).dt.total_hours().to_list()
    assert hours == [23 if day.endswith("03-29") else 25]


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        ("2026-03-29", "2026-03-29T03:00:00+02:00", "2026-03-30T00:00:00+02:00"),
        ("2026-10-25", "2026-10-25T02:15:00+01:00", "2026-10-26T00:00:00+01:00"),
        ("2026-10-25", "2026-10-25T02:45:00+02:00", "2026-10-25T02:15:00+01:00"),
    ],
)
def test_dst_day_windows_on_the_grid(root: Path, day: str, start: str, end: str) -> None:
    dst_archive(root, day, start, end)
    read_archive(root)


@pytest.mark.parametrize(
    ("day", "start"),
    [("2026-03-29", "2026-03-29T03:05:00+02:00"), ("2026-10-25", "2026-10-25T02:20:00+01:00")],
)
def test_dst_day_start_off_the_grid(root: Path, day: str, start: str) -> None:
    dst_archive(root, day, start, DST_DAYS[0][2] if day.endswith("03-29") else DST_DAYS[1][2])
    (problem,) = problems(root)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "products.csv",
        1,
        "start",
        start,
    )
    assert "start must be an MTU edge" in problem.rule


def test_window_past_the_end_of_a_short_day(root: Path) -> None:
    dst_archive(root, "2026-03-29", "2026-03-29T00:00:00+01:00", "2026-03-30T00:15:00+02:00")
    (problem,) = problems(root)
    assert (problem.column, problem.value) == ("end", "2026-03-30T00:15:00+02:00")
    assert "end must lie inside the delivery day 2026-03-29" in problem.rule
