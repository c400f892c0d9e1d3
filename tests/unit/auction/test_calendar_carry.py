"""The fleet check before a day's auction exists: every product at its minimum (or its
fixed allocations), at the worst moment of its window, outages and derates counted."""

from __future__ import annotations

from datetime import date

import polars as pl

from auction.book import ALLOCATIONS, AVAILABILITY, FLEET, PRODUCTS
from auction.calendar.carry import carry_problems
from tests.strategies import OTHER_ZONE, TENNET_DE, asset, local, product

DAY = date(2027, 6, 15)


def frames(
    assets: list[dict[str, object]],
    outages: list[dict[str, object]] | None = None,
    allocations: list[dict[str, object]] | None = None,
    **changes: object,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Fleet, availability, one product p1 (10:00-14:00, 1 MW a MW, 2 h), allocations."""
    return (
        pl.DataFrame(assets, schema=FLEET),
        pl.DataFrame(outages or [], schema=AVAILABILITY),
        pl.DataFrame([product("p1", DAY, **changes)], schema=PRODUCTS),
        pl.DataFrame(allocations or [], schema=ALLOCATIONS),
    )


def outage(hour_from: int, hour_to: int, fraction: float) -> dict[str, object]:
    return {
        "asset_id": "a1",
        "start": local(DAY, hour_from),
        "end": local(DAY, hour_to),
        "available_fraction": fraction,
    }


def test_a_fleet_that_carries_the_minimum_passes() -> None:
    fleet, availability, products, allocations = frames([asset("a1", 2.0, 4.0)])
    assert carry_problems(fleet, availability, TENNET_DE, products, allocations) == []


def test_an_outage_inside_the_window_counts_one_outside_does_not() -> None:
    fleet, _, products, allocations = frames([asset("a1", 2.0, 4.0)], min_mw=2.0)
    outside = pl.DataFrame([outage(0, 10, 0.0)], schema=AVAILABILITY)
    assert carry_problems(fleet, outside, TENNET_DE, products, allocations) == []
    inside = pl.DataFrame([outage(13, 15, 0.5)], schema=AVAILABILITY)  # 1 MW at worst
    [problem] = carry_problems(fleet, inside, TENNET_DE, products, allocations)
    assert "needs 2 MW (its minimum)" in problem
    assert "at most 1.000 MW" in problem


def test_fixed_allocations_above_the_minimum_must_be_carried() -> None:
    allocations = [{"org_id": "o1", "product_id": "p1", "quantity_mw": 3.0}]
    fleet, availability, products, alloc = frames([asset("a1", 2.0, 10.0)], allocations=allocations)
    [problem] = carry_problems(fleet, availability, TENNET_DE, products, alloc)
    assert "needs 3 MW (its fixed allocations)" in problem


def test_energy_bounds_wholesale_and_other_zones_do_not_count() -> None:
    # 2 h of wholesale per MW: 1 MWh of storage carries 0.5 MW.
    fleet, availability, products, alloc = frames([asset("a1", 5.0, 1.0)])
    [problem] = carry_problems(fleet, availability, TENNET_DE, products, alloc)
    assert "at most 0.500 MW" in problem
    elsewhere = frames([asset("a1", 5.0, 10.0, tso_zone=OTHER_ZONE)])
    assert carry_problems(elsewhere[0], elsewhere[1], TENNET_DE, elsewhere[2], elsewhere[3]) == [
        f"the fleet has no asset in TSO zone {TENNET_DE}"
    ]
