"""Polars schemas of the frames dispatch works on.

Powers kW and energies kWh, as exact integers where they are contracts (blocks, backing,
schedules); instants UTC. Positive power discharges (export), negative charges (import).
"""

from __future__ import annotations

import polars as pl

from auction.book import BACKING_SLICES as BACKING_SLICES  # re-exported: dispatch's frame too
from auction.book import UTC_TIME
from auction.book import schema as _schema
from auction.model import AuctionConfig

# Published blocks, from any auctions: what the fleet must carry.
BLOCKS = _schema(
    {
        "block_id": pl.String,
        "product_id": pl.String,
        "market": pl.String,
        "power_kw": pl.Int64,
        "energy_kwh": pl.Int64,
        "start": UTC_TIME,
        "end": UTC_TIME,
        # The auction's control area: only assets of this zone may back the block.
        "tso_zone": pl.String,
        # Wholesale blocks: the virtual SoC at the start of the window (0 for reserve blocks).
        "initial_soc_kwh": pl.Float64,
    }
)

# Accepted wholesale schedules: the power of each MTU (by its start) that is not 0.
SCHEDULES = _schema(
    {
        "block_id": pl.String,
        "start": UTC_TIME,
        "power_kw": pl.Int64,
    }
)


def dispatch_blocks(rows: pl.DataFrame, configs: dict[str, AuctionConfig]) -> pl.DataFrame:
    """Blocks as ``BLOCKS`` (plus any other columns of ``rows``).

    ``rows`` has block_id, product_id, market, power_kw, energy_kwh, start, end and
    auction_id; ``configs`` holds each auction's conventions: its zone, and the initial
    SoC fraction that wholesale blocks start at.
    """
    zone = {aid: cfg.tso_zone for aid, cfg in configs.items()}
    initial = {aid: cfg.initial_soc_fraction for aid, cfg in configs.items()}
    auction = pl.col("auction_id")
    return rows.with_columns(
        tso_zone=auction.replace_strict(zone, return_dtype=pl.String),
        initial_soc_kwh=pl.when(pl.col("market") == "wholesale")
        .then(auction.replace_strict(initial, return_dtype=pl.Float64) * pl.col("energy_kwh"))
        .otherwise(0.0),
    ).select(*BLOCKS.names(), *[c for c in rows.columns if c not in BLOCKS.names()])
