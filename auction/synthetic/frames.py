"""Frame helpers the generators share: array types, exact schemas, epoch microseconds."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
from numpy.typing import NDArray

from auction.book import UTC_TIME

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """``frame`` with exactly the columns, order and dtypes of ``schema``."""
    return frame.select(schema.names()).cast(schema)


def epoch_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch."""
    return round(instant.timestamp() * 1_000_000)


def utc_series(name: str, epoch_us: IntArray | list[int]) -> pl.Series:
    """Epoch microseconds as a ``Datetime("us", "UTC")`` column."""
    return pl.Series(name, epoch_us, dtype=pl.Int64).cast(UTC_TIME)
