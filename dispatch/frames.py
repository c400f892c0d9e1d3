"""Polars schemas of the frames dispatch works on.

Powers kW and energies kWh, as exact integers where they are contracts (blocks, backing,
schedules); instants UTC. Positive power discharges (export), negative charges (import).
"""

from __future__ import annotations

import polars as pl

from auction.book import UTC_TIME
from auction.book import schema as _schema

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

# Which assets carry each block over a stretch of time. The clearing's backing holds for the
# block's whole window; after an outage a block may be carried differently in some MTUs.
# Where a block's slices sum to less than its power, the rest is unavailable (lost).
BACKING_SLICES = _schema(
    {
        "block_id": pl.String,
        "asset_id": pl.String,
        "start": UTC_TIME,
        "end": UTC_TIME,
        "power_kw": pl.Int64,
        "energy_kwh": pl.Int64,
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
