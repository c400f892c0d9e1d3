"""Figures a person wants after a clearing: per product, and how full the fleet is."""

from __future__ import annotations

import numpy as np
import polars as pl

from auction.book import MARKET_FACTOR
from auction.model import Archive
from auction.timegrid import Grid, mtu_index
from auction.units import KW_PER_MW, PAYMENT_UNITS_PER_EUR, from_units
from clearing.result import ClearingResult


def product_table(archive: Archive, result: ClearingResult) -> pl.DataFrame:
    """Per product: bids, MW offered and awarded, revenue, lowest and highest accepted price."""
    awards = result.awards
    per_product = awards.group_by("product_id").agg(
        bids=pl.len(),
        offered_kw=pl.col("q_kw").sum(),
        awarded_kw=pl.col("awarded_kw").sum(),
        revenue_units=pl.col("payment_units").sum(),
        lowest_cents=pl.col("price_cents").filter(pl.col("awarded_kw") > 0).min(),
        highest_cents=pl.col("price_cents").filter(pl.col("awarded_kw") > 0).max(),
    )
    alloc = archive.allocations.group_by("product_id").agg(
        allocated_kw=(pl.col("quantity_mw") * 1000).round(0).cast(pl.Int64).sum()
    )
    return (
        archive.products.select("product_id", "start", "end", "max_mw")
        .join(per_product, on="product_id", how="left")
        .join(alloc, on="product_id", how="left")
        .with_columns(
            pl.col("bids", "offered_kw", "awarded_kw", "revenue_units", "allocated_kw").fill_null(0)
        )
        .sort("product_id")
    )


def utilisation(archive: Archive, result: ClearingResult) -> dict[str, float]:
    """Mean and peak share of the zone's available discharge power that is sold, over the day.

    Counts the discharge-direction power of every block (wholesale, FCR, aFRR+) against the
    available discharge power of the assets in the zone, MTU by MTU.
    """
    cfg = archive.config
    grid = Grid.of_day(cfg.delivery_day, cfg.mtu_minutes, cfg.time_zone)
    start, n, mtu = grid.start, grid.n_mtu, cfg.mtu_minutes
    fleet = archive.fleet.filter(pl.col("tso_zone") == cfg.tso_zone)
    capacity = np.full(n, float(fleet["p_discharge_mw"].sum()))
    outage = archive.availability.join(fleet.select("asset_id", "p_discharge_mw"), on="asset_id")
    for row in outage.iter_rows(named=True):  # few rows: outages, not bids
        t0 = max(0, mtu_index(row["start"], start, mtu))
        t1 = min(n, mtu_index(row["end"], start, mtu, ceil=True))
        capacity[t0:t1] -= (1 - row["available_fraction"]) * row["p_discharge_mw"]
    sold = np.zeros(n)
    factors = archive.products.select(
        "product_id",
        "start",
        "end",
        up=sum(pl.col(MARKET_FACTOR[m]) for m in ("wholesale", "fcr", "afrr_pos")),
    )
    # X_p (bids and fixed allocations) is what every market of the product sums to.
    per_product = (
        result.allocation.group_by("product_id", "market")
        .agg(kw=pl.col("kw").sum())
        .group_by("product_id")
        .agg(kw=pl.col("kw").max())
        .join(factors, on="product_id")
    )
    for row in per_product.iter_rows(named=True):  # one per product
        t0 = mtu_index(row["start"], start, mtu)
        t1 = mtu_index(row["end"], start, mtu)
        sold[t0:t1] += row["up"] * row["kw"] / 1000
    share = np.divide(sold, capacity, out=np.zeros(n), where=capacity > 0)
    return {"mean": float(share.mean()) if n else 0.0, "peak": float(share.max()) if n else 0.0}


def price_needed(awards: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """For each bid that got less than it asked because of its price: the price it needed.

    ``awards`` has bid_id, product_id, price_cents, awarded_kw, status, reason. A bid
    ``below_reserve`` needed the reserve price; an ``outbid`` one needed the lowest price
    accepted in its product (one cent more if it already offered that, having lost on
    time priority or capacity). Other reasons (groups, links, minimums) are not about
    price: null. Returns bid_id, needed_cents.
    """
    lowest = (
        awards.filter(pl.col("awarded_kw") > 0)
        .group_by("product_id")
        .agg(lowest=pl.col("price_cents").min())
    )
    reserve = products.select(
        "product_id", reserve=(pl.col("reserve_price_eur_per_mw") * 100).round(0).cast(pl.Int64)
    )
    return (
        awards.join(lowest, on="product_id", how="left")
        .join(reserve, on="product_id", how="left")
        .select(
            "bid_id",
            needed_cents=pl.when(pl.col("reason") == "below_reserve")
            .then(pl.col("reserve"))
            .when(pl.col("reason") == "outbid")
            .then(
                pl.when(pl.col("price_cents") >= pl.col("lowest"))
                .then(pl.col("price_cents") + 1)
                .otherwise(pl.col("lowest"))
            ),
        )
    )


def public_results(bids: pl.DataFrame, awards: pl.DataFrame) -> pl.DataFrame:
    """The anonymous list balancing-market operators publish, one row per bid.

    ``bids`` has bid_id, product_id, quantity_kw; ``awards`` bid_id, awarded_kw,
    price_cents. Rows are ordered best price first; organisations and bid ids are left out.
    """
    return (
        awards.join(bids.select("bid_id", "quantity_kw"), on="bid_id", how="left")
        .select("product_id", "price_cents", offered_kw="quantity_kw", awarded_kw="awarded_kw")
        .sort(
            ["product_id", "price_cents", "awarded_kw", "offered_kw"],
            descending=[False, True, True, True],
        )
    )


def awards_by_product(awards: pl.DataFrame) -> pl.DataFrame:
    """Per product of stored awards (integer kW, payment units): accepted bids, MW, EUR."""
    totals = (
        awards.group_by("product_id")
        .agg(
            awarded_kw=pl.col("awarded_kw").sum(),
            revenue_units=pl.col("payment_units").sum(),
            accepted=(pl.col("awarded_kw") > 0).sum(),
        )
        .sort("product_id")
    )
    return totals.select(
        "product_id",
        "accepted",
        awarded_mw=from_units(totals["awarded_kw"], KW_PER_MW),
        revenue_eur=from_units(totals["revenue_units"], PAYMENT_UNITS_PER_EUR),
    )
