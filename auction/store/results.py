"""Clearing results in the store: the summary, the checker's verdict and the five tables.

A new clearing of the same auction replaces the earlier one (allowed until publication).
Rows keep the order the clearing produced (``row_no``), so the tables read back are the
ones written, and an export reproduces the result files byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from polars._typing import PolarsDataType
from sqlalchemy.engine import Connection

from auction.book import ALLOCATION_KW, BACKING_KW, UTC_TIME
from auction.store.schema import allocation, awards, backing, blocks, clearings, virtual_assets


def _schema(columns: dict[str, PolarsDataType]) -> pl.Schema:
    return pl.Schema(columns)


# The result tables as the clearing produces them, in exact integers.
RESULT_SCHEMAS: dict[str, pl.Schema] = {
    "awards": _schema(
        {
            "bid_id": pl.String,
            "org_id": pl.String,
            "product_id": pl.String,
            "awarded_kw": pl.Int64,
            "price_cents": pl.Int64,
            "payment_units": pl.Int64,
            "status": pl.String,
            "reason": pl.String,
        }
    ),
    "allocation": ALLOCATION_KW,
    "virtual_assets": _schema(
        {
            "virtual_asset_id": pl.String,
            "org_id": pl.String,
            "bid_id": pl.String,
            "product_id": pl.String,
            "start": UTC_TIME,
            "end": UTC_TIME,
        }
    ),
    "blocks": _schema(
        {
            "block_id": pl.String,
            "virtual_asset_id": pl.String,
            "market": pl.String,
            "power_kw": pl.Int64,
            "energy_kwh": pl.Int64,
            "start": UTC_TIME,
            "end": UTC_TIME,
        }
    ),
    "backing": BACKING_KW,
}
_TABLES = {
    "awards": awards,
    "allocation": allocation,
    "virtual_assets": virtual_assets,
    "blocks": blocks,
    "backing": backing,
}


@dataclass(frozen=True, slots=True)
class ClearingRecord:
    auction_id: str
    status: str
    summary: dict[str, Any]
    input_sha256: str
    result_sha256: str
    checker_ok: bool
    checker_report: str
    fleet_csv: str
    availability_csv: str
    created_at: datetime


def save_clearing(
    conn: Connection,
    record: ClearingRecord,
    tables: dict[str, pl.DataFrame],
) -> None:
    """Store a clearing's record and its tables, replacing any earlier clearing."""
    auction_id = record.auction_id
    for table in (clearings, *_TABLES.values()):
        conn.execute(table.delete().where(table.c.auction_id == auction_id))
    conn.execute(
        clearings.insert().values(
            auction_id=auction_id,
            status=record.status,
            summary_json=json.dumps(record.summary, sort_keys=True),
            input_sha256=record.input_sha256,
            result_sha256=record.result_sha256,
            checker_ok=record.checker_ok,
            checker_report=record.checker_report,
            fleet_csv=record.fleet_csv,
            availability_csv=record.availability_csv,
            created_at=record.created_at,
        )
    )
    for name, table in _TABLES.items():
        frame = tables[name].select(RESULT_SCHEMAS[name].names())
        rows = frame.with_row_index("row_no").with_columns(auction_id=pl.lit(auction_id))
        if rows.height:
            conn.execute(table.insert(), rows.to_dicts())


def org_award_counts(conn: Connection, org_id: str, auction_ids: Sequence[str]) -> dict[str, int]:
    """The organisation's bids awarded something, per auction (one grouped query)."""
    query = (
        sa.select(awards.c.auction_id, sa.func.count())
        .where(
            awards.c.org_id == org_id,
            awards.c.auction_id.in_(list(auction_ids)),
            awards.c.awarded_kw > 0,
        )
        .group_by(awards.c.auction_id)
    )
    return {auction_id: int(n) for auction_id, n in conn.execute(query)}


def get_clearing(conn: Connection, auction_id: str) -> ClearingRecord | None:
    row = conn.execute(sa.select(clearings).where(clearings.c.auction_id == auction_id)).first()
    if row is None:
        return None
    m = row._mapping
    return ClearingRecord(
        auction_id=m["auction_id"],
        status=m["status"],
        summary=json.loads(m["summary_json"]),
        input_sha256=m["input_sha256"],
        result_sha256=m["result_sha256"],
        checker_ok=m["checker_ok"],
        checker_report=m["checker_report"],
        fleet_csv=m["fleet_csv"],
        availability_csv=m["availability_csv"],
        created_at=m["created_at"],
    )


def result_frame(
    conn: Connection, auction_id: str, name: str, *, org_id: str | None = None
) -> pl.DataFrame:
    """One result table in its stored order; only one organisation's rows if ``org_id``."""
    table, schema = _TABLES[name], RESULT_SCHEMAS[name]
    query = (
        sa.select(*[table.c[c] for c in schema.names()])
        .where(table.c.auction_id == auction_id)
        .order_by(table.c.row_no)
    )
    if org_id is not None:
        query = query.where(table.c.org_id == org_id)
    return pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row")
