"""Balancing products from productDateCode: windows, gates, DST days, and what is refused."""

from __future__ import annotations

from datetime import date, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from auction.errors import DomainError
from auction.timegrid import day_bounds, mtu_count
from dispatch.ancillary.products import GateRules, Product, day_products, parse_product
from tests.strategies import FALL_BACK, SPRING_FORWARD, local

GATES = GateRules()
DAY = date(2026, 12, 1)
EVE = DAY - timedelta(days=1)


def parse(code: str, gates: GateRules = GATES) -> Product:
    return parse_product(code, gates)


def refusal(code: str) -> str:
    """The one problem's rule, after checking where it points."""
    with pytest.raises(DomainError) as caught:
        parse(code)
    [problem] = caught.value.problems
    assert (problem.file, problem.row, problem.column) == (
        "ancillary_bids",
        None,
        "productDateCode",
    )
    assert problem.value == code
    return problem.rule


def test_an_fcr_product_is_four_local_hours_gated_at_eight_the_day_before() -> None:
    p = parse("2026-12-01_NEGPOS_08_12")
    assert (p.code, p.day, p.name) == ("2026-12-01_NEGPOS_08_12", DAY, "NEGPOS_08_12")
    assert (p.market, p.direction, p.block_market) == ("fcr", "NEGPOS", "fcr")
    assert (p.start, p.end) == (local(DAY, 8), local(DAY, 12))
    assert p.gate_closure == local(EVE, 8)
    assert p.is_capacity
    assert p.start.utcoffset() == timedelta(0)


def test_afrr_capacity_products_take_their_direction_and_close_at_nine() -> None:
    pos, neg = parse("2026-12-01_POS_20_24"), parse("2026-12-01_NEG_00_04")
    assert (pos.market, pos.direction, pos.block_market) == ("afrr_capacity", "POS", "afrr_pos")
    assert (neg.market, neg.direction, neg.block_market) == ("afrr_capacity", "NEG", "afrr_neg")
    assert (pos.start, pos.end) == (local(DAY, 20), day_bounds(DAY)[1])
    assert (neg.start, neg.end) == (day_bounds(DAY)[0], local(DAY, 4))
    assert pos.gate_closure == neg.gate_closure == local(EVE, 9)


def test_an_energy_product_is_a_quarter_hour_gated_25_minutes_before_it() -> None:
    first, last = parse("2026-12-01_POS_001"), parse("2026-12-01_NEG_096")
    assert (first.market, first.block_market, first.is_capacity) == (
        "afrr_energy",
        "afrr_pos",
        False,
    )
    assert (first.start, first.end) == (local(DAY, 0), local(DAY, 0, 15))
    assert first.gate_closure == local(EVE, 23, 35)
    assert (last.block_market, last.start, last.end) == (
        "afrr_neg",
        local(DAY, 23, 45),
        local(DAY + timedelta(days=1), 0),
    )
    assert parse("2026-12-01_POS_041").start == local(DAY, 10)


def test_the_gate_rules_are_settings() -> None:
    gates = GateRules(
        fcr_gate=time(7, 30), afrr_capacity_gate=time(10), afrr_energy_gate_minutes=60
    )
    assert parse("2026-12-01_NEGPOS_00_04", gates).gate_closure == local(EVE, 7, 30)
    assert parse("2026-12-01_POS_00_04", gates).gate_closure == local(EVE, 10)
    assert parse("2026-12-01_POS_041", gates).gate_closure == local(DAY, 9)
    utc = GateRules(time_zone="UTC")
    assert parse("2026-12-01_NEGPOS_00_04", utc).start.isoformat() == "2026-12-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "gates",
    [
        {"afrr_energy_gate_minutes": -1},
        {"time_zone": "Europe/Nowhere"},
        {"fcr_gate": time(8, tzinfo=day_bounds(DAY)[0].tzinfo)},
    ],
)
def test_gate_rules_refuse_what_cannot_be_meant(gates: dict[str, object]) -> None:
    with pytest.raises((ValueError, KeyError)):
        GateRules(**gates)  # type: ignore[arg-type]


def test_the_spring_forward_day_has_92_quarter_hours_and_a_3_hour_first_block() -> None:
    day = SPRING_FORWARD
    first = parse("2026-03-29_NEGPOS_00_04")
    assert first.end - first.start == timedelta(hours=3)
    assert (first.start, first.end) == (local(day, 0), local(day, 4))
    assert parse("2026-03-29_NEGPOS_04_08").end - parse(
        "2026-03-29_NEGPOS_04_08"
    ).start == timedelta(hours=4)
    last = parse("2026-03-29_POS_092")
    assert (last.start, last.end) == (local(day, 23, 45), day_bounds(day)[1])
    assert "2026-03-29 has 92 quarter-hours" in refusal("2026-03-29_POS_093")
    assert "POS_001 … POS_092" in refusal("2026-03-29_POS_093")
    # The quarter-hour after 01:45 local is 03:00 local: the clock skips 02:00-03:00.
    assert parse("2026-03-29_NEG_009").start == local(day, 3)


def test_the_fall_back_day_has_100_quarter_hours_and_a_5_hour_first_block() -> None:
    day = FALL_BACK
    first = parse("2026-10-25_NEGPOS_00_04")
    assert first.end - first.start == timedelta(hours=5)
    assert parse("2026-10-25_NEG_100").end == day_bounds(day)[1]
    assert "2026-10-25 has 100 quarter-hours" in refusal("2026-10-25_NEG_101")
    # QHs 9-12 are 02:00-03:00 summer time, 13-16 the same wall-clock hour in winter time.
    assert parse("2026-10-25_POS_013").start - parse("2026-10-25_POS_009").start == timedelta(
        hours=1
    )
    assert len(day_products(day, GATES)) == 18 + 200


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("NEGPOS_00_04", "YYYY-MM-DD_{product}"),
        ("2026-12-01", "YYYY-MM-DD_{product}"),
        ("2026-12-1_POS_001", "YYYY-MM-DD_{product}"),
        (" 2026-12-01_POS_001", "YYYY-MM-DD_{product}"),
        ("2026-02-30_POS_001", "2026-02-30 is not a calendar date"),
        ("2026-13-01_NEGPOS_00_04", "2026-13-01 is not a calendar date"),
        ("2026-12-01_POS_01_05", "'POS_01_05' is not a product"),
        ("2026-12-01_POS_00_08", "'POS_00_08' is not a product"),
        ("2026-12-01_POS_24_28", "'POS_24_28' is not a product"),
        ("2026-12-01_pos_00_04", "'pos_00_04' is not a product"),
        ("2026-12-01_MIXED_00_04", "'MIXED_00_04' is not a product"),
        ("2026-12-01_POS_1", "'POS_1' is not a product"),
        ("2026-12-01_POS_001 ", "'POS_001 ' is not a product"),
        ("2026-12-01_NEGPOS_001", "FCR has no energy products"),
        ("2026-12-01_POS_000", "2026-12-01 has 96 quarter-hours"),
        ("2026-12-01_NEG_097", "NEG_001 … NEG_096"),
        ("9999-12-31_POS_20_24", "out of the range of delivery days"),
    ],
)
def test_a_bad_code_is_refused_saying_what_a_valid_one_looks_like(code: str, says: str) -> None:
    assert says in refusal(code)


def test_a_day_has_6_fcr_12_afrr_capacity_and_2n_energy_products_in_a_fixed_order() -> None:
    products = day_products(DAY, GATES)
    names = [p.name for p in products]
    assert len(products) == 6 + 12 + 2 * 96
    assert names[:7] == [*(f"NEGPOS_{h:02d}_{h + 4:02d}" for h in range(0, 24, 4)), "POS_00_04"]
    assert names[17:20] == ["NEG_20_24", "POS_001", "POS_002"]
    assert names[-1] == "NEG_096"
    assert len({p.code for p in products}) == len(products)
    assert len(day_products(SPRING_FORWARD, GATES)) == 18 + 2 * 92


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@given(days)
@example(SPRING_FORWARD)
@example(FALL_BACK)
def test_the_products_of_any_day_tile_it_and_parse_back(day: date) -> None:
    start, end = day_bounds(day)
    products = day_products(day, GATES)
    for market, direction in [
        ("fcr", "NEGPOS"),
        ("afrr_capacity", "POS"),
        ("afrr_capacity", "NEG"),
        ("afrr_energy", "POS"),
        ("afrr_energy", "NEG"),
    ]:
        group = [p for p in products if (p.market, p.direction) == (market, direction)]
        assert group[0].start == start
        assert group[-1].end == end
        assert all(a.end == b.start for a, b in pairwise(group))
        assert all(p.start < p.end for p in group)
    energy = [p for p in products if p.market == "afrr_energy"]
    assert len(energy) == 2 * mtu_count(day)
    assert all(p.gate_closure == p.start - timedelta(minutes=25) for p in energy)
    assert all(p.end - p.start == timedelta(minutes=15) for p in energy)
    for p in products:
        assert parse(p.code) == p
        if p.is_capacity:
            hour = 8 if p.market == "fcr" else 9
            assert p.gate_closure == local(day - timedelta(days=1), hour)
