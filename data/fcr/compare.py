"""Clear a published FCR day with clear_fcr and compare it with what was published.

The real FCR auction is one cross-border merit order with core shares and export limits.
Here each group of bids is cleared alone with the group's published allocated total as
its demand: per ``country``, or per price ``area`` (the countries that share a published
settlement price for the product). Prints, as Markdown, per product and group: the bids,
the demand, the published and the cleared settlement price, the bids whose allocation
differs and the MW that moved, and the cost of both allocations; then, for a product that
was allocated more than its total demand, what clearing the coupled area at its share of
the demand would change. The receipt order is the published order (by price; the list
does not give receipt times).

Usage::

    .venv/bin/python data/fcr/compare.py [DAY_DIR]      # default data/fcr/2024-02-06
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from dispatch.ancillary.tso import clear_fcr

DAY = Path(__file__).resolve().parent / "2024-02-06"


def load(day: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The day's bids (with a bid_id and the country's published price) and results."""
    results = pl.read_csv(day / "results.csv")
    bids = (
        pl.read_csv(day / "bids.csv")
        .with_columns(bid_id=pl.format("{}-{}", "product", "position"))
        .join(
            results.select("product", "country", "settlement_price_eur_per_mw"),
            on=["product", "country"],
        )
    )
    return bids, results


def with_areas(bids: pl.DataFrame) -> pl.DataFrame:
    """``area``: the sorted codes of the countries sharing the bid's published price."""
    areas = (
        bids.select("product", "country", "settlement_price_eur_per_mw")
        .unique()
        .group_by("product", "settlement_price_eur_per_mw")
        .agg(area=pl.col("country").sort().str.join(","))
    )
    return bids.join(areas, on=["product", "settlement_price_eur_per_mw"])


def clear_groups(bids: pl.DataFrame, by: str) -> pl.DataFrame:
    """Every bid with ``accepted_mw`` and ``cleared_price`` from clearing its (product, ``by``)."""
    parts = []
    for (product, _), group in bids.group_by("product", by, maintain_order=True):
        book = group.select(
            "bid_id",
            "product",
            "price_eur_per_mw",
            "offered_mw",
            "indivisible",
            pl.col("position").alias("rank"),
        )
        result = clear_fcr(book, {str(product): int(group["allocated_mw"].sum())})
        parts.append(
            group.join(result.bids, on=["bid_id", "product"]).rename(
                {"settlement_price_eur_per_mw_right": "cleared_price"}
            )
        )
    return pl.concat(parts)


def summary(cleared: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per product and group: what was cleared against what was published."""
    moved = (pl.col("accepted_mw") - pl.col("allocated_mw")).abs()
    cents = (pl.col("price_eur_per_mw") * 100).round(0).cast(pl.Int64)
    return (
        cleared.group_by("product", by)
        .agg(
            bids=pl.len(),
            demand_mw=pl.col("allocated_mw").sum(),
            published=pl.col("settlement_price_eur_per_mw").first(),
            cleared=pl.col("cleared_price").first(),
            bids_differ=(moved > 0).sum(),
            mw_moved=moved.sum() // 2,
            published_cost_eur=((cents * pl.col("allocated_mw")).sum() / 100).round(2),
            cleared_cost_eur=((cents * pl.col("accepted_mw")).sum() / 100).round(2),
        )
        .with_columns(delta=(pl.col("cleared") - pl.col("published")).round(2))
        .sort("product", by)
    )


def over_procured(bids: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
    """Products whose allocation exceeds the total demand, the coupled area (the countries
    at the cross-border price) cleared at its allocation less the excess: the bids that
    change."""
    totals = results.group_by("product").agg(
        pl.col("demand_mw").sum(),
        (pl.col("demand_mw") + pl.col("deficit_surplus_mw")).sum().alias("allocated_mw"),
        pl.col("crossborder_price_eur_per_mw").first(),
    )
    parts = []
    for row in totals.filter(pl.col("allocated_mw") > pl.col("demand_mw")).iter_rows(named=True):
        area = bids.filter(
            (pl.col("product") == row["product"])
            & (pl.col("settlement_price_eur_per_mw") == row["crossborder_price_eur_per_mw"])
        )
        excess = row["allocated_mw"] - row["demand_mw"]
        book = area.select(
            "bid_id",
            "product",
            "price_eur_per_mw",
            "offered_mw",
            "indivisible",
            pl.col("position").alias("rank"),
        )
        result = clear_fcr(book, {row["product"]: int(area["allocated_mw"].sum()) - excess})
        parts.append(
            area.join(result.bids, on=["bid_id", "product"])
            .filter(pl.col("accepted_mw") != pl.col("allocated_mw"))
            .select(
                "product",
                "bid_id",
                "country",
                "price_eur_per_mw",
                "indivisible",
                "allocated_mw",
                "accepted_mw",
                pl.col("settlement_price_eur_per_mw_right").alias("cleared_price"),
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame()


def markdown(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * frame.width
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("day", type=Path, nargs="?", default=DAY)
    day = parser.parse_args().day
    bids, results = load(day)
    bids = with_areas(bids)
    for by in ("country", "area"):
        table = summary(clear_groups(bids, by), by)
        same = table.filter(pl.col("delta") == 0).height
        exact = table.filter(pl.col("bids_differ") == 0).height
        print(
            f"\n## Per {by}: price reproduced {same}/{table.height}, "
            f"allocation reproduced {exact}/{table.height}\n"
        )
        print(markdown(table))
        gap = table.filter(pl.col("delta") != 0)["delta"]
        if gap.len():
            print(
                f"\nprice below the published one in {gap.len()}: by {-gap.max():.2f} to "
                f"{-gap.min():.2f} EUR/MW, mean {-gap.mean():.2f}"
            )
        differ = table.filter(pl.col("bids_differ") > 0)
        print(
            f"\nbids differing: {differ['bids_differ'].sum()}, MW moved: "
            f"{differ['mw_moved'].sum()}, cost cleared - published: "
            f"{(table['cleared_cost_eur'] - table['published_cost_eur']).sum():.2f} EUR"
        )

    print(
        "\n## Over-procured products: the coupled area cleared at its allocation less the excess\n"
    )
    print(markdown(over_procured(bids, results)))


if __name__ == "__main__":
    main()
