"""Ancillary bids in the store: each bid as it is now, and every version sent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.store.accounts import new_id
from auction.store.schema import ancillary_bid_versions, ancillary_bids

# A bid moves on: submitted by its owner, sent to the TSO by the operator, then the TSO's
# result marks it; its owner may withdraw it before the gate.
STATUSES = ("submitted", "sent", "accepted", "partially_accepted", "rejected", "withdrawn")


@dataclass(frozen=True, slots=True)
class AncillaryBid:
    bid_id: str
    virtual_asset_id: str
    product_code: str
    org_id: str
    block_id: str
    delivery_day: date
    market: str
    direction: str
    start: datetime
    end: datetime
    gate_closure: datetime
    version: int
    offered_kw: int
    capacity_price_cents: int | None
    energy_price_cents: int | None
    status: str
    accepted_kw: int | None
    accepted_price_cents: int | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AncillaryBidVersion:
    version: int
    offered_kw: int
    capacity_price_cents: int | None
    energy_price_cents: int | None
    withdrawn: bool
    user_id: str
    at: datetime


def _bid(row: Any) -> AncillaryBid:
    """A row of ``select(ancillary_bids)``: its keys are the fields (one mapping per row, not
    one per column: a day's export reads thousands)."""
    return AncillaryBid(**row._mapping)


def bids_of(
    conn: Connection, virtual_asset_id: str, product_codes: Iterable[str] | None = None
) -> list[AncillaryBid]:
    """The virtual asset's bids (only those of ``product_codes`` if given), by product."""
    t = ancillary_bids.c
    query = sa.select(ancillary_bids).where(t.virtual_asset_id == virtual_asset_id)
    if product_codes is not None:
        query = query.where(t.product_code.in_(sorted(set(product_codes))))
    return [_bid(r) for r in conn.execute(query.order_by(t.start, t.product_code))]


def save_versions(
    conn: Connection, bids: Sequence[dict[str, Any]], user_id: str, now: datetime
) -> list[AncillaryBid]:
    """Store each bid (the ``ancillary_bids`` columns but ids, version, status, results and
    time) as a new version of the virtual asset's bid for its product, replacing the
    last one (its status back to submitted), or as the first."""
    if not bids:
        return []
    va = bids[0]["virtual_asset_id"]
    current = {b.product_code: b for b in bids_of(conn, va, [b["product_code"] for b in bids])}
    versions = []
    for bid in bids:
        old = current.get(bid["product_code"])
        row = {
            **bid,
            "version": 1 if old is None else old.version + 1,
            "status": "submitted",
            "accepted_kw": None,
            "accepted_price_cents": None,
            "updated_at": now,
        }
        if old is None:
            row["bid_id"] = new_id()
            conn.execute(ancillary_bids.insert().values(**row))
        else:
            row["bid_id"] = old.bid_id
            conn.execute(
                ancillary_bids.update().where(ancillary_bids.c.bid_id == old.bid_id).values(**row)
            )
        versions.append(_version_row(row, withdrawn=False, user_id=user_id, at=now))
    conn.execute(ancillary_bid_versions.insert(), versions)
    return bids_of(conn, va, [b["product_code"] for b in bids])


def withdraw(conn: Connection, bid: AncillaryBid, user_id: str, now: datetime) -> AncillaryBid:
    """A new version of the bid that withdraws it."""
    row = {
        "bid_id": bid.bid_id,
        "version": bid.version + 1,
        "offered_kw": bid.offered_kw,
        "capacity_price_cents": bid.capacity_price_cents,
        "energy_price_cents": bid.energy_price_cents,
    }
    conn.execute(
        ancillary_bids.update()
        .where(ancillary_bids.c.bid_id == bid.bid_id)
        .values(version=row["version"], status="withdrawn", updated_at=now)
    )
    conn.execute(
        ancillary_bid_versions.insert().values(
            **_version_row(row, withdrawn=True, user_id=user_id, at=now)
        )
    )
    [after] = bids_of(conn, bid.virtual_asset_id, [bid.product_code])
    return after


def versions_of(conn: Connection, bid_id: str) -> list[AncillaryBidVersion]:
    """Every version of the bid, oldest first."""
    t = ancillary_bid_versions.c
    rows = conn.execute(
        sa.select(
            t.version,
            t.offered_kw,
            t.capacity_price_cents,
            t.energy_price_cents,
            t.withdrawn,
            t.user_id,
            t.at,
        )
        .where(t.bid_id == bid_id)
        .order_by(t.version)
    )
    return [AncillaryBidVersion(*r) for r in rows]


def _version_row(
    row: dict[str, Any], *, withdrawn: bool, user_id: str, at: datetime
) -> dict[str, Any]:
    return {
        "bid_id": row["bid_id"],
        "version": row["version"],
        "offered_kw": row["offered_kw"],
        "capacity_price_cents": row["capacity_price_cents"],
        "energy_price_cents": row["energy_price_cents"],
        "withdrawn": withdrawn,
        "user_id": user_id,
        "at": at,
    }


def day_bids(
    conn: Connection, day: date, markets: Iterable[str], statuses: Iterable[str]
) -> list[AncillaryBid]:
    """The bids of a delivery day in these markets and statuses, by product and id."""
    t = ancillary_bids.c
    query = (
        sa.select(ancillary_bids)
        .where(
            t.delivery_day == day,
            t.market.in_(sorted(set(markets))),
            t.status.in_(sorted(set(statuses))),
        )
        .order_by(t.start, t.product_code, t.bid_id)
    )
    return [_bid(r) for r in conn.execute(query)]


def mark_sent(conn: Connection, bid_ids: Sequence[str], now: datetime) -> None:
    """The operator sent these bids to the TSO."""
    # In slices: an aFRR energy day of 2,000 virtual assets is 384,000 bids, more bound
    # parameters than one statement may carry (PostgreSQL 65,535).
    ids = list(bid_ids)
    for first in range(0, len(ids), _SLICE):
        conn.execute(
            ancillary_bids.update()
            .where(ancillary_bids.c.bid_id.in_(ids[first : first + _SLICE]))
            .values(status="sent", updated_at=now)
        )


_SLICE = 10_000


def set_results(conn: Connection, results: Sequence[dict[str, Any]], now: datetime) -> None:
    """Mark each bid (bid_id, accepted_kw, accepted_price_cents, status) with the TSO's
    result; setting the same result again changes nothing but the time."""
    if not results:
        return
    # One statement executed for many rows: building and caching a statement per row cost
    # most of an import of a day (~3 s for 12,000 bids on SQLite).
    update = (
        ancillary_bids.update()
        .where(ancillary_bids.c.bid_id == sa.bindparam("result_bid_id"))
        .values(
            accepted_kw=sa.bindparam("result_kw"),
            accepted_price_cents=sa.bindparam("result_price_cents"),
            status=sa.bindparam("result_status"),
            updated_at=now,
        )
    )
    conn.execute(
        update,
        [
            {
                "result_bid_id": r["bid_id"],
                "result_kw": r["accepted_kw"],
                "result_price_cents": r["accepted_price_cents"],
                "result_status": r["status"],
            }
            for r in results
        ],
    )


def accepted_on(conn: Connection, block_ids: Sequence[str]) -> list[AncillaryBid]:
    """The accepted (wholly or partly) bids drawing on these blocks, by product and id."""
    t = ancillary_bids.c
    query = (
        sa.select(ancillary_bids)
        .where(
            t.block_id.in_(list(block_ids)),
            t.status.in_(["accepted", "partially_accepted"]),
        )
        .order_by(t.start, t.product_code, t.bid_id)
    )
    return [_bid(r) for r in conn.execute(query)]
