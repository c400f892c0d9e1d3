"""Polars schemas of the tables the engine works on.

These are the frames after reading and validating an archive: timestamps are UTC,
quantities MW on the 1 kW grid, prices EUR/MW on the cent grid, optional cells null.
Column names are those of docs/archive.md.
"""

from __future__ import annotations

import polars as pl
from polars._typing import PolarsDataType

UTC_TIME = pl.Datetime("us", "UTC")


def schema(columns: dict[str, PolarsDataType]) -> pl.Schema:
    """A polars schema from a literal dict (typed, so mypy accepts the mixed dtypes)."""
    return pl.Schema(columns)


def numbered(ids: list[str], column: str, index: str) -> pl.DataFrame:
    """``ids`` with their position, to join on (replace_strict keeps the type of an empty
    mapping's input, not the return type)."""
    frame = pl.DataFrame({column: ids}, schema={column: pl.String})
    return frame.with_row_index(index).with_columns(pl.col(index).cast(pl.Int64))


FLEET = pl.Schema(
    dict[str, PolarsDataType](
        {
            "asset_id": pl.String,
            "tso_zone": pl.String,
            "p_charge_mw": pl.Float64,
            "p_discharge_mw": pl.Float64,
            "e_min_mwh": pl.Float64,
            "e_max_mwh": pl.Float64,
            "fcr": pl.Boolean,
            "afrr_pos": pl.Boolean,
            "afrr_neg": pl.Boolean,
            "owner_org": pl.String,
            "eta_charge": pl.Float64,
            "eta_discharge": pl.Float64,
        }
    )
)

AVAILABILITY = pl.Schema(
    dict[str, PolarsDataType](
        {
            "asset_id": pl.String,
            "start": UTC_TIME,
            "end": UTC_TIME,
            "available_fraction": pl.Float64,
        }
    )
)

PRODUCTS = pl.Schema(
    dict[str, PolarsDataType](
        {
            "product_id": pl.String,
            "start": UTC_TIME,
            "end": UTC_TIME,
            "wholesale_mw": pl.Float64,
            "wholesale_h": pl.Float64,
            "fcr_mw": pl.Float64,
            "afrr_pos_mw": pl.Float64,
            "afrr_neg_mw": pl.Float64,
            "min_mw": pl.Float64,
            "increment_mw": pl.Float64,
            "reserve_price_eur_per_mw": pl.Float64,
            "max_mw": pl.Float64,
            "eta_charge": pl.Float64,
            "eta_discharge": pl.Float64,
            "daily_cycle_limit": pl.Float64,
        }
    )
)

BIDS = pl.Schema(
    dict[str, PolarsDataType](
        {
            "bid_id": pl.String,
            "org_id": pl.String,
            "product_id": pl.String,
            "quantity_mw": pl.Float64,
            "min_quantity_mw": pl.Float64,
            "price_eur_per_mw": pl.Float64,
            "submitted_at": UTC_TIME,
            "exclusive_group": pl.String,
            "linked_to": pl.String,
        }
    )
)

ALLOCATIONS = pl.Schema(
    dict[str, PolarsDataType](
        {
            "org_id": pl.String,
            "product_id": pl.String,
            "quantity_mw": pl.Float64,
        }
    )
)

# The results behind allocation.csv and backing.csv, in integer kW and kWh.
ALLOCATION_KW = pl.Schema(
    dict[str, PolarsDataType](
        {"product_id": pl.String, "market": pl.String, "asset_id": pl.String, "kw": pl.Int64}
    )
)
BACKING_KW = pl.Schema(
    dict[str, PolarsDataType](
        {
            "block_id": pl.String,
            "asset_id": pl.String,
            "power_kw": pl.Int64,
            "energy_kwh": pl.Int64,
        }
    )
)

MARKETS = ("wholesale", "fcr", "afrr_pos", "afrr_neg")
# The product column holding each market's block power per MW awarded.
MARKET_FACTOR = {
    "wholesale": "wholesale_mw",
    "fcr": "fcr_mw",
    "afrr_pos": "afrr_pos_mw",
    "afrr_neg": "afrr_neg_mw",
}

# Which assets carry each block over a stretch of time. The clearing's backing holds for the
# block's whole window; after an outage a block may be carried differently in some MTUs.
# Where a block's slices sum to less than its power, the rest is unavailable (lost).
BACKING_SLICES = schema(
    {
        "block_id": pl.String,
        "asset_id": pl.String,
        "start": UTC_TIME,
        "end": UTC_TIME,
        "power_kw": pl.Int64,
        "energy_kwh": pl.Int64,
    }
)

# Invoice lines: what settlement writes and the store keeps. Money in 1e-5 EUR (1 kW x 1
# cent), exact; what the customer pays positive, what it gets back negative.
INVOICE_LINES = schema(
    {
        "auction_id": pl.String,
        "org_id": pl.String,
        "kind": pl.String,
        "virtual_asset_id": pl.String,
        "bid_id": pl.String,
        "product_id": pl.String,
        "start": UTC_TIME,
        "end": UTC_TIME,
        "description": pl.String,
        "quantity": pl.String,
        "unit": pl.String,
        "unit_price_eur": pl.String,
        "amount_units": pl.Int64,
    }
)
