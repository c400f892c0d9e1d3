"""From a clearing: the BLOCKS and BACKING_SLICES frames of a cleared auction.

``clearing_frames`` gives ``reback`` its ``blocks`` and ``backing`` straight from a
``ClearingResult``, in the clearing's line order; the tests and the benchmark use it.
"""

from __future__ import annotations

import polars as pl

from auction.model import Archive
from clearing.result import ClearingResult
from dispatch.frames import BACKING_SLICES, BLOCKS
from dispatch.slices import whole_window


def clearing_frames(archive: Archive, result: ClearingResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """BLOCKS and BACKING_SLICES of a cleared auction, in the clearing's (line) order."""
    cfg = archive.config
    blocks = result.blocks.select(
        "block_id",
        "product_id",
        "market",
        "power_kw",
        "energy_kwh",
        "start",
        "end",
        tso_zone=pl.lit(cfg.tso_zone),
        initial_soc_kwh=pl.when(pl.col("market") == "wholesale")
        .then(cfg.initial_soc_fraction * pl.col("energy_kwh"))
        .otherwise(0.0),
    ).cast(BLOCKS)
    return blocks, whole_window(result.backing, blocks).cast(BACKING_SLICES)
