"""Tiny auctions whose answer a person derives by hand (the comment above each test): merit
order, a single item, and the structure of bids. The defaults are in paper_base.py; every
result must also pass the independent checker.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from auction.model import Archive
from tests.golden.paper_base import at, awards_of, cleared
from tests.strategies import (
    NORMAL_DAY,
    asset,
    bid,
    local,
    make_archive,
    product,
)

# --------------------------------------------------------------------------- merit order


def test_merit_order_with_a_partial_marginal_bid() -> None:
    # a1 10 MW / 20 MWh carries X <= 10 (power 10, energy 2·10 = 20). By price:
    # b1 6 @ 50 -> 6 (300 EUR); b2 6 @ 40 -> the 4 left (160 EUR, partial);
    # b3 3 @ 30 -> 0. Revenue 460 EUR.
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0)],
        products=[product()],
        bids=[bid("b3", "C", 3.0, 30.0), bid("b1", "A", 6.0, 50.0), bid("b2", "B", 6.0, 40.0)],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {
        "b1": ("6", "300", "accepted", ""),
        "b2": ("4", "160", "partial", "outbid"),
        "b3": ("0", "0", "rejected", "outbid"),
    }
    assert result.objective_eur == 460


def test_reserve_price() -> None:
    # Reserve 35 EUR/MW. b2 at 34.99 is one cent short: not eligible although 2 MW of the
    # 10 stay unsold. b3 at exactly 35.00 is eligible. b1 6 (300) + b3 2 (70) = 370 EUR.
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0)],
        products=[product(reserve_price_eur_per_mw=35.0)],
        bids=[bid("b1", "A", 6.0, 50.0), bid("b2", "B", 6.0, 34.99), bid("b3", "C", 2.0, 35.0)],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {
        "b1": ("6", "300", "accepted", ""),
        "b2": ("0", "0", "rejected", "below_reserve"),
        "b3": ("2", "70", "accepted", ""),
    }
    assert result.objective_eur == 370


def test_all_or_nothing_bid_rejected_for_a_cheaper_divisible_one() -> None:
    # 10 MW. b2 is all-or-nothing 5 @ 41. With it: b2 5 (205) + b1 5 (250) = 455 EUR.
    # Without it: b1 6 (300) + b3 4 of 8 @ 40 (160) = 460 EUR, the optimum. So b2 loses to
    # a cheaper bid because of its minimum, and b3 is partially filled.
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0)],
        products=[product()],
        bids=[
            bid("b1", "A", 6.0, 50.0),
            bid("b2", "B", 5.0, 41.0, min_quantity_mw=5.0),
            bid("b3", "C", 8.0, 40.0),
        ],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {
        "b1": ("6", "300", "accepted", ""),
        "b2": ("0", "0", "rejected", "min_quantity"),
        "b3": ("4", "160", "partial", "outbid"),
    }
    assert result.objective_eur == 460


def test_minimum_quantity_partially_accepted_at_its_minimum() -> None:
    # 10 MW; b1 7 @ 50 takes 7 (350). b2 wants 6 @ 45 but no less than 3: it gets exactly
    # the 3 left (135). b3 4 @ 44 gets nothing. Revenue 485 EUR.
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0)],
        products=[product()],
        bids=[
            bid("b1", "A", 7.0, 50.0),
            bid("b2", "B", 6.0, 45.0, min_quantity_mw=3.0),
            bid("b3", "C", 4.0, 44.0),
        ],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {
        "b1": ("7", "350", "accepted", ""),
        "b2": ("3", "135", "partial", "outbid"),
        "b3": ("0", "0", "rejected", "outbid"),
    }
    assert result.objective_eur == 485


# --------------------------------------------------------------------------- single item


def single_item(bids: list[dict[str, object]]) -> Archive:
    # max_mw = min_mw = increment_mw = 10: one virtual asset of 10 MW; a1 could carry 20.
    return make_archive(
        fleet=[asset("a1", 20.0, 40.0)],
        products=[product(min_mw=10.0, increment_mw=10.0, max_mw=10.0)],
        bids=bids,
    )


def aon(bid_id: str, org: str, price: float, minute: int) -> dict[str, object]:
    return bid(bid_id, org, 10.0, price, min_quantity_mw=10.0, submitted_at=at(minute))


@pytest.mark.parametrize(
    ("bids", "winner"),
    [
        # Highest price wins: b2 at 120 > 110 > 100.
        ([aon("b1", "A", 100.0, 0), aon("b2", "B", 120.0, 0), aon("b3", "C", 110.0, 0)], "b2"),
        # Tie at 120: b2 came at 09:00, b1 at 09:05 -> the earlier b2, despite its larger id.
        ([aon("b1", "A", 120.0, 5), aon("b2", "B", 120.0, 0), aon("b3", "C", 110.0, 0)], "b2"),
        # Tie at 120 in the same second: the smaller bid id b1 (listed last on purpose).
        ([aon("b3", "C", 110.0, 0), aon("b2", "B", 120.0, 3), aon("b1", "A", 120.0, 3)], "b1"),
    ],
    ids=["highest-price", "price-tie-earlier-wins", "time-tie-smaller-id-wins"],
)
def test_single_item_auction(bids: list[dict[str, object]], winner: str) -> None:
    result, tables = cleared(single_item(bids))
    prices = {b["bid_id"]: b["price_eur_per_mw"] for b in bids}
    expected = {
        b: ("10", f"{10 * prices[b]:g}", "accepted", "")
        if b == winner
        else ("0", "0", "rejected", "outbid")
        for b in prices
    }
    assert awards_of(tables) == expected
    assert [va["bid_id"] for va in tables["virtual_assets.csv"]] == [winner]
    assert result.objective_eur == 10 * Decimal(repr(prices[winner]))


# --------------------------------------------------------------------------- bid structure


def test_exclusive_group_takes_one_alternative_of_one_org() -> None:
    # a1 10 MW / 40 MWh; p1 10-14 h and p2 16-20 h do not overlap, 10 MW each.
    # Org A offers b1 (p1 5 @ 50 = 250) or b2 (p2 5 @ 60 = 300) in group g: the better b2.
    # Org B's b3 (p1 4 @ 20 = 80) is in a group also named g, but groups are per org: it is
    # accepted. Revenue 300 + 80 = 380 EUR (both of A's would be 630 without the group).
    archive = make_archive(
        fleet=[asset("a1", 10.0, 40.0)],
        products=[
            product("p1"),
            product("p2", start=local(NORMAL_DAY, 16), end=local(NORMAL_DAY, 20)),
        ],
        bids=[
            bid("b1", "A", 5.0, 50.0, "p1", exclusive_group="g"),
            bid("b2", "A", 5.0, 60.0, "p2", exclusive_group="g"),
            bid("b3", "B", 4.0, 20.0, "p1", exclusive_group="g"),
        ],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {
        "b1": ("0", "0", "rejected", "exclusive_group"),
        "b2": ("5", "300", "accepted", ""),
        "b3": ("4", "80", "accepted", ""),
    }
    assert result.objective_eur == 380


def two_windows(**p1: object) -> list[dict[str, object]]:
    return [
        product("p1", **p1),
        product("p2", start=local(NORMAL_DAY, 16), end=local(NORMAL_DAY, 20)),
    ]


def test_linked_bid_rejected_with_its_parent() -> None:
    # a1 5 MW / 20 MWh; p1 10-14 h, p2 16-20 h (5 MW each). On p1 B's b2 5 @ 200 (1000)
    # outbids A's parent b1 3 @ 40. A's child b3 (p2 2 @ 10, linked to b1) would fit in
    # p2, but only with its parent: giving b1 1 MW costs 200 - 40 = 160 and the child
    # brings 20, so the best is b2 alone, 1000 EUR; b3 is rejected with its parent.
    archive = make_archive(
        fleet=[asset("a1", 5.0, 20.0)],
        products=two_windows(),
        bids=[
            bid("b1", "A", 3.0, 40.0, "p1"),
            bid("b2", "B", 5.0, 200.0, "p1"),
            bid("b3", "A", 2.0, 10.0, "p2", linked_to="b1"),
        ],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {
        "b1": ("0", "0", "rejected", "outbid"),
        "b2": ("5", "1000", "accepted", ""),
        "b3": ("0", "0", "rejected", "parent_rejected"),
    }
    assert result.objective_eur == 1000


def test_linked_bid_whose_parent_is_below_reserve() -> None:
    # p1's reserve is 30: A's parent b1 at 25 is not eligible, so neither is its child b3 on
    # p2 (2 @ 100), although p2 is empty. Nothing is sold: revenue 0.
    archive = make_archive(
        fleet=[asset("a1", 5.0, 20.0)],
        products=two_windows(reserve_price_eur_per_mw=30.0),
        bids=[
            bid("b1", "A", 3.0, 25.0, "p1"),
            bid("b3", "A", 2.0, 100.0, "p2", linked_to="b1"),
        ],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {
        "b1": ("0", "0", "rejected", "below_reserve"),
        "b3": ("0", "0", "rejected", "parent_rejected"),
    }
    assert result.objective_eur == 0
    assert tables["virtual_assets.csv"] == []
