"""Ancillary lines: revenue of accepted FCR/aFRR bids and credits for undelivered reserve,
by hand to the unit (1e-5 EUR) and against a Fraction reckoning of the rules (the base:
ancillary_base.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from dispatch.ancillary.products import day_products
from settlement.invoices import LINES, kind_totals, reconcile
from tests.strategies import FALL_BACK, MTU, NORMAL_DAY, SPRING_FORWARD
from tests.unit.settlement.ancillary_base import (
    GATES,
    Row,
    at,
    bid,
    block,
    gone,
    lines_of,
    rows,
)

# --------------------------------------------------------------------------- revenue


def test_fcr_capacity_is_accepted_mw_times_price_times_hours_exactly() -> None:
    # 2 MW × 12.50 EUR/MW/h × 4 h = 100.00 EUR = 2,000 kW × 1,250 cents × 4 units.
    lines = lines_of([bid("x1", "2026-11-29_NEGPOS_00_04", 2_000, 1_250)])
    assert lines.schema == LINES
    assert lines.to_dicts() == [
        {
            "auction_id": "t1",
            "org_id": "A",
            "kind": "ancillary_revenue",
            "virtual_asset_id": "v1",
            "bid_id": "x1",
            "product_id": "2026-11-29_NEGPOS_00_04",
            "start": at(0),
            "end": at(4),
            "description": "Ancillary revenue of FCR NEGPOS_00_04, 00:00-04:00: "
            "2 MW at 12.50 EUR/MW/h for 4 h",
            "quantity": "2",
            "unit": "MW",
            "unit_price_eur": "12.50",
            "amount_units": -10_000_000,
        }
    ]


@pytest.mark.parametrize(("day", "hours"), [(SPRING_FORWARD, 3), (NORMAL_DAY, 4), (FALL_BACK, 5)])
def test_the_first_block_of_a_dst_day_pays_its_wall_clock_hours(day: date, hours: int) -> None:
    # 2 MW × 12.50 EUR/MW/h: 25 EUR an hour; 00:00-04:00 lasts 3, 4 or 5 hours.
    code = f"{day.isoformat()}_NEGPOS_00_04"
    blocks = [block("f1", "fcr", 5_000, at(0, day=day), at(8, day=day))]
    lines = lines_of([bid("x1", code, 2_000, 1_250)], blocks)
    assert rows(lines) == [
        (
            "ancillary_revenue",
            f"Ancillary revenue of FCR NEGPOS_00_04, 00:00-04:00: "
            f"2 MW at 12.50 EUR/MW/h for {hours} h",
            -2_500_000 * hours,
        )
    ]
    assert lines["end"][0] - lines["start"][0] == timedelta(hours=hours)


def test_an_energy_quarter_hour_is_a_quarter_of_mw_times_price_rounded_half_even() -> None:
    lines = lines_of(
        [
            # 2 MW × 0.25 h = 0.5 MWh × 80.00 EUR/MWh = 40 EUR: exact for whole MW.
            bid("e1", "2026-11-29_POS_017", 2_000, 8_000, "p1"),
            # 1,001 kW × 1,002 cents / 4 = 250,750.5 units -> 250,750 (down to even).
            bid("e2", "2026-11-29_POS_018", 1_001, 1_002, "p1"),
            # 1,001 kW × 1,006 cents / 4 = 251,751.5 units -> 251,752 (up to even).
            bid("e3", "2026-11-29_NEG_019", 1_001, 1_006, "n1"),
        ]
    )
    # By product code: NEG before POS.
    assert rows(lines, "bid_id", "description", "quantity", "unit", "amount_units") == [
        (
            "e3",
            "Ancillary revenue of aFRR energy NEG_019, 04:30-04:45: "
            "1.001 MW for 0.25 h = 0.25025 MWh at 10.06 EUR/MWh",
            "0.25025",
            "MWh",
            -251_752,
        ),
        (
            "e1",
            "Ancillary revenue of aFRR energy POS_017, 04:00-04:15: "
            "2 MW for 0.25 h = 0.5 MWh at 80.00 EUR/MWh",
            "0.5",
            "MWh",
            -4_000_000,
        ),
        (
            "e2",
            "Ancillary revenue of aFRR energy POS_018, 04:15-04:30: "
            "1.001 MW for 0.25 h = 0.25025 MWh at 10.02 EUR/MWh",
            "0.25025",
            "MWh",
            -250_750,
        ),
    ]


def test_a_negative_price_flips_the_sign_the_owner_pays() -> None:
    lines = lines_of(
        [
            # 3 MW × -5.00 EUR/MW/h × 4 h = -60 EUR: the owner pays 60 EUR.
            bid("c1", "2026-11-29_NEG_04_08", 3_000, -500, "n1"),
            # 1,001 kW × -1,002 cents / 4 = -250,750.5 -> -250,750 (half-even is symmetric).
            bid("e1", "2026-11-29_POS_017", 1_001, -1_002, "p1"),
        ]
    )
    got = {b: (d, a) for b, d, a in rows(lines, "bid_id", "description", "amount_units")}
    assert got == {
        "c1": (
            "Ancillary revenue of aFRR capacity NEG_04_08, 04:00-08:00: "
            "3 MW at -5.00 EUR/MW/h for 4 h (a negative price: you pay)",
            6_000_000,
        ),
        "e1": (
            "Ancillary revenue of aFRR energy POS_017, 04:00-04:15: "
            "1.001 MW for 0.25 h = 0.25025 MWh at -10.02 EUR/MWh (a negative price: you pay)",
            250_750,
        ),
    }
    assert reconcile(lines, 0) == []


def test_only_bids_with_accepted_kw_give_lines() -> None:
    lines = lines_of(
        [
            bid("x1", "2026-11-29_NEGPOS_00_04", 0, 1_250, status="rejected"),
            bid("x2", "2026-11-29_NEGPOS_04_08", 1_000, 1_000) | {"accepted_kw": None},
            bid("x3", "2026-11-29_POS_00_04", 1_000, 0, "p1", status="partially_accepted"),
        ]
    )
    # A price of 0 still shows: the owner sees what was accepted.
    assert rows(lines, "bid_id", "amount_units") == [("x3", 0)]


# --------------------------------------------------------------------------- credits


def test_an_outage_over_part_of_the_window_takes_back_the_undelivered_share() -> None:
    """2 MW of FCR accepted on a 5 MW block, 100 EUR over 16 MTUs (00:00-04:00).

    01:00-02:00 (two stretches alike): 4,000 kW lost, 1,000 kW kept: 1,000 kW undelivered
    for 4 MTUs: 100 × 1,000 × 4 / (2,000 × 16) = 12.50 EUR. 02:00-02:30: the whole block
    lost: 2,000 kW for 2 MTUs: 12.50 EUR. 03:00-03:10 (off the grid: its whole MTU):
    3,000 kW lost, 2,000 kW kept: all delivered. 05:00-06:00 is outside the window.
    """
    lost = [
        gone("f1", at(1), at(1, 30), 4_000),
        gone("f1", at(1, 30), at(2), 4_000),
        gone("f1", at(2), at(2, 30), 5_000),
        gone("f1", at(3), at(3, 10), 3_000),
        gone("f1", at(5), at(6), 5_000),
    ]
    lines = lines_of([bid("x1", "2026-11-29_NEGPOS_00_04", 2_000, 1_250)], lost=lost)
    assert rows(lines, "kind", "start", "end", "description", "amount_units") == [
        (
            "ancillary_revenue",
            at(0),
            at(4),
            "Ancillary revenue of FCR NEGPOS_00_04, 00:00-04:00: 2 MW at 12.50 EUR/MW/h for 4 h",
            -10_000_000,
        ),
        (
            "ancillary_credit",
            at(1),
            at(2),
            "Reserve not delivered 01:00-02:00 of FCR NEGPOS_00_04, 00:00-04:00: 1,000 of the "
            "2,000 kW accepted (4,000 kW of the 5,000 kW FCR block lost), 4/16 of the window",
            1_250_000,
        ),
        (
            "ancillary_credit",
            at(2),
            at(2, 30),
            "Reserve not delivered 02:00-02:30 of FCR NEGPOS_00_04, 00:00-04:00: 2,000 of the "
            "2,000 kW accepted (5,000 kW of the 5,000 kW FCR block lost), 2/16 of the window",
            1_250_000,
        ),
    ]
    assert reconcile(lines, 0) == []
    assert kind_totals(lines)["ancillary_credit"] == 2_500_000


def test_an_outage_across_two_products_credits_each_within_its_own_window() -> None:
    # 03:00-05:00, 4,500 kW of the 5 MW block lost: 500 kW kept of 1 MW accepted in each.
    # 00_04: 40 EUR × 500 × 4 / (1,000 × 16) = 5 EUR; 04_08: 60 EUR × 500 × 4 / 16,000 = 7.50.
    lines = lines_of(
        [
            bid("x1", "2026-11-29_NEGPOS_00_04", 1_000, 1_000),
            bid("x2", "2026-11-29_NEGPOS_04_08", 1_000, 1_500),
        ],
        lost=[gone("f1", at(3), at(5), 4_500)],
    )
    credits = lines.filter(pl.col("kind") == "ancillary_credit")
    assert rows(credits, "bid_id", "start", "end", "amount_units") == [
        ("x1", at(3), at(4), 500_000),
        ("x2", at(4), at(5), 750_000),
    ]


def test_an_energy_quarter_hour_on_an_hourly_grid_counts_the_mtu_it_touches() -> None:
    # 60-minute MTUs: a loss at 04:50 touches the MTU 04:00-05:00, hence POS_017 (04:00-04:15)
    # whole: 1,000 of 2,000 kW undelivered, half of its 40 EUR back; the line keeps to its window.
    lines = lines_of(
        [bid("e1", "2026-11-29_POS_017", 2_000, 8_000, "p1")],
        lost=[gone("p1", at(4, 50), at(5), 4_000)],
        mtu_minutes=60,
    )
    assert rows(lines, "kind", "start", "end", "amount_units") == [
        ("ancillary_revenue", at(4), at(4, 15), -4_000_000),
        ("ancillary_credit", at(4), at(4, 15), 2_000_000),
    ]


def test_a_bid_at_a_price_of_zero_or_below_gets_no_credit() -> None:
    lines = lines_of(
        [
            bid("c1", "2026-11-29_NEG_04_08", 3_000, -500, "n1"),
            bid("c2", "2026-11-29_POS_04_08", 3_000, 0, "p1"),
        ],
        lost=[gone("n1", at(4), at(8), 5_000), gone("p1", at(4), at(8), 5_000)],
    )
    assert set(lines["kind"]) == {"ancillary_revenue"}


def test_rounded_credits_never_exceed_the_revenue() -> None:
    """7 kW of FCR at 0.01 EUR/MW/h over 4 h: 28 units, all of it undelivered but 1 kW in
    one MTU. Rounded alone the three runs give 3.5 -> 4, 1.5 -> 2 and 22.75 -> 23: 29
    units, one more than the revenue; the largest line gives it up."""
    blocks = [block("f1", "fcr", 7, at(0), at(8))]
    lost = [
        gone("f1", at(0), at(0, 30), 7),
        gone("f1", at(0, 30), at(0, 45), 6),
        gone("f1", at(0, 45), at(4), 7),
    ]
    lines = lines_of([bid("x1", "2026-11-29_NEGPOS_00_04", 7, 1)], blocks, lost)
    assert rows(lines, "kind", "start", "end", "amount_units") == [
        ("ancillary_revenue", at(0), at(4), -28),
        ("ancillary_credit", at(0), at(0, 30), 4),
        ("ancillary_credit", at(0, 30), at(0, 45), 2),
        ("ancillary_credit", at(0, 45), at(4), 22),
    ]
    assert lines["amount_units"].sum() == 0


# --------------------------------------------------------------------------- properties

DAYS = (NORMAL_DAY, SPRING_FORWARD, FALL_BACK)
PRODUCTS = {day: day_products(day, GATES) for day in DAYS}


@st.composite
def settlements(draw: st.DrawFn) -> dict[str, Any]:
    """1-5 accepted bids of any product of a normal or DST day, each on a block of its
    market reaching a few MTUs around its window, with stretches lost anywhere near it
    (off the grid too, beyond the block's power too). Any kW and any price in range."""
    bids, blocks, lost = [], [], []
    day = draw(st.sampled_from(DAYS))
    for i in range(draw(st.integers(1, 5))):
        p = draw(st.sampled_from(PRODUCTS[day]))
        start = p.start - draw(st.integers(0, 4)) * MTU
        end = p.end + draw(st.integers(0, 4)) * MTU
        power = draw(st.integers(1, 30_000))
        block_id = f"b{i}"
        blocks.append(block(block_id, p.block_market, power, start, end, va=f"v{i % 3}"))
        kw = draw(st.integers(1, power))
        cents = draw(st.integers(-1_500_000, 1_500_000))
        row = bid(f"x{i}", p.code, kw, cents, block_id, va=f"v{i % 3}", org=f"o{i % 2}")
        bids.append(row)
        for _ in range(draw(st.integers(0, 4))):
            lo = start + timedelta(minutes=draw(st.integers(-30, (end - start) // MTU * 15)))
            hi = lo + timedelta(minutes=draw(st.integers(1, 120)))
            lost.append(gone(block_id, lo, hi, draw(st.integers(1, power + 100))))
    return {"bids": bids, "blocks": blocks, "lost": lost}


Run = tuple[datetime, datetime, int]  # start, end, undelivered kW


def reckoned(case: dict[str, Any], row: Row) -> tuple[int, list[Run]]:
    """A bid's revenue and its runs of MTUs alike with undelivered reserve, MTU by MTU."""
    minutes = (row["end"] - row["start"]) // timedelta(minutes=1)
    # round() of a Fraction is half-even.
    revenue = round(Fraction(row["accepted_kw"] * row["accepted_price_cents"] * minutes, 60))
    [blk] = [b for b in case["blocks"] if b["block_id"] == row["block_id"]]
    runs: list[Run] = []
    for k in range((row["end"] - row["start"]) // MTU):
        lo, hi = row["start"] + k * MTU, row["start"] + (k + 1) * MTU
        lost_kw = max(
            (
                min(s["lost_kw"], blk["power_kw"])
                for s in case["lost"]
                if s["block_id"] == blk["block_id"] and s["start"] < hi and lo < s["end"]
            ),
            default=0,
        )
        undelivered = max(0, row["accepted_kw"] - (blk["power_kw"] - lost_kw))
        if undelivered == 0 or revenue <= 0:
            continue
        if runs and runs[-1][1] == lo and runs[-1][2] == undelivered:
            runs[-1] = (runs[-1][0], hi, undelivered)
        else:
            runs.append((lo, hi, undelivered))
    return revenue, runs


@given(settlements())
def test_lines_per_bid_are_the_revenue_less_what_was_not_delivered(case: dict[str, Any]) -> None:
    note(repr(case))
    lines = lines_of(case["bids"], case["blocks"], case["lost"])
    assert reconcile(lines, 0) == []
    for row in case["bids"]:
        mine = lines.filter(pl.col("bid_id") == row["bid_id"])
        assert set(mine["org_id"]) == {row["org_id"]}
        revenue, runs = reckoned(case, row)
        [line] = mine.filter(pl.col("kind") == "ancillary_revenue")["amount_units"]
        assert line == -revenue
        credits = mine.filter(pl.col("kind") == "ancillary_credit")
        taken = int(credits["amount_units"].sum())
        assert mine.height == 1 + credits.height
        assert mine["amount_units"].sum() == -revenue + taken
        assert (credits["amount_units"] >= 0).all()
        assert taken <= max(revenue, 0)
        window = (row["end"] - row["start"]) // MTU
        rounded = [
            round(Fraction(revenue * u * ((hi - lo) // MTU), row["accepted_kw"] * window))
            for lo, hi, u in runs
        ]
        assert credits.select("start", "end").rows() == [(lo, hi) for lo, hi, _ in runs]
        if sum(rounded) <= max(revenue, 0):
            assert credits["amount_units"].to_list() == rounded
        else:  # rounding alone went over: the excess comes off, all of the revenue back
            assert taken == revenue


@given(settlements(), st.randoms(use_true_random=False))
def test_lines_do_not_depend_on_the_order_of_the_frames(case: dict[str, Any], rnd: Any) -> None:
    lines = lines_of(case["bids"], case["blocks"], case["lost"])
    shuffled = {k: rnd.sample(v, len(v)) for k, v in case.items()}
    assert lines_of(shuffled["bids"], shuffled["blocks"], shuffled["lost"]).equals(lines)
