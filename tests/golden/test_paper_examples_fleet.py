"""Tiny auctions whose answer a person derives by hand (the comment above each test): the
fleet (fixed allocations, zones, prequalification, backing, outages, energy, time
priority, the DST day) and whole kilowatts. The defaults are in paper_base.py; every
result must also pass the independent checker.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from auction.timegrid import mtu_count
from tests.golden.paper_base import allocation_of, at, awards_of, cleared
from tests.strategies import (
    FALL_BACK,
    NORMAL_DAY,
    OTHER_ZONE,
    asset,
    bid,
    local,
    make_archive,
    product,
)

# --------------------------------------------------------------------------- the fleet


def test_fixed_allocation_is_served_first() -> None:
    # a1 10 MW / 20 MWh. The designated optimiser OPT gets 4 MW of p1 without bidding, so
    # b1 (10 @ 50) gets the 6 left: 300 EUR. OPT's virtual asset has no bid id and holds a
    # 4 MW / 8 MWh wholesale block; the whole 10 MW of p1 rests on a1.
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0)],
        products=[product()],
        bids=[bid("b1", "A", 10.0, 50.0)],
        allocations=[{"org_id": "OPT", "product_id": "p1", "quantity_mw": 4.0}],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {"b1": ("6", "300", "partial", "outbid")}
    assert result.objective_eur == 300
    vas = {(va["org_id"], va["bid_id"]): va for va in tables["virtual_assets.csv"]}
    assert set(vas) == {("OPT", ""), ("A", "b1")}
    fixed = vas[("OPT", "")]
    assert fixed["product_id"] == "p1"
    assert (fixed["start"], fixed["end"]) == (
        "2026-11-29T10:00:00+01:00",
        "2026-11-29T14:00:00+01:00",
    )
    blocks = {b["virtual_asset_id"]: b for b in tables["blocks.csv"]}
    assert (
        blocks[fixed["virtual_asset_id"]]["power_mw"],
        blocks[fixed["virtual_asset_id"]]["energy_mwh"],
    ) == ("4", "8")
    assert allocation_of(tables) == {("p1", "wholesale", "a1"): "10"}


def test_assets_outside_the_zone_back_nothing() -> None:
    # a2 (100 MW in 50Hertz) lies outside the auction's zone TenneT DE: only a1's 5 MW
    # count. b1 (20 @ 50) gets 5 MW, 250 EUR; a2 appears nowhere.
    archive = make_archive(
        fleet=[asset("a1", 5.0, 10.0), asset("a2", 100.0, 200.0, tso_zone=OTHER_ZONE)],
        products=[product()],
        bids=[bid("b1", "A", 20.0, 50.0)],
    )
    _, tables = cleared(archive)
    assert awards_of(tables) == {"b1": ("5", "250", "partial", "outbid")}
    assert allocation_of(tables) == {("p1", "wholesale", "a1"): "5"}
    assert {b["asset_id"] for b in tables["backing.csv"]} == {"a1"}


def test_fcr_stacked_product_only_on_prequalified_assets() -> None:
    # p1 per MW: 1 MW wholesale (1 h) + 1 MW FCR. Only a1 (5 MW / 10 MWh) is FCR
    # prequalified; a2 (10 MW / 20 MWh) is not. The FCR block of X MW must sit on a1:
    # X <= 5, and then a1's discharge is full, so the wholesale block sits on a2 (5 <= 10).
    # Energy: a1 2·0.25·5 = 2.5 <= 10, a2 1·5 = 5 <= 20. So b1 (12 @ 40) gets 5: 200 EUR.
    # Blocks of b1: wholesale 5 MW / 5 MWh on a2; FCR 5 MW / 2.5 MWh (2·0.25 h) on a1.
    archive = make_archive(
        fleet=[asset("a1", 5.0, 10.0, fcr=True), asset("a2", 10.0, 20.0)],
        products=[product(wholesale_h=1.0, fcr_mw=1.0)],
        bids=[bid("b1", "A", 12.0, 40.0)],
    )
    _, tables = cleared(archive)
    assert awards_of(tables) == {"b1": ("5", "200", "partial", "outbid")}
    assert allocation_of(tables) == {("p1", "wholesale", "a2"): "5", ("p1", "fcr", "a1"): "5"}
    blocks = {b["market"]: b for b in tables["blocks.csv"]}
    assert set(blocks) == {"wholesale", "fcr"}
    assert (blocks["wholesale"]["power_mw"], blocks["wholesale"]["energy_mwh"]) == ("5", "5")
    assert (blocks["fcr"]["power_mw"], blocks["fcr"]["energy_mwh"]) == ("5", "2.5")
    backing = {
        (b["block_id"], b["asset_id"]): (b["power_mw"], b["energy_mwh"])
        for b in tables["backing.csv"]
    }
    assert backing == {
        (blocks["wholesale"]["block_id"], "a2"): ("5", "5"),
        (blocks["fcr"]["block_id"], "a1"): ("5", "2.5"),
    }


def test_backing_sums_to_blocks_and_allocation() -> None:
    # a1 and a2, 5 MW / 10 MWh each: 10 MW of p1 fill both. b1 6 @ 50 and b2 4 @ 40 are
    # both accepted (460 EUR); each asset carries 5 MW (10 MWh). However the blocks are
    # cut across the assets, each block's backing sums to its power and energy
    # (b1 6 MW / 12 MWh, b2 4 MW / 8 MWh) and each asset's backing to its 5 MW / 10 MWh.
    archive = make_archive(
        fleet=[asset("a1", 5.0, 10.0), asset("a2", 5.0, 10.0)],
        products=[product()],
        bids=[bid("b1", "A", 6.0, 50.0), bid("b2", "B", 4.0, 40.0)],
    )
    _, tables = cleared(archive)
    assert allocation_of(tables) == {("p1", "wholesale", "a1"): "5", ("p1", "wholesale", "a2"): "5"}
    va_of = {va["virtual_asset_id"]: va["bid_id"] for va in tables["virtual_assets.csv"]}
    block_of = {b["block_id"]: va_of[b["virtual_asset_id"]] for b in tables["blocks.csv"]}
    assert {
        (va_of[b["virtual_asset_id"]], b["power_mw"], b["energy_mwh"]) for b in tables["blocks.csv"]
    } == {
        ("b1", "6", "12"),
        ("b2", "4", "8"),
    }
    per_block: dict[str, list[float]] = {"b1": [0.0, 0.0], "b2": [0.0, 0.0]}
    per_asset: dict[str, list[float]] = {"a1": [0.0, 0.0], "a2": [0.0, 0.0]}
    for row in tables["backing.csv"]:
        for sums in (per_block[block_of[row["block_id"]]], per_asset[row["asset_id"]]):
            sums[0] += float(row["power_mw"])
            sums[1] += float(row["energy_mwh"])
    assert per_block == {"b1": [6.0, 12.0], "b2": [4.0, 8.0]}
    assert per_asset == {"a1": [5.0, 10.0], "a2": [5.0, 10.0]}


def test_an_outage_in_one_mtu_limits_a_full_day_product() -> None:
    # Full-day product; a1 10 MW / 40 MWh is derated to 40 % in 12:00-12:15 only: 4 MW
    # (16 MWh) there. The block must hold all day, so X <= 4: b1 (10 @ 20) gets 4, 80 EUR.
    day = NORMAL_DAY
    archive = make_archive(
        fleet=[asset("a1", 10.0, 40.0)],
        products=[product(start=local(day, 0), end=local(date(2026, 11, 30), 0))],
        bids=[bid("b1", "A", 10.0, 20.0)],
        availability=[
            {
                "asset_id": "a1",
                "start": local(day, 12),
                "end": local(day, 12, 15),
                "available_fraction": 0.4,
            }
        ],
    )
    _, tables = cleared(archive)
    assert awards_of(tables) == {"b1": ("4", "80", "partial", "outbid")}


def test_energy_limits_a_two_hour_product_on_a_one_hour_battery() -> None:
    # a1 10 MW / 10 MWh; each MW of p1 needs 2 MWh: 2·X <= 10, so X <= 5 although the power
    # allows 10. b1 (10 @ 30) gets 5 MW, 150 EUR; its block holds 5 MW / 10 MWh.
    archive = make_archive(
        fleet=[asset("a1", 10.0, 10.0)],
        products=[product()],
        bids=[bid("b1", "A", 10.0, 30.0)],
    )
    _, tables = cleared(archive)
    assert awards_of(tables) == {"b1": ("5", "150", "partial", "outbid")}
    [block] = tables["blocks.csv"]
    assert (block["power_mw"], block["energy_mwh"]) == ("5", "10")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # b2 came at 09:00, b1 at 09:05: b2 is earlier, despite its larger id.
        (
            bid("b1", "A", 6.0, 50.0, submitted_at=at(5)),
            bid("b2", "B", 6.0, 50.0, submitted_at=at(0)),
        ),
        # Same second: the smaller id b1.
        (
            bid("b2", "B", 6.0, 50.0, submitted_at=at(2)),
            bid("b1", "A", 6.0, 50.0, submitted_at=at(2)),
        ),
    ],
    ids=["earlier-time", "same-time-smaller-id"],
)
def test_time_priority_between_equal_prices(
    first: dict[str, object], second: dict[str, object]
) -> None:
    # 10 MW, two divisible 6 MW bids at 50: revenue is 500 however the 10 MW are split, so
    # time priority decides: the earlier bid (then the smaller id) gets 6, the other the 4
    # left. b3 (5 @ 49.99) gets nothing.
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0)],
        products=[product()],
        bids=[first, second, bid("b3", "C", 5.0, 49.99)],
    )
    result, tables = cleared(archive)
    times = {b["bid_id"]: (b["submitted_at"], b["bid_id"]) for b in (first, second)}
    early, late = sorted(times, key=times.__getitem__)
    awards = awards_of(tables)
    assert awards[early] == ("6", "300", "accepted", "")
    assert awards[late] == ("4", "200", "partial", "outbid")
    assert awards["b3"] == ("0", "0", "rejected", "outbid")
    assert result.objective_eur == 500


def test_dst_fall_back_day_full_day_product() -> None:
    # 2026-10-25 has 25 hours (100 MTUs): 00:00+02:00 to the next 00:00+01:00. a1 10 MW /
    # 20 MWh is at half power during the repeated hour 02:00-03:00+01:00 (01:00-02:00 UTC),
    # which exists only on this day: X <= 5. b1 (8 @ 10) gets 5, 50 EUR. The virtual asset
    # and its block start and end at local midnight with the offsets of each end.
    assert mtu_count(FALL_BACK) == 100
    start, end = local(FALL_BACK, 0), local(date(2026, 10, 26), 0)
    assert (end - start).total_seconds() == 25 * 3600
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0)],
        products=[product(start=start, end=end)],
        bids=[bid("b1", "A", 8.0, 10.0)],
        availability=[
            {
                "asset_id": "a1",
                "start": datetime(2026, 10, 25, 1, tzinfo=UTC),
                "end": datetime(2026, 10, 25, 2, tzinfo=UTC),
                "available_fraction": 0.5,
            }
        ],
        day=FALL_BACK,
    )
    _, tables = cleared(archive)
    assert awards_of(tables) == {"b1": ("5", "50", "partial", "outbid")}
    [va] = tables["virtual_assets.csv"]
    [block] = tables["blocks.csv"]
    for row in (va, block):
        assert (row["start"], row["end"]) == (
            "2026-10-25T00:00:00+02:00",
            "2026-10-26T00:00:00+01:00",
        )
    assert (block["power_mw"], block["energy_mwh"]) == ("5", "10")


def test_energy_shared_between_wholesale_and_afrr() -> None:
    # a1 5 MW / 5 MWh, aFRR+ prequalified; both products 00:00-06:00. p3 is wholesale with
    # 2 h (X3 MW take 2·X3 MWh), p1 is aFRR+ only (X1 MW take 1 h·X1 MWh). Energy binds:
    # 2·X3 + X1 <= 5. b3 (p3, 3 @ 5, alone in an exclusive group, so it needs a binary),
    # b6 (p1, 1 @ 2), b5 (p1, 1 @ 1). X3 = 2, X1 = 1: 10 + 2 = 12 EUR; X3 = 1, X1 = 2:
    # 5 + 2 + 1 = 8; X3 = 2, X1 = 0: 10. So b3 gets 2, b6 1, b5 nothing: 12 EUR.
    window = {"start": local(NORMAL_DAY, 0), "end": local(NORMAL_DAY, 6)}
    archive = make_archive(
        fleet=[asset("a1", 5.0, 5.0, afrr_pos=True)],
        products=[
            product("p1", wholesale_mw=0.0, wholesale_h=0.0, afrr_pos_mw=1.0, **window),
            product("p3", wholesale_h=2.0, **window),
        ],
        bids=[
            bid("b3", "C", 3.0, 5.0, "p3", exclusive_group="g1"),
            bid("b5", "A", 1.0, 1.0, "p1"),
            bid("b6", "A", 1.0, 2.0, "p1"),
        ],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {
        "b3": ("2", "10", "partial", "outbid"),
        "b5": ("0", "0", "rejected", "outbid"),
        "b6": ("1", "2", "accepted", ""),
    }
    assert result.objective_eur == 12


# --------------------------------------------------------------------------- whole kW


def test_three_thirds_of_ten_megawatts_carry_9999_kilowatts() -> None:
    # Three assets of 10/3 MW (3,333.33 kW, 6,666.67 kWh) together have 10 MW, but backing
    # is whole kW: each carries at most 3,333 kW, 9,999 kW in all. p1 on a 1 kW increment,
    # b1 10 MW @ 30: 9.999 MW awarded (299.97 EUR), 3.333 MW on each asset.
    archive = make_archive(
        fleet=[asset(k, 10 / 3, 20 / 3) for k in ("a1", "a2", "a3")],
        products=[product("p1", min_mw=0.001, increment_mw=0.001)],
        bids=[bid("b1", "A", 10.0, 30.0)],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {"b1": ("9.999", "299.97", "partial", "outbid")}
    assert allocation_of(tables) == {("p1", "wholesale", k): "3.333" for k in ("a1", "a2", "a3")}
    assert result.objective_eur == Decimal("299.97")


def test_whole_kilowatts_of_a_megawatt_increment() -> None:
    # The same fleet on 1 MW increments: 10 MW would need 10,000 kW of 9,999: 9 MW.
    archive = make_archive(
        fleet=[asset(k, 10 / 3, 20 / 3) for k in ("a1", "a2", "a3")],
        products=[product("p1")],
        bids=[bid("b1", "A", 10.0, 30.0)],
    )
    result, tables = cleared(archive)
    assert awards_of(tables) == {"b1": ("9", "270", "partial", "outbid")}
    assert result.objective_eur == 270
    backed = sum(Decimal(r["mw"]) for r in tables["allocation.csv"])
    assert backed == 9
    assert all(Decimal(r["mw"]) <= Decimal("3.333") for r in tables["allocation.csv"])
