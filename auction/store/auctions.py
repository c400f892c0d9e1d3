"""Auctions, their products and fixed allocations in the store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import polars as pl
import sqlalchemy as sa
from polars._typing import PolarsDataType
from sqlalchemy.engine import Connection

from auction.bidding import ProductLimits
from auction.book import ALLOCATIONS, PRODUCTS, UTC_TIME
from auction.errors import Conflict, NotFound
from auction.lifecycle import Status
from auction.model import AuctionConfig
from auction.store.schema import allocations, auctions, products
from auction.units import CENTS_PER_EUR, KW_PER_MW, from_units

# The products columns the store keeps as kW per MW (or kW), next to the archive's MW.
_KW_COLUMNS = {
    "wholesale_mw": "wholesale_kw",
    "fcr_mw": "fcr_kw",
    "afrr_pos_mw": "afrr_pos_kw",
    "afrr_neg_mw": "afrr_neg_kw",
    "min_mw": "min_kw",
    "increment_mw": "increment_kw",
    "max_mw": "max_kw",
}
_PLAIN_COLUMNS = ("wholesale_h", "eta_charge", "eta_discharge", "daily_cycle_limit")
_STORED_PRODUCT = pl.Schema(
    dict[str, PolarsDataType](
        {
            "auction_id": pl.String,
            "product_id": pl.String,
            "start": UTC_TIME,
            "end": UTC_TIME,
            **dict.fromkeys(_KW_COLUMNS.values(), pl.Int64),
            "reserve_cents": pl.Int64,
            **dict.fromkeys(_PLAIN_COLUMNS, pl.Float64),
        }
    )
)


@dataclass(frozen=True, slots=True)
class AuctionRecord:
    config: AuctionConfig
    status: Status
    auto_publish: bool
    created_at: datetime
    updated_at: datetime

    @property
    def auction_id(self) -> str:
        return self.config.auction_id

    @property
    def gate_close(self) -> datetime:
        assert self.config.gate_close is not None  # filled in by AuctionConfig
        return self.config.gate_close

    @property
    def publish_at(self) -> datetime:
        assert self.config.publish_at is not None
        return self.config.publish_at


def insert_auction(
    conn: Connection,
    config: AuctionConfig,
    product_frame: pl.DataFrame,
    *,
    auto_publish: bool,
    now: datetime,
) -> AuctionRecord:
    """Store a new auction (status draft) with its checked products (``PRODUCTS`` schema)."""
    found = conn.execute(
        sa.select(auctions.c.auction_id).where(auctions.c.auction_id == config.auction_id)
    ).first()
    if found:
        raise Conflict(
            f"auction {config.auction_id!r} exists already", auction_id=config.auction_id
        )
    conn.execute(
        auctions.insert().values(
            auction_id=config.auction_id,
            config_json=config.model_dump_json(),
            delivery_day=config.delivery_day,
            gate_open=config.gate_open,
            gate_close=config.gate_close,
            publish_at=config.publish_at,
            auto_publish=auto_publish,
            status=Status.DRAFT.value,
            created_at=now,
            updated_at=now,
        )
    )
    rows = product_frame.select(
        pl.lit(config.auction_id).alias("auction_id"),
        "product_id",
        "start",
        "end",
        *[(pl.col(mw) * 1000).round(0).cast(pl.Int64).alias(kw) for mw, kw in _KW_COLUMNS.items()],
        (pl.col("reserve_price_eur_per_mw") * 100).round(0).cast(pl.Int64).alias("reserve_cents"),
        *_PLAIN_COLUMNS,
    ).to_dicts()
    if rows:
        conn.execute(products.insert(), rows)
    return get_auction(conn, config.auction_id)


@lru_cache(maxsize=256)
def _config(config_json: str) -> AuctionConfig:
    # Validating auction.json costs more than the rest of a bid's checks; configs are
    # immutable (frozen), so one parse per distinct text is enough.
    return AuctionConfig.model_validate(json.loads(config_json))


def _record(row: sa.Row[tuple[object, ...]]) -> AuctionRecord:
    m = row._mapping
    config = _config(m["config_json"])
    return AuctionRecord(
        config, Status(m["status"]), m["auto_publish"], m["created_at"], m["updated_at"]
    )


def get_auction(
    conn: Connection, auction_id: str, *, lock: bool = False, shared: bool = False
) -> AuctionRecord:
    """One auction; ``lock`` holds its row until the transaction ends (PostgreSQL), alone
    or, ``shared``, beside other shared holders: bid submissions share it, so they run
    side by side, while a change of status waits for them and they for it."""
    query = sa.select(auctions).where(auctions.c.auction_id == auction_id)
    if lock:
        query = query.with_for_update(read=shared)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound("auction", auction_id)
    return _record(row)


def list_auctions(conn: Connection, statuses: set[Status] | None = None) -> list[AuctionRecord]:
    query = sa.select(auctions).order_by(auctions.c.delivery_day.desc(), auctions.c.auction_id)
    if statuses is not None:
        query = query.where(auctions.c.status.in_([s.value for s in statuses]))
    return [_record(row) for row in conn.execute(query)]


def set_status(conn: Connection, auction_id: str, status: Status, now: datetime) -> None:
    conn.execute(
        auctions.update()
        .where(auctions.c.auction_id == auction_id)
        .values(status=status.value, updated_at=now)
    )


def due_to_close(conn: Connection, now: datetime) -> list[str]:
    """Open auctions whose gate has passed."""
    query = sa.select(auctions.c.auction_id).where(
        auctions.c.status == Status.OPEN.value, auctions.c.gate_close <= now
    )
    return list(conn.execute(query).scalars())


def due_to_publish(conn: Connection, now: datetime) -> list[str]:
    """Auctions set to clear and publish by themselves whose time has come."""
    query = sa.select(auctions.c.auction_id).where(
        auctions.c.auto_publish.is_(True),
        auctions.c.status.in_([Status.CLOSED.value, Status.CLEARED.value]),
        auctions.c.publish_at <= now,
    )
    return list(conn.execute(query).scalars())


def oldest_due(conn: Connection, now: datetime) -> datetime | None:
    """The earliest instant of the scheduler's work still undone at ``now``: a gate that
    has passed on an open auction, or a publication due; None if nothing is overdue."""
    gates = sa.select(sa.func.min(auctions.c.gate_close)).where(
        auctions.c.status == Status.OPEN.value, auctions.c.gate_close <= now
    )
    publications = sa.select(sa.func.min(auctions.c.publish_at)).where(
        auctions.c.auto_publish.is_(True),
        auctions.c.status.in_([Status.CLOSED.value, Status.CLEARED.value]),
        auctions.c.publish_at <= now,
    )
    due = [conn.execute(q).scalar() for q in (gates, publications)]
    return min((d for d in due if d is not None), default=None)


def count_by_status(conn: Connection) -> dict[Status, int]:
    """How many auctions are in each status (statuses without any left out)."""
    query = sa.select(auctions.c.status, sa.func.count()).group_by(auctions.c.status)
    return {Status(status): int(n) for status, n in conn.execute(query)}


def product_frame(conn: Connection, auction_id: str) -> pl.DataFrame:
    """The auction's products with the ``PRODUCTS`` schema, in product id order."""
    return product_frames(conn, [auction_id])[auction_id]


def product_frames(conn: Connection, auction_ids: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Each auction's products as ``product_frame`` gives them, in one query."""
    query = (
        sa.select(products)
        .where(products.c.auction_id.in_(list(auction_ids)))
        .order_by(products.c.auction_id, products.c.product_id)
    )
    frame = pl.DataFrame([dict(r) for r in conn.execute(query).mappings()], schema=_STORED_PRODUCT)
    frame = frame.with_columns(
        *[from_units(frame[kw], KW_PER_MW).alias(mw) for mw, kw in _KW_COLUMNS.items()],
        from_units(frame["reserve_cents"], CENTS_PER_EUR).alias("reserve_price_eur_per_mw"),
    )
    return {
        auction_id: frame.filter(pl.col("auction_id") == auction_id).select(PRODUCTS.names())
        for auction_id in auction_ids
    }


_LIMITS: dict[tuple[str, str, datetime], dict[str, ProductLimits]] = {}


def product_limits(conn: Connection, record: AuctionRecord) -> dict[str, ProductLimits]:
    """Minimum and increment of each product of the auction.

    Products never change once an auction is created, so they are read once per auction
    (and store, and creation time): every bid needs them.
    """
    key = (str(conn.engine.url), record.auction_id, record.created_at)
    if key not in _LIMITS:
        query = sa.select(products.c.product_id, products.c.min_kw, products.c.increment_kw).where(
            products.c.auction_id == record.auction_id
        )
        rows = conn.execute(query)
        _LIMITS[key] = {pid: ProductLimits(int(lo), int(inc)) for pid, lo, inc in rows}
    return _LIMITS[key]


def replace_allocations(conn: Connection, auction_id: str, frame: pl.DataFrame) -> None:
    """Replace the fixed allocations (``ALLOCATIONS`` schema, checked)."""
    conn.execute(allocations.delete().where(allocations.c.auction_id == auction_id))
    rows = frame.select(
        pl.lit(auction_id).alias("auction_id"),
        "org_id",
        "product_id",
        (pl.col("quantity_mw") * 1000).round(0).cast(pl.Int64).alias("quantity_kw"),
    ).to_dicts()
    if rows:
        conn.execute(allocations.insert(), rows)


def allocation_frame(conn: Connection, auction_id: str) -> pl.DataFrame:
    query = (
        sa.select(allocations.c.org_id, allocations.c.product_id, allocations.c.quantity_kw)
        .where(allocations.c.auction_id == auction_id)
        .order_by(allocations.c.org_id, allocations.c.product_id)
    )
    rows = conn.execute(query).all()
    return pl.DataFrame(
        {
            "org_id": [r[0] for r in rows],
            "product_id": [r[1] for r in rows],
            "quantity_mw": [r[2] / 1000 for r in rows],
        },
        schema=ALLOCATIONS,
    )
