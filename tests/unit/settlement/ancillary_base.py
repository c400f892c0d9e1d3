"""The hand-built base of the ancillary line tests (test_ancillary_*.py).

v1 of org A has a 5 MW FCR block ``f1``, a 5 MW aFRR+ block ``p1`` and a 5 MW aFRR- block
``n1``, all 00:00-08:00 local on the normal day. Bid windows come from the real products
(``dispatch.ancillary.products``), so the DST days give their 3- and 5-hour first blocks.
One unit is 1e-5 EUR = 1 kW × 1 cent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from auction.store.results import RESULT_SCHEMAS
from dispatch.ancillary.products import GateRules, Product, parse_product
from dispatch.slices import LOST
from settlement.ancillary import ANCILLARY_BIDS, ancillary_lines
from tests.strategies import NORMAL_DAY, local

GATES = GateRules()
Row = dict[str, Any]


def product(code: str) -> Product:
    return parse_product(code, GATES)


def bid(
    bid_id: str,
    code: str,
    kw: int,
    cents: int,
    block_id: str = "f1",
    va: str = "v1",
    org: str = "A",
    status: str = "accepted",
) -> Row:
    p = product(code)
    return {
        "bid_id": bid_id,
        "virtual_asset_id": va,
        "org_id": org,
        "block_id": block_id,
        "product_code": code,
        "market": p.market,
        "start": p.start,
        "end": p.end,
        "status": status,
        "accepted_kw": kw,
        "accepted_price_cents": cents,
    }


def block(
    block_id: str, market: str, kw: int, start: datetime, end: datetime, va: str = "v1"
) -> Row:
    return {
        "block_id": block_id,
        "virtual_asset_id": va,
        "market": market,
        "power_kw": kw,
        "energy_kwh": kw,
        "start": start,
        "end": end,
    }


def gone(block_id: str, start: datetime, end: datetime, kw: int) -> Row:
    return {"block_id": block_id, "start": start, "end": end, "lost_kw": kw}


def at(hour: int, minute: int = 0, day: date = NORMAL_DAY) -> datetime:
    return local(day, hour, minute)


# The base: v1's 5 MW FCR block 00:00-08:00 and 5 MW aFRR+ block 00:00-08:00 local.
BLOCKS = [
    block("f1", "fcr", 5_000, at(0), at(8)),
    block("p1", "afrr_pos", 5_000, at(0), at(8)),
    block("n1", "afrr_neg", 5_000, at(0), at(8)),
]


def lines_of(
    bids: list[Row], blocks: list[Row] | None = None, lost: list[Row] | None = None, **kw: Any
) -> pl.DataFrame:
    return ancillary_lines(
        pl.DataFrame(bids, schema=ANCILLARY_BIDS),
        pl.DataFrame(BLOCKS if blocks is None else blocks, schema=RESULT_SCHEMAS["blocks"]),
        pl.DataFrame(lost or [], schema=LOST),
        "t1",
        **kw,
    )


def rows(lines: pl.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    return lines.select(columns or ("kind", "description", "amount_units")).rows()
