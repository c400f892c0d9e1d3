"""A template's day: instants from day rules, product windows on DST days (clip, shift),
and the creation window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auction.archive import check_config
from auction.book import PRODUCTS
from auction.calendar.days import due_days, first_day_after, missed_days
from auction.calendar.template import auction_id, day_times, render, window
from auction.calendar.walltime import parse_day_rule, parse_wall_time, wall_instant
from auction.cells import sheet_from_rows
from auction.errors import Problem
from auction.rules import check_products
from auction.timegrid import day_bounds, mtu_count
from tests.calendar_bodies import template_body, template_product

SPRING = date(2027, 3, 28)  # 23 hours in Europe/Berlin: 02:00-03:00 does not happen
AUTUMN = date(2027, 10, 31)  # 25 hours: 02:00-03:00 happens twice
NORMAL = date(2027, 6, 15)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours(first: datetime, last: datetime) -> float:
    return (last - first) / timedelta(hours=1)


def test_day_rules_name_berlin_wall_times_days_before_delivery() -> None:
    times = day_times(template_body(), NORMAL)
    assert times.gate_open == utc(2027, 6, 8, 7)  # D-7 09:00 CEST
    assert times.create_at == times.gate_open  # no create_at: created when it opens
    assert times.gate_close == utc(2027, 6, 13, 13)
    assert times.publish_at == utc(2027, 6, 13, 15)
    winter = day_times(template_body(), date(2027, 1, 15))
    assert winter.gate_close == utc(2027, 1, 13, 14)  # CET


@pytest.mark.parametrize("text", ["D-7", "D+1 09:00", "D-7 24:00", "D-61 09:00", "d-1 09:00", ""])
def test_a_day_rule_has_one_form(text: str) -> None:
    with pytest.raises(ValueError, match="day rule"):
        parse_day_rule(text)


@pytest.mark.parametrize("text", ["24:01", "9:00", "12:60", "noon"])
def test_a_wall_time_has_one_form(text: str) -> None:
    with pytest.raises(ValueError, match="wall time"):
        parse_wall_time(text)


def test_a_skipped_time_is_the_end_of_the_gap_and_a_repeated_one_its_first_occurrence() -> None:
    assert wall_instant(SPRING, time(2, 30), "Europe/Berlin") == utc(2027, 3, 28, 1)  # 03:00 CEST
    assert wall_instant(AUTUMN, time(2, 30), "Europe/Berlin") == utc(2027, 10, 31, 0, 30)  # CEST


def test_clip_on_the_spring_day_the_window_over_the_gap_loses_an_hour() -> None:
    rendered = render(template_body(), "daily", SPRING)
    windows = {p["product_id"]: (p["start"], p["end"]) for p in rendered.products}
    assert windows["DAY"] == ("2027-03-27T23:00:00Z", "2027-03-28T22:00:00Z")  # 23 h
    assert windows["NIGHT"] == ("2027-03-27T23:00:00Z", "2027-03-28T04:00:00Z")  # 5 h
    assert windows["MORNING"] == ("2027-03-28T04:00:00Z", "2027-03-28T10:00:00Z")
    assert rendered.dropped == ()
    assert rendered.auction["auction_id"] == auction_id("daily", SPRING) == "daily-2027-03-28"


def test_clip_drops_a_product_wholly_inside_the_skipped_hour_with_its_allocations() -> None:
    body = template_body(
        products=[
            template_product("GAP", "02:00", "03:00"),
            template_product("DAY", "00:00", "24:00"),
        ],
        allocations=[{"org_id": "o", "product_id": "GAP", "quantity_mw": "1"}],
    )
    rendered = render(body, "daily", SPRING)
    assert [p["product_id"] for p in rendered.products] == ["DAY"]
    assert rendered.dropped == ("GAP",)
    assert rendered.allocations == []
    # On the autumn day the same hour happens twice: the product holds both.
    autumn = render(body, "daily", AUTUMN)
    gap = autumn.products[0]
    assert (gap["start"], gap["end"]) == ("2027-10-31T00:00:00Z", "2027-10-31T02:00:00Z")


def test_clip_on_the_autumn_day_the_window_over_the_repeat_gains_an_hour() -> None:
    first, last = window(template_body(), AUTUMN, "00:00", "06:00")
    assert hours(first, last) == 7
    first, last = window(template_body(), AUTUMN, "00:00", "24:00")
    assert hours(first, last) == 25


def test_shift_keeps_every_window_six_hours_and_clips_it_to_the_day() -> None:
    body = template_body(dst="shift")
    first, last = window(body, SPRING, "00:00", "06:00")
    assert (first, last) == (utc(2027, 3, 27, 23), utc(2027, 3, 28, 5))  # 00:00-07:00 CEST
    first, last = window(body, AUTUMN, "00:00", "06:00")
    assert (first, last) == (utc(2027, 10, 30, 22), utc(2027, 10, 31, 4))  # 00:00-05:00 CET
    first, last = window(body, SPRING, "18:00", "24:00")
    assert last == day_bounds(SPRING)[1]  # clipped to the 23-hour day
    assert hours(first, last) == 6


def test_the_creation_window_runs_from_create_at_to_the_gate() -> None:
    body = template_body()
    first = date(2027, 6, 1)
    # 2027-06-08 09:30 Berlin: days up to D+7 (2027-06-15) opened at 09:00, gates of days
    # after 2027-06-10 (closing 2027-06-08 15:00) still open.
    now = utc(2027, 6, 8, 7, 30)
    assert due_days(body, first, now) == [date(2027, 6, d) for d in range(10, 16)]
    assert missed_days(body, first, now) == [date(2027, 6, d) for d in range(1, 10)]
    assert first_day_after(body, now) == date(2027, 6, 16)


days = st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 31))
wall = st.integers(0, 96).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}")


@given(
    days,
    st.lists(st.tuples(wall, wall), min_size=1, max_size=6),
    st.sampled_from(["clip", "shift"]),
)
def test_every_window_lies_on_the_grid_inside_the_day(
    day: date, walls: list[tuple[str, str]], dst: str
) -> None:
    """For any day of 2026-2030 and any windows, every product kept lies in the day on
    its quarter-hour grid; the day has 92, 96 or 100 of them."""
    products = [template_product(f"P{i}", min(a, b), max(a, b)) for i, (a, b) in enumerate(walls)]
    rendered = render(template_body(products=products, dst=dst), "t", day)
    start, end = day_bounds(day)
    assert mtu_count(day) in (92, 96, 100)
    for p in rendered.products:
        first, last = datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"])
        assert start <= first < last <= end
        assert (first - start) % timedelta(minutes=15) == timedelta(0)
        assert (last - start) % timedelta(minutes=15) == timedelta(0)
    assert len(rendered.products) + len(rendered.dropped) == len(products)
    # A day-long product holds exactly the day's quarter-hours, whatever the mode.
    whole = render(template_body(dst=dst), "t", day).products[0]
    assert whole["product_id"] == "DAY"
    length = datetime.fromisoformat(whole["end"]) - datetime.fromisoformat(whole["start"])
    assert length // timedelta(minutes=15) == mtu_count(day)


@given(days, st.sampled_from(["clip", "shift"]))
def test_every_day_s_auction_passes_the_rules_of_an_auction(day: date, dst: str) -> None:
    """For any day of 2026-2030, the auction a template makes passes auction.json's and
    products.csv's checks (those of POST /auctions), its gates in order."""
    rendered = render(template_body(dst=dst), "daily", day)
    problems: list[Problem] = []
    config = check_config(
        {k: v for k, v in rendered.auction.items() if v is not None}, problems, "auction"
    )
    assert problems == []
    sheet = sheet_from_rows("products", rendered.products, PRODUCTS.names())
    frame = check_products(sheet, config)
    assert sheet.problems == []
    assert frame is not None
    assert frame.height == 5
    assert config is not None
    assert config.gate_open is not None
    assert config.gate_open < config.gate_close <= config.publish_at  # type: ignore[operator]
