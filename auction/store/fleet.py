"""The operator's physical fleet and its outages in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.book import AVAILABILITY, FLEET
from auction.store.accounts import new_id
from auction.store.schema import fleet_assets, fleet_outages


def replace_fleet(conn: Connection, fleet: pl.DataFrame) -> None:
    """Replace the whole fleet by ``fleet`` (``FLEET`` schema, checked)."""
    conn.execute(fleet_assets.delete())
    if fleet.height:
        conn.execute(fleet_assets.insert(), fleet.select(FLEET.names()).to_dicts())


def fleet_frame(conn: Connection) -> pl.DataFrame:
    """The fleet with the ``FLEET`` schema, in asset id order."""
    query = sa.select(*[fleet_assets.c[c] for c in FLEET.names()]).order_by(fleet_assets.c.asset_id)
    return pl.DataFrame(conn.execute(query).all(), schema=FLEET, orient="row")


def add_outages(conn: Connection, outages: pl.DataFrame, now: datetime) -> list[str]:
    """Record outages or derates (``AVAILABILITY`` schema, checked); returns their ids."""
    rows = [{**row, "outage_id": new_id(), "created_at": now} for row in outages.to_dicts()]
    if rows:
        conn.execute(fleet_outages.insert(), rows)
    return [str(r["outage_id"]) for r in rows]


def availability_frame(
    conn: Connection, start: datetime, end: datetime, *, recorded_after: datetime | None = None
) -> pl.DataFrame:
    """Outages and derates that overlap [start, end), ``AVAILABILITY`` schema; only those
    recorded after ``recorded_after`` if given."""
    t = fleet_outages.c
    query = (
        sa.select(t.asset_id, t.start, t.end, t.available_fraction)
        .where(t.start < end, t.end > start)
        .order_by(t.asset_id, t.start, t.end, t.available_fraction)
    )
    if recorded_after is not None:
        query = query.where(t.created_at > recorded_after)
    return pl.DataFrame(conn.execute(query).all(), schema=AVAILABILITY, orient="row")


@dataclass(frozen=True, slots=True)
class OutageRecord:
    """An outage or derate as recorded: its id, the row of availability.csv, when."""

    outage_id: str
    asset_id: str
    start: datetime
    end: datetime
    available_fraction: float
    created_at: datetime


def outage_records(conn: Connection, *, ending_after: datetime | None = None) -> list[OutageRecord]:
    """The outages and derates recorded (those ending after ``ending_after`` if given), in
    the order of their start, then asset."""
    t = fleet_outages.c
    query = sa.select(
        t.outage_id, t.asset_id, t.start, t.end, t.available_fraction, t.created_at
    ).order_by(t.start, t.asset_id, t.end, t.outage_id)
    if ending_after is not None:
        query = query.where(t.end > ending_after)
    return [OutageRecord(*row) for row in conn.execute(query).all()]
