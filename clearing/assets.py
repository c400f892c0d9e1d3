"""From awards to virtual assets, blocks and their physical backing.

Every positive award and every fixed allocation becomes one virtual asset with one block
per market of its product's recipe. Backing rule (documented choice, see docs/clearing.md):
inside one product and market the blocks are laid end to end in a fixed order, and so are
the assets' shares of that product; a block is backed by the assets whose stretch overlaps
its own. Each asset thus carries exactly its allocated share, sums are exact in kW, and a
block rests on one or two assets instead of a sliver of every asset of the pool, which
keeps dispatch and outage handling local.
"""

from __future__ import annotations

import uuid

import numpy as np
import polars as pl

from auction.book import BACKING_KW, MARKET_FACTOR, MARKETS
from auction.model import Archive
from auction.units import to_kw

# Namespace of the ids of virtual assets and blocks: uuid5 of names derived from the
# auction id and the bid id, so that a replay gives the same ids.
ID_NAMESPACE = uuid.UUID("5f1d2c3e-8b7a-4c61-9e0f-1a2b3c4d5e6f")
_GROUP_SPAN = 1 << 40  # kW: far above any product total, separates groups on one line


def derived_ids(names: pl.Series) -> pl.Series:
    """uuid5 of each name: stable across runs, machines and row orders."""
    return pl.Series([str(uuid.uuid5(ID_NAMESPACE, n)) for n in names], dtype=pl.String)


def allocation_kw(
    backing_cols: pl.DataFrame, w_kw: np.ndarray, share_kw: np.ndarray
) -> pl.DataFrame:
    """allocation.csv in kW, with each asset's share of the blocks' line (``share_kw``).

    ``w_kw`` and ``share_kw`` are whole kW per backing column (``clearing.rounding``);
    the share equals ``w`` wherever the market's factor is 1.
    """
    frame = backing_cols.with_columns(
        kw=pl.Series(w_kw, dtype=pl.Int64), share_kw=pl.Series(share_kw, dtype=pl.Int64)
    )
    return frame.filter((pl.col("kw") > 0) | (pl.col("share_kw") > 0)).select(
        "product_id", "market", "asset_id", "kw", "share_kw"
    )


def virtual_assets(archive: Archive, awards: pl.DataFrame) -> pl.DataFrame:
    """One virtual asset per positive award and per fixed allocation, in a canonical order."""
    aid = archive.config.auction_id
    from_bids = awards.filter(pl.col("awarded_kw") > 0).select(
        "org_id",
        "bid_id",
        "product_id",
        kw="awarded_kw",
        name=pl.lit(f"{aid}/bid/") + pl.col("bid_id"),
        order=pl.lit(1),
    )
    from_allocations = archive.allocations.sort("product_id", "org_id").select(
        "org_id",
        bid_id=pl.lit(None, pl.String),
        product_id="product_id",
        kw=to_kw(pl.col("quantity_mw")),
        name=pl.lit(f"{aid}/allocation/") + pl.col("org_id") + "/" + pl.col("product_id"),
        order=pl.lit(0),
    )
    # Allocations are served before bids, so they come first on each product's line.
    vas = pl.concat([from_allocations, from_bids]).with_row_index("seq")
    vas = vas.sort("product_id", "order", "seq").drop("seq", "order")
    return (
        vas.with_columns(virtual_asset_id=derived_ids(vas["name"]))
        .drop("name")
        .join(
            archive.products.select("product_id", "start", "end"),
            on="product_id",
            how="left",
            maintain_order="left",
        )
    )


def blocks(archive: Archive, vas: pl.DataFrame) -> pl.DataFrame:
    """One block per market with factor > 0: power = factor × MW, energy by market."""
    cfg = archive.config
    products = archive.products.select("product_id", "wholesale_h", *MARKET_FACTOR.values())
    energy_h = {
        "wholesale": pl.col("wholesale_h"),
        "fcr": pl.lit(2 * cfg.fcr_energy_h),
        "afrr_pos": pl.lit(cfg.afrr_energy_h),
        "afrr_neg": pl.lit(cfg.afrr_energy_h),
    }
    parts = []
    for i, market in enumerate(MARKETS):
        factor = pl.col(MARKET_FACTOR[market])
        parts.append(
            vas.join(products, on="product_id", how="left", maintain_order="left")
            .filter(factor > 0)
            .with_columns(
                market=pl.lit(market),
                market_order=pl.lit(i),
                power_kw=(factor * pl.col("kw")).round(0).cast(pl.Int64),
            )
            .with_columns(
                energy_kwh=(energy_h[market] * pl.col("power_kw")).round(0).cast(pl.Int64)
            )
        )
    frame = pl.concat(parts).with_row_index("seq")
    frame = frame.sort("product_id", "market_order", "seq").drop("seq")
    names = frame["virtual_asset_id"] + "/" + frame["market"]
    return frame.with_columns(block_id=derived_ids(names)).select(
        "block_id",
        "virtual_asset_id",
        "product_id",
        "market",
        "power_kw",
        "energy_kwh",
        "start",
        "end",
    )


def backing(blocks_frame: pl.DataFrame, alloc: pl.DataFrame) -> pl.DataFrame:
    """Which assets carry each block: blocks and asset shares laid end to end per product-market.

    Both lines have the same length: each asset's ``share_kw`` of the blocks' total power
    (its allocation where the market factor is 1; ``clearing.rounding`` makes the shares
    sum to the line).
    """
    keys = ["product_id", "market"]
    # Group numbers follow the blocks' own order, so positions on the line increase.
    groups = blocks_frame.select(keys).unique(maintain_order=True).with_row_index("g")
    shares = (
        alloc.filter(pl.col("share_kw") > 0)
        .join(groups, on=keys, how="inner")
        .sort("g", "asset_id")
    )
    framed_blocks = blocks_frame.join(groups, on=keys, how="left", maintain_order="left")

    def line(frame: pl.DataFrame, length: str) -> tuple[np.ndarray, np.ndarray]:
        ends = (
            frame.select(
                pl.col(length).cum_sum().over("g") + pl.col("g").cast(pl.Int64) * _GROUP_SPAN
            )
            .to_series()
            .to_numpy()
        )
        return ends - frame[length].to_numpy(), ends

    b_lo, b_hi = line(framed_blocks, "power_kw")
    a_lo, a_hi = line(shares, "share_kw")
    points = np.unique(np.concatenate([b_lo, b_hi, a_lo, a_hi]))
    lo, hi = points[:-1], points[1:]
    bi = np.searchsorted(b_lo, lo, side="right") - 1
    ai = np.searchsorted(a_lo, lo, side="right") - 1
    covered = (bi >= 0) & (ai >= 0)
    covered[covered] &= (hi[covered] <= b_hi[bi[covered]]) & (hi[covered] <= a_hi[ai[covered]])
    lo, hi, bi, ai = lo[covered], hi[covered], bi[covered], ai[covered]

    # Energy by the same cut, in integers, so that the pieces sum to the block's energy.
    power = blocks_frame["power_kw"].to_numpy()[bi]
    energy = blocks_frame["energy_kwh"].to_numpy()[bi]
    start = b_lo[bi]

    def energy_at(x: np.ndarray) -> np.ndarray:
        rounded: np.ndarray = (energy * (x - start) * 2 + power) // (2 * power)
        return rounded

    return pl.DataFrame(
        {
            "block_id": blocks_frame["block_id"].to_numpy()[bi],
            "asset_id": shares["asset_id"].to_numpy()[ai],
            "power_kw": hi - lo,
            "energy_kwh": energy_at(hi) - energy_at(lo),
        },
        schema=BACKING_KW,
    )
