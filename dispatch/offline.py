"""Offline dispatch of a cleared archive: its blocks, the schedules beside it, the setpoints.

The door of ``vba dispatch AUCTION_DIR OUT``; the server does the same from its store.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from auction.model import Archive
from auction.timegrid import day_bounds
from clearing import ClearingResult
from dispatch.disaggregate import Disaggregation, disaggregate
from dispatch.files import read_outages, read_rebacked, read_schedules
from dispatch.frames import BLOCKS, dispatch_blocks
from dispatch.schedule import BlockTerms, terms_by_block
from dispatch.slices import whole_window


def result_blocks(archive: Archive, result: ClearingResult) -> pl.DataFrame:
    """The result's blocks as ``BLOCKS`` (plus virtual_asset_id and auction_id)."""
    cfg = archive.config
    rows = result.blocks.with_columns(auction_id=pl.lit(cfg.auction_id))
    return dispatch_blocks(rows, {cfg.auction_id: cfg})


def block_terms(archive: Archive, blocks: pl.DataFrame) -> dict[str, BlockTerms]:
    """The schedule rules of every wholesale block, from the archive's conventions."""
    wholesale = blocks.filter(pl.col("market") == "wholesale").join(
        archive.products.select("product_id", "eta_charge", "eta_discharge", "daily_cycle_limit"),
        on="product_id",
        how="left",
    )
    return terms_by_block(archive.config, wholesale)


def replay(
    root: Path,
    archive: Archive,
    result: ClearingResult,
    rebalance: bool = False,
    prices: pl.DataFrame | None = None,
) -> Disaggregation:
    """The delivery day's setpoints for the schedules, re-backing and later outages
    stored beside the archive in ``root``; with the operator's rebalancing plan
    (priced against ``prices`` if given) when ``rebalance``."""
    blocks = result_blocks(archive, result)
    schedules = read_schedules(root, blocks, block_terms(archive, blocks))
    rebacked = read_rebacked(root, blocks)
    moved = rebacked["block_id"].unique().implode()
    backing = pl.concat(
        [
            whole_window(result.backing, blocks).filter(~pl.col("block_id").is_in(moved)),
            rebacked,
        ]
    )
    start, end = day_bounds(archive.config.delivery_day, archive.config.time_zone)
    availability = pl.concat([archive.availability, read_outages(root, archive.fleet)])
    return disaggregate(
        archive.fleet,
        availability,
        blocks.select(BLOCKS.names()),
        backing,
        schedules,
        start,
        end,
        archive.config.mtu_minutes,
        rebalance=rebalance,
        prices=prices,
    )
