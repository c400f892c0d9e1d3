"""clear_fcr against a real FCR auction: the published results of 2024-02-06 (data/fcr).

The real auction is one merit order over nine countries with core shares and export
limits, and the anonymous list publishes only the accepted bids, in price order, without
receipt times. So each country (and each price area: the countries sharing a published
price) is cleared alone with its published allocation as its demand, the list's order as
the receipt order, and the test asserts what must then hold exactly; every expectation is
read from the publication. data/fcr/README.md and data/fcr/compare.py say more.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dispatch.ancillary.tso import clear_fcr

DAY = Path(__file__).resolve().parents[3] / "data" / "fcr" / "2024-02-06"
CENTS = (pl.col("price_eur_per_mw") * 100).round(0).cast(pl.Int64)


@pytest.fixture(scope="module")
def results() -> pl.DataFrame:
    return pl.read_csv(DAY / "results.csv")


@pytest.fixture(scope="module")
def bids(results: pl.DataFrame) -> pl.DataFrame:
    """Every published bid with an id, its country's price and its price area."""
    areas = results.group_by("product", "settlement_price_eur_per_mw").agg(
        area=pl.col("country").sort().str.join(",")
    )
    return (
        pl.read_csv(DAY / "bids.csv")
        .with_columns(bid_id=pl.format("{}-{}", "product", "position"))
        .join(
            results.select("product", "country", "settlement_price_eur_per_mw"),
            on=["product", "country"],
        )
        .join(areas, on=["product", "settlement_price_eur_per_mw"])
    )


def clear_by(bids: pl.DataFrame, key: str, receipt: str) -> pl.DataFrame:
    """Each (product, ``key``) cleared alone at its published allocation, bids received in
    the list's order or the reverse: every bid with ``accepted_mw`` and the group's
    ``cleared_price``."""
    rank = pl.col("position") if receipt == "list order" else -pl.col("position")
    parts = []
    for (product, _), group in bids.group_by("product", key):
        book = group.select(
            "bid_id",
            "product",
            "price_eur_per_mw",
            "offered_mw",
            "indivisible",
            rank.alias("rank"),
        )
        result = clear_fcr(book, {str(product): int(group["allocated_mw"].sum())})
        parts.append(
            group.join(result.bids, on=["bid_id", "product"]).rename(
                {"settlement_price_eur_per_mw_right": "cleared_price"}
            )
        )
    return pl.concat(parts)


# The list is in price order: with its order as the receipt order, earliest-first would
# look like cheapest-first. The reverse order makes the least cost the price's work alone.
@pytest.fixture(scope="module", params=["list order", "reversed"])
def receipt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def by_country(bids: pl.DataFrame, receipt: str) -> pl.DataFrame:
    return clear_by(bids, "country", receipt)


@pytest.fixture(scope="module")
def by_area(bids: pl.DataFrame, receipt: str) -> pl.DataFrame:
    return clear_by(bids, "area", receipt)


def test_the_kept_copy_is_the_whole_published_day(
    bids: pl.DataFrame, results: pl.DataFrame
) -> None:
    assert bids.height == 1_798
    assert sorted(bids["product"].unique()) == [
        f"NEGPOS_{h:02d}_{h + 4:02d}" for h in range(0, 24, 4)
    ]
    assert results.height == 6 * 9
    # Only accepted bids are published; each country gets its demand plus its surplus
    # (Slovenia, with no accepted bid in four products, imports all of its demand).
    assert ((bids["allocated_mw"] >= 1) & (bids["allocated_mw"] <= bids["offered_mw"])).all()
    allocated = bids.group_by("product", "country").agg(pl.col("allocated_mw").sum())
    joined = results.join(allocated, on=["product", "country"], how="left").fill_null(0)
    assert (joined["demand_mw"] + joined["deficit_surplus_mw"]).equals(
        joined["allocated_mw"], check_names=False
    )


@pytest.mark.parametrize("key", ["country", "area"])
def test_each_group_meets_its_demand_at_the_published_cost(
    key: str, by_country: pl.DataFrame, by_area: pl.DataFrame
) -> None:
    """The published allocation is cost-minimal for each group's total: the clearing finds
    the same cost, to the cent, in all 50 countries and 18 areas."""
    cleared = by_country if key == "country" else by_area
    groups = cleared.group_by("product", key).agg(
        demand=pl.col("allocated_mw").sum(),
        allocated=pl.col("accepted_mw").sum(),
        published_cost=(CENTS * pl.col("allocated_mw")).sum(),
        cleared_cost=(CENTS * pl.col("accepted_mw")).sum(),
    )
    assert groups.height == (50 if key == "country" else 18)
    assert groups["allocated"].equals(groups["demand"], check_names=False)
    assert groups["cleared_cost"].equals(groups["published_cost"], check_names=False)


@pytest.mark.parametrize("key", ["country", "area"])
def test_every_bid_gets_its_published_allocation_but_within_a_tie_at_the_margin(
    key: str, by_country: pl.DataFrame, by_area: pl.DataFrame
) -> None:
    """A bid can differ only if it shares the group's marginal price with another bid: the
    list's order is not the receipt order, which is not published. The tie as a whole gets
    its published MW."""
    cleared = by_country if key == "country" else by_area
    group = ["product", key]
    marginal = pl.col("price_eur_per_mw") == pl.col("price_eur_per_mw").max().over(group)
    tied = pl.len().over([*group, "price_eur_per_mw"]) > 1
    differ = pl.col("accepted_mw") != pl.col("allocated_mw")
    assert cleared.filter(differ).height == cleared.filter(differ & marginal & tied).height
    levels = cleared.group_by(*group, "price_eur_per_mw").agg(
        pl.col("accepted_mw").sum(), pl.col("allocated_mw").sum()
    )
    assert levels["accepted_mw"].equals(levels["allocated_mw"], check_names=False)


def test_a_country_that_sets_its_own_price_gets_it_and_the_others_their_own_margin(
    by_country: pl.DataFrame,
) -> None:
    """Where a country's published price is the price of its own dearest accepted bid (the
    margin lay inside it: FR, BE and the coupled country holding the cross-border marginal
    bid), the clearing reproduces it. Elsewhere the cross-border price was set by a bid in
    another country, and clearing the country alone pays its own dearest bid, below it."""
    countries = by_country.group_by("product", "country").agg(
        published=pl.col("settlement_price_eur_per_mw").first(),
        cleared=pl.col("cleared_price").first(),
        own_margin=pl.col("price_eur_per_mw").max(),
    )
    local = countries.filter(pl.col("published") == pl.col("own_margin"))
    assert local["cleared"].equals(local["published"], check_names=False)
    assert sorted(local.filter(pl.col("country").is_in(["BE", "FR"]))["product"]) == sorted(
        2 * countries["product"].unique().to_list()
    )
    elsewhere = countries.filter(pl.col("published") != pl.col("own_margin"))
    assert elsewhere.height > 0
    assert elsewhere["cleared"].equals(elsewhere["own_margin"], check_names=False)
    assert (elsewhere["cleared"] < elsewhere["published"]).all()


def test_each_price_area_reproduces_its_published_price(by_area: pl.DataFrame) -> None:
    areas = by_area.group_by("product", "area").agg(
        published=pl.col("settlement_price_eur_per_mw").first(),
        cleared=pl.col("cleared_price").first(),
    )
    assert areas["cleared"].equals(areas["published"], check_names=False)


def test_where_the_auction_over_procured_the_clearing_meets_the_demand_exactly(
    bids: pl.DataFrame, results: pl.DataFrame
) -> None:
    """The auction allocated more than the total demand once (an indivisible marginal bid
    kept whole, no cheaper bid dropped); clear_fcr meets the coupled area's share of the
    demand exactly, for less, at no higher price."""
    totals = results.group_by("product").agg(
        demand=pl.col("demand_mw").sum(),
        excess=pl.col("deficit_surplus_mw").sum(),
        crossborder=pl.col("crossborder_price_eur_per_mw").first(),
    )
    over = totals.filter(pl.col("excess") > 0)
    assert over.height >= 1
    for row in over.iter_rows(named=True):
        area = bids.filter(
            (pl.col("product") == row["product"])
            & (pl.col("settlement_price_eur_per_mw") == row["crossborder"])
        )
        demand = int(area["allocated_mw"].sum()) - row["excess"]
        book = area.select(
            "bid_id",
            "product",
            "price_eur_per_mw",
            "offered_mw",
            "indivisible",
            pl.col("position").alias("rank"),
        )
        result = clear_fcr(book, {row["product"]: demand})
        cleared = area.join(result.bids, on=["bid_id", "product"])
        assert result.products["allocated_mw"].item() == demand
        assert (cleared.select(CENTS * pl.col("accepted_mw")).sum().item()) < (
            cleared.select(CENTS * pl.col("allocated_mw")).sum().item()
        )
        assert result.products["settlement_price_eur_per_mw"].item() <= row["crossborder"]
