"""The hand-built base of the invoice tests (test_invoices*.py) and the lines it gives.

One virtual asset ``v1`` of org A, bid b1, 10 MW at 30 EUR/MW over 10:00-14:00 local
(16 MTUs), paying 10,000 kW × 3,000 cents = 30,000,000 units (300 EUR), with a 10,000 kW
wholesale block and a 5,000 kW FCR block. One unit is 1e-5 EUR.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from auction.store.results import RESULT_SCHEMAS
from dispatch.slices import LOST
from settlement.invoices import invoice_lines
from tests.strategies import NORMAL_DAY, local

START = local(NORMAL_DAY, 10)
END = local(NORMAL_DAY, 14)
PAID = 30_000_000
Row = dict[str, Any]


def at(hour: int, minute: int = 0) -> datetime:
    return local(NORMAL_DAY, hour, minute)


def award(bid_id: str, org: str, kw: int, cents: int, product: str = "p1") -> Row:
    return {
        "bid_id": bid_id,
        "org_id": org,
        "product_id": product,
        "awarded_kw": kw,
        "price_cents": cents,
        "payment_units": kw * cents,
        "status": "accepted",
        "reason": None,
    }


def va(
    va_id: str, org: str, bid_id: str | None, start: datetime = START, end: datetime = END
) -> Row:
    return {
        "virtual_asset_id": va_id,
        "org_id": org,
        "bid_id": bid_id,
        "product_id": "p1",
        "start": start,
        "end": end,
    }


def block(block_id: str, va_id: str, market: str, kw: int, start: datetime = START) -> Row:
    return {
        "block_id": block_id,
        "virtual_asset_id": va_id,
        "market": market,
        "power_kw": kw,
        "energy_kwh": kw,
        "start": start,
        "end": END,
    }


def gone(block_id: str, start: datetime, end: datetime, kw: int) -> Row:
    return {"block_id": block_id, "start": start, "end": end, "lost_kw": kw}


def lines_of(
    awards: list[Row] | None = None,
    vas: list[Row] | None = None,
    blocks: list[Row] | None = None,
    lost: list[Row] | None = None,
    imbalances: list[Row] | None = None,
    price: int = 15_000,
    **options: Any,
) -> pl.DataFrame:
    """Invoice lines of the base (one VA, two blocks) with whatever is given instead."""
    return invoice_lines(
        pl.DataFrame(
            [award("b1", "A", 10_000, 3_000)] if awards is None else awards,
            schema=RESULT_SCHEMAS["awards"],
        ),
        pl.DataFrame(
            [va("v1", "A", "b1")] if vas is None else vas, schema=RESULT_SCHEMAS["virtual_assets"]
        ),
        pl.DataFrame(
            [block("w1", "v1", "wholesale", 10_000), block("f1", "v1", "fcr", 5_000)]
            if blocks is None
            else blocks,
            schema=RESULT_SCHEMAS["blocks"],
        ),
        pl.DataFrame(lost or [], schema=LOST),
        pl.DataFrame(
            imbalances or [],
            schema={
                "virtual_asset_id": pl.String,
                "imbalance_kwh": pl.Float64,
                "tolerance_kwh": pl.Float64,
            },
        ),
        price,
        "t1",
        **options,
    )


def credits(lines: pl.DataFrame) -> list[tuple[str, int]]:
    rows = lines.filter(pl.col("kind") == "unavailability_credit")
    return list(rows.select("description", "amount_units").iter_rows())
