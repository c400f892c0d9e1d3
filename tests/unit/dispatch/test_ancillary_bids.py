"""Ancillary bid rules, one at a time and together; gates to the second; outages."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auction.errors import Conflict, DomainError
from auction.timegrid import day_bounds, mtu_count
from dispatch.ancillary.bids import (
    AncillaryBidIn,
    CheckedBid,
    ReserveBlock,
    check_bids,
    gate_passed,
)
from dispatch.ancillary.products import GateRules, parse_product
from tests.strategies import BERLIN, FALL_BACK, SPRING_FORWARD, local

GATES = GateRules()
DAY = date(2026, 12, 1)
NOW = local(DAY - timedelta(days=2), 12)  # before every gate of DAY
EARLY = local(date(2026, 1, 1), 0)  # before every gate of 2026's DST days
MTU = timedelta(minutes=15)


def block(
    block_id: str,
    market: str,
    power_kw: int = 5000,
    start: datetime | None = None,
    end: datetime | None = None,
    lost: dict[datetime, int] | None = None,
) -> ReserveBlock:
    """A block of ``DAY`` (all of it unless told), with ``lost`` kW from given MTU starts."""
    start = start or day_bounds(DAY)[0]
    end = end or day_bounds(DAY)[1]
    lost_kw = None
    if lost:
        lost_kw = tuple(lost.get(start + k * MTU, 0) for k in range((end - start) // MTU))
    return ReserveBlock(block_id, market, power_kw, start, end, 15, lost_kw)


# FCR only 04:00-16:00; aFRR POS all day; aFRR NEG 08:00-20:00; a wholesale block all day.
BLOCKS = [
    block("b-fcr", "fcr", start=local(DAY, 4), end=local(DAY, 16)),
    block("b-pos", "afrr_pos"),
    block("b-neg", "afrr_neg", start=local(DAY, 8), end=local(DAY, 20)),
    block("b-whole", "wholesale", power_kw=20_000),
]
FCR = AncillaryBidIn("2026-12-01_NEGPOS_08_12", 3000, 1234, None)
AFRR_CAPACITY = AncillaryBidIn("2026-12-01_POS_08_12", 2000, 500, 8000)
AFRR_ENERGY = AncillaryBidIn("2026-12-01_NEG_040", 1000, None, -5000)


def local_text(instant: datetime) -> str:
    return instant.astimezone(BERLIN).isoformat()


def check(
    bids: list[AncillaryBidIn], blocks: list[ReserveBlock] = BLOCKS, now: datetime = NOW
) -> list[CheckedBid]:
    return check_bids(bids, blocks, now, GATES)


def problems(
    bids: list[AncillaryBidIn], blocks: list[ReserveBlock] = BLOCKS, now: datetime = NOW
) -> list[tuple[int | None, str | None]]:
    with pytest.raises(DomainError) as caught:
        check(bids, blocks, now)
    assert all(p.file == "ancillary_bids" for p in caught.value.problems)
    return [(p.row, p.column) for p in caught.value.problems]


def rules(
    bids: list[AncillaryBidIn], blocks: list[ReserveBlock] = BLOCKS, now: datetime = NOW
) -> list[str]:
    with pytest.raises(DomainError) as caught:
        check(bids, blocks, now)
    return [p.rule for p in caught.value.problems]


def test_valid_bids_come_back_with_their_products_and_blocks() -> None:
    checked = check([FCR, AFRR_CAPACITY, AFRR_ENERGY])
    assert [c.bid for c in checked] == [FCR, AFRR_CAPACITY, AFRR_ENERGY]
    assert [c.block_id for c in checked] == ["b-fcr", "b-pos", "b-neg"]
    assert [c.product.market for c in checked] == ["fcr", "afrr_capacity", "afrr_energy"]
    assert checked[2].product == parse_product(AFRR_ENERGY.product_code, GATES)
    assert check([]) == []


def test_the_edges_of_every_rule_are_accepted() -> None:
    edges = [
        replace(FCR, offered_kw=5000, capacity_price_cents=-1_500_000),  # the block's power
        replace(AFRR_CAPACITY, capacity_price_cents=1_500_000, energy_price_cents=None),
        replace(AFRR_ENERGY, energy_price_cents=-1_500_000),
        AncillaryBidIn("2026-12-01_NEGPOS_04_08", 1000, 0, None),  # starts with the block
        AncillaryBidIn("2026-12-01_NEGPOS_12_16", 1000, 1, None),  # ends with it
        AncillaryBidIn("2026-12-01_NEG_080", 1000, None, 1_500_000),  # the NEG block's last QH
    ]
    assert len(check(edges)) == len(edges)


@pytest.mark.parametrize(
    ("broken", "column"),
    [
        (replace(AFRR_CAPACITY, product_code="2026-12-01_POS_01_05"), "productDateCode"),
        (replace(AFRR_CAPACITY, product_code="2026-02-30_POS_00_04"), "productDateCode"),
        (replace(AFRR_ENERGY, product_code="2026-12-01_NEG_097"), "productDateCode"),
        (replace(AFRR_CAPACITY, offered_kw=1500), "offeredCapacity"),
        (replace(AFRR_CAPACITY, offered_kw=0), "offeredCapacity"),
        (replace(AFRR_CAPACITY, offered_kw=-1000), "offeredCapacity"),
        (replace(AFRR_CAPACITY, offered_kw=999), "offeredCapacity"),
        (replace(FCR, capacity_price_cents=None), "capacityPrice"),
        (replace(FCR, energy_price_cents=100), "energyPrice"),
        (replace(AFRR_CAPACITY, capacity_price_cents=None), "capacityPrice"),
        (replace(AFRR_ENERGY, energy_price_cents=None), "energyPrice"),
        (replace(AFRR_ENERGY, capacity_price_cents=100), "capacityPrice"),
        (replace(FCR, capacity_price_cents=1_500_001), "capacityPrice"),
        (replace(AFRR_CAPACITY, capacity_price_cents=-1_500_001), "capacityPrice"),
        (replace(AFRR_CAPACITY, energy_price_cents=1_500_001), "energyPrice"),
        (replace(AFRR_ENERGY, energy_price_cents=-1_500_001), "energyPrice"),
        (replace(FCR, product_code="2026-12-01_NEGPOS_16_20"), "productDateCode"),  # no block
        (replace(AFRR_ENERGY, product_code="2026-12-01_NEG_032"), "productDateCode"),  # 07:45
        (replace(FCR, product_code="2026-12-02_NEGPOS_08_12"), "productDateCode"),  # next day
        (replace(FCR, offered_kw=6000), "offeredCapacity"),
        (replace(AFRR_ENERGY, offered_kw=6000), "offeredCapacity"),
    ],
)
def test_each_rule_alone_gives_exactly_its_problem(broken: AncillaryBidIn, column: str) -> None:
    valid = FCR if broken.product_code != FCR.product_code else AFRR_ENERGY
    assert problems([valid, broken]) == [(2, column)]
    assert problems([broken, valid]) == [(1, column)]


def test_a_second_bid_for_the_same_product_is_the_problem() -> None:
    assert problems([FCR, AFRR_ENERGY, replace(FCR, offered_kw=1000)]) == [(3, "productDateCode")]
    [rule] = rules([FCR, FCR])
    assert rule == "one bid per product: bid 1 already offers 2026-12-01_NEGPOS_08_12"


def test_the_rules_name_what_is_wrong() -> None:
    [no_block] = rules([replace(FCR, product_code="2026-12-01_NEGPOS_16_20")])
    assert "no fcr reserve block" in no_block
    assert "2026-12-01T16:00:00+01:00 to 2026-12-01T20:00:00+01:00" in no_block
    [too_much] = rules([replace(FCR, offered_kw=6000)])
    assert "5,000 kW in the MTU starting 2026-12-01T08:00:00+01:00" in too_much
    [price] = rules([replace(FCR, capacity_price_cents=-1_500_001)])
    assert price == "capacityPrice must lie within -15000 … 15000 EUR/MW/h"
    with pytest.raises(DomainError) as caught:
        check([replace(AFRR_ENERGY, energy_price_cents=2_000_050)])
    assert caught.value.problems[0].value == "20000.5"


def test_wholesale_blocks_never_carry_a_bid() -> None:
    wholesale_only = [block("b-whole", "wholesale", power_kw=20_000)]
    for bid in (FCR, AFRR_CAPACITY, AFRR_ENERGY):
        assert problems([bid], wholesale_only) == [(1, "productDateCode")]
    [rule] = rules([AFRR_CAPACITY], wholesale_only)
    assert "no afrr_pos reserve block" in rule
    assert "POS products draw on afrr_pos blocks" in rule


def test_every_problem_of_every_bid_is_reported() -> None:
    broken = [
        AncillaryBidIn("2026-12-01_NEGPOS_08_12", 1500, None, 100),
        AncillaryBidIn("2026-12-01_NEGPOS_00_04", 1000, 100, None),
        AncillaryBidIn("nonsense", 0, 2_000_000, None),
        FCR,
        AncillaryBidIn("2026-12-01_POS_041", 7000, 100, None),
    ]
    assert problems(broken) == [
        (3, "productDateCode"),
        (1, "offeredCapacity"),
        (1, "capacityPrice"),
        (1, "energyPrice"),
        (2, "productDateCode"),
        (3, "offeredCapacity"),
        (3, "capacityPrice"),
        (4, "productDateCode"),
        (5, "energyPrice"),
        (5, "capacityPrice"),
        (5, "offeredCapacity"),
    ]


# --------------------------------------------------------------------------- gates


@pytest.mark.parametrize(
    ("bid", "gate"),
    [
        (FCR, local(DAY - timedelta(days=1), 8)),
        (AFRR_CAPACITY, local(DAY - timedelta(days=1), 9)),
        (AFRR_ENERGY, local(DAY, 9, 20)),  # NEG_040 starts at 09:45
    ],
)
def test_a_gate_closes_to_the_second(bid: AncillaryBidIn, gate: datetime) -> None:
    product = parse_product(bid.product_code, GATES)
    assert product.gate_closure == gate
    second = timedelta(seconds=1)
    assert not gate_passed(product, gate - second)
    assert gate_passed(product, gate)
    assert len(check([bid], now=gate - second)) == 1
    with pytest.raises(Conflict) as caught:
        check([bid], now=gate)
    assert caught.value.facts["gate_closure"] == gate
    assert caught.value.facts["product_date_code"] == bid.product_code
    assert bid.product_code in str(caught.value)
    assert local_text(gate) in str(caught.value)


def test_a_closed_gate_comes_before_the_other_rules() -> None:
    now = local(DAY - timedelta(days=1), 8, 30)  # FCR closed, aFRR capacity still open
    late_and_broken = [replace(AFRR_CAPACITY, offered_kw=1500), replace(FCR, offered_kw=1500)]
    with pytest.raises(Conflict) as caught:
        check(late_and_broken, now=now)
    assert caught.value.facts["product_date_code"] == FCR.product_code
    assert problems([replace(AFRR_CAPACITY, offered_kw=1500)], now=now) == [(1, "offeredCapacity")]
    two_late = [FCR, replace(FCR, product_code="2026-12-01_NEGPOS_12_16"), AFRR_CAPACITY]
    with pytest.raises(Conflict, match="1 more bids of the request are past their gates"):
        check(two_late, now=now)


# --------------------------------------------------------------------------- outages


def test_an_outage_lowers_the_limit_in_the_mtus_it_took() -> None:
    hit = block(
        "b-fcr", "fcr", start=local(DAY, 4), end=local(DAY, 16), lost={local(DAY, 9, 15): 2000}
    )
    assert len(check([replace(FCR, offered_kw=3000)], [hit])) == 1
    [rule] = rules([replace(FCR, offered_kw=4000)], [hit])
    assert "3,000 kW in the MTU starting 2026-12-01T09:15:00+01:00" in rule
    assert "(2,000 kW of its 5,000 kW are out)" in rule
    # Outside the product's window the outage does not count.
    later = replace(FCR, product_code="2026-12-01_NEGPOS_12_16", offered_kw=5000)
    assert len(check([later], [hit])) == 1


def test_of_two_covering_blocks_the_one_that_can_give_most_carries_the_bid() -> None:
    hit = block("b-hit", "afrr_pos", lost={local(DAY, 10): 4000})
    whole = block("b-whole-pos", "afrr_pos", power_kw=3000)
    [checked] = check([replace(AFRR_CAPACITY, offered_kw=3000)], [hit, whole])
    assert checked.block_id == "b-whole-pos"
    [rule] = rules([replace(AFRR_CAPACITY, offered_kw=4000)], [hit, whole])
    assert "block b-whole-pos" in rule


def test_dst_days_draw_on_their_own_mtus() -> None:
    fall = FALL_BACK
    start, end = day_bounds(fall)
    # The second 02:00 local (winter time) is MTU 12 of the 100-MTU day.
    second_two = start + 12 * MTU
    bid = AncillaryBidIn("2026-10-25_NEGPOS_00_04", 5000, 100, None)
    for k, shown in [(12, "2026-10-25T02:00:00+01:00"), (19, "2026-10-25T03:45:00+01:00")]:
        lost = tuple(1000 if j == k else 0 for j in range(100))
        fcr = ReserveBlock("b", "fcr", 5000, start, end, 15, lost)
        [rule] = rules([bid], [fcr], now=EARLY)
        assert f"4,000 kW in the MTU starting {shown}" in rule
    assert local_text(second_two) == "2026-10-25T02:00:00+01:00"
    # The 5-hour product ends with the 20th MTU: an outage in the 21st does not touch it.
    after = ReserveBlock(
        "b", "fcr", 5000, start, end, 15, tuple(1000 if j == 20 else 0 for j in range(100))
    )
    assert len(check([bid], [after], now=EARLY)) == 1
    spring_start, spring_end = day_bounds(SPRING_FORWARD)
    pos = ReserveBlock("p", "afrr_pos", 2000, spring_start, spring_end, 15, None)
    last = AncillaryBidIn("2026-03-29_POS_092", 2000, None, 100)
    assert check([last], [pos], now=EARLY)[0].block_id == "p"
    assert mtu_count(SPRING_FORWARD) == 92


@given(
    lost=st.lists(st.integers(0, 5000), min_size=16, max_size=16),
    offered_mw=st.integers(1, 6),
)
def test_a_bid_fits_iff_it_fits_every_mtu_of_its_window(lost: list[int], offered_mw: int) -> None:
    """FCR 08-12 on a block 08-12 whose MTUs lost ``lost`` kW: accepted iff the least left."""
    hit = ReserveBlock("b", "fcr", 5000, local(DAY, 8), local(DAY, 12), 15, tuple(lost))
    bid = replace(FCR, offered_kw=offered_mw * 1000)
    fits = bid.offered_kw <= 5000 - max(lost)
    if fits:
        assert check([bid], [hit])[0].block_id == "b"
    else:
        assert problems([bid], [hit]) == [(1, "offeredCapacity")]
