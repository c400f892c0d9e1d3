"""From the solver's values to exact awards per bid.

The model decides, per product, the total in increments and which binary bids are
accepted; this module hands the volume to the bids. Accepted binary bids get their
minimum first, then the rest goes in merit order (price, then time priority, then bid id)
up to each bid's quantity. For a fixed total and accepted set this is the revenue-optimal
split, so revenue is the model's; and it is exact integer arithmetic in kW.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from clearing.model import MilpArrays


def fill_awards(bids: pl.DataFrame, arrays: MilpArrays, values: np.ndarray) -> pl.DataFrame:
    """``bids`` (canonical order, from ``prepare_bids``) with ``awarded_kw`` added."""
    totals = arrays.products.select(
        "product_id",
        total_kw=pl.Series(np.rint(values[arrays.products["col"].to_numpy()]), dtype=pl.Int64)
        * pl.col("inc_kw"),
    )
    accepted = arrays.complex_bids.select(
        "bid_id", accepted=pl.Series(values[arrays.complex_bids["y_col"].to_numpy()] > 0.5)
    )
    frame = (
        bids.join(accepted, on="bid_id", how="left", maintain_order="left")
        .join(totals, on="product_id", how="left", maintain_order="left")
        .with_columns(
            taking=pl.col("eligible")
            & pl.when(pl.col("needs_binary")).then(pl.col("accepted")).otherwise(True)
        )
        .with_columns(
            base_kw=pl.when(pl.col("taking") & pl.col("needs_binary"))
            .then(pl.max_horizontal("min_kw", "inc_kw"))
            .otherwise(0),
            room_kw=pl.when(pl.col("taking")).then(pl.col("q_kw")).otherwise(0),
        )
        .with_columns(room_kw=pl.col("room_kw") - pl.col("base_kw"))
        .with_columns(
            rest_kw=(pl.col("total_kw").fill_null(0) - pl.col("base_kw").sum().over("product_id")),
            # Volume in merit order: bids are already sorted by price, time, id per product.
            before_kw=pl.col("room_kw").cum_sum().over("product_id") - pl.col("room_kw"),
        )
        .with_columns(
            awarded_kw=pl.col("base_kw")
            + (pl.col("rest_kw") - pl.col("before_kw")).clip(0, None).clip(None, pl.col("room_kw"))
        )
    )
    return frame.drop(
        "accepted", "total_kw", "taking", "base_kw", "room_kw", "rest_kw", "before_kw"
    )
