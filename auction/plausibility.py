"""Plausibility warnings on a bid book before it is cleared.

Not rules (a bid that breaks a rule is refused at the door) but things an operator should
look at: the fat-finger bids that broke real exchanges were all valid bids.
"""

from __future__ import annotations

import polars as pl

from auction.book import MARKET_FACTOR
from auction.model import Archive

# A price this many times the median of its product is flagged.
PRICE_FACTOR = 10.0
MIN_BIDS_FOR_MEDIAN = 3


def product_capacity_mw(archive: Archive) -> pl.DataFrame:
    """Per product, an upper bound of what the fleet can carry (MW of product), ignoring
    outages and other products: power of the prequalified assets of the zone per market,
    divided by the product's MW per MW of that market, and stored energy for wholesale."""
    return capacity_mw(archive.fleet, archive.config.tso_zone, archive.products)


def capacity_mw(fleet: pl.DataFrame, tso_zone: str, products: pl.DataFrame) -> pl.DataFrame:
    """``product_capacity_mw`` of ``products`` over ``fleet`` (``FLEET`` columns) in
    ``tso_zone``: product_id, capacity_mw."""
    fleet = fleet.filter(pl.col("tso_zone") == tso_zone)
    power = {
        "wholesale": float(fleet["p_discharge_mw"].sum()),
        "fcr": float(fleet.filter(pl.col("fcr"))["p_discharge_mw"].sum()),
        "afrr_pos": float(fleet.filter(pl.col("afrr_pos"))["p_discharge_mw"].sum()),
        "afrr_neg": float(fleet.filter(pl.col("afrr_neg"))["p_charge_mw"].sum()),
    }
    energy = float((fleet["e_max_mwh"] - fleet["e_min_mwh"]).sum())
    bounds = [
        pl.when(pl.col(factor) > 0).then(power[market] / pl.col(factor))
        for market, factor in MARKET_FACTOR.items()
    ]
    bounds.append(
        pl.when(pl.col("wholesale_mw") * pl.col("wholesale_h") > 0).then(
            energy / (pl.col("wholesale_mw") * pl.col("wholesale_h"))
        )
    )
    return products.select("product_id", capacity_mw=pl.min_horizontal(bounds).fill_null(0.0))


def book_by_product(bids: pl.DataFrame) -> pl.DataFrame:
    """Per product: bids, organisations, MW offered, lowest, median and highest price."""
    return (
        bids.group_by("product_id")
        .agg(
            bids=pl.len(),
            organisations=pl.col("org_id").n_unique(),
            offered_mw=pl.col("quantity_mw").sum().round(3),
            lowest_price=pl.col("price_eur_per_mw").min(),
            median_price=pl.col("price_eur_per_mw").median().round(2),
            highest_price=pl.col("price_eur_per_mw").max(),
        )
        .sort("product_id")
    )


def warnings(archive: Archive) -> pl.DataFrame:
    """One row per warning: bid_id, org_id, product_id, kind, message."""
    bids = archive.bids.join(product_capacity_mw(archive), on="product_id", how="left").join(
        archive.products.select("product_id", "max_mw"), on="product_id", how="left"
    )
    bids = bids.with_columns(
        median=pl.col("price_eur_per_mw").median().over("product_id"),
        n=pl.len().over("product_id"),
    )
    price = bids.filter(
        (pl.col("n") >= MIN_BIDS_FOR_MEDIAN)
        & (pl.col("price_eur_per_mw") > PRICE_FACTOR * pl.col("median"))
    ).select(
        "bid_id",
        "org_id",
        "product_id",
        kind=pl.lit("price_outlier"),
        message=pl.format(
            "price {} EUR/MW is more than {}x the median {} EUR/MW of product {}",
            "price_eur_per_mw",
            pl.lit(f"{PRICE_FACTOR:g}"),
            "median",
            "product_id",
        ),
    )
    capacity = bids.filter(pl.col("quantity_mw") > pl.col("capacity_mw")).select(
        "bid_id",
        "org_id",
        "product_id",
        kind=pl.lit("quantity_above_fleet"),
        message=pl.format(
            "quantity {} MW is more than the fleet can carry of product {} (at most {} MW)",
            "quantity_mw",
            "product_id",
            pl.col("capacity_mw").round(3),
        ),
    )
    above_max = bids.filter(pl.col("quantity_mw") > pl.col("max_mw")).select(
        "bid_id",
        "org_id",
        "product_id",
        kind=pl.lit("quantity_above_max"),
        message=pl.format(
            "quantity {} MW is more than the {} MW on sale of product {}",
            "quantity_mw",
            "max_mw",
            "product_id",
        ),
    )
    return pl.concat([price, capacity, above_max]).sort("product_id", "bid_id", "kind")
