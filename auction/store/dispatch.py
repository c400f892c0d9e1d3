"""Virtual assets, their blocks, schedules and re-backed stretches in the store.

A virtual asset becomes visible to its organisation when its auction is published; the
fleet carries the blocks of cleared auctions too, so outages re-back those as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.book import BACKING_SLICES, UTC_TIME, schema
from auction.lifecycle import Status
from auction.model import AuctionConfig
from auction.store.auctions import _config
from auction.store.schema import (
    auctions,
    backing,
    backing_slices,
    blocks,
    products,
    schedule_versions,
    virtual_assets,
)

# Auctions whose blocks the fleet carries.
CARRIED = (Status.CLEARED.value, Status.PUBLISHED.value)

VIRTUAL_ASSETS = schema(
    {
        "virtual_asset_id": pl.String,
        "auction_id": pl.String,
        "org_id": pl.String,
        "bid_id": pl.String,
        "product_id": pl.String,
        "start": UTC_TIME,
        "end": UTC_TIME,
    }
)
BLOCK_ROWS = schema(
    {
        "block_id": pl.String,
        "virtual_asset_id": pl.String,
        "auction_id": pl.String,
        "product_id": pl.String,
        "market": pl.String,
        "power_kw": pl.Int64,
        "energy_kwh": pl.Int64,
        "start": UTC_TIME,
        "end": UTC_TIME,
    }
)
SLICE_ROWS = BACKING_SLICES


def _frame(
    conn: Connection, query: sa.Select[tuple[object, ...]], schema: pl.Schema
) -> pl.DataFrame:
    return pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row")


def _va_query() -> sa.Select[tuple[object, ...]]:
    va = virtual_assets.c
    return (
        sa.select(
            va.virtual_asset_id,
            va.auction_id,
            va.org_id,
            va.bid_id,
            va.product_id,
            va.start,
            va.end,
        )
        .join_from(virtual_assets, auctions, va.auction_id == auctions.c.auction_id)
        .order_by(va.start, va.auction_id, va.row_no)
    )


def org_virtual_assets(conn: Connection, org_id: str) -> pl.DataFrame:
    """The organisation's virtual assets of published auctions, by start."""
    query = _va_query().where(
        virtual_assets.c.org_id == org_id, auctions.c.status == Status.PUBLISHED.value
    )
    return _frame(conn, query, VIRTUAL_ASSETS)


def vas_owners(conn: Connection, virtual_asset_ids: Sequence[str]) -> pl.DataFrame:
    """virtual_asset_id, org_id of these virtual assets."""
    va = virtual_assets.c
    query = sa.select(va.virtual_asset_id, va.org_id).where(
        va.virtual_asset_id.in_(list(virtual_asset_ids))
    )
    return _frame(conn, query, schema({"virtual_asset_id": pl.String, "org_id": pl.String}))


def _block_query() -> sa.Select[tuple[object, ...]]:
    b, va = blocks.c, virtual_assets.c
    return (
        sa.select(
            b.block_id,
            b.virtual_asset_id,
            b.auction_id,
            va.product_id,
            b.market,
            b.power_kw,
            b.energy_kwh,
            b.start,
            b.end,
        )
        .join_from(blocks, virtual_assets, b.virtual_asset_id == va.virtual_asset_id)
        .order_by(b.auction_id, b.row_no)
    )


def blocks_of(conn: Connection, virtual_asset_ids: Sequence[str]) -> pl.DataFrame:
    """The blocks of these virtual assets, in the clearing's order."""
    query = _block_query().where(blocks.c.virtual_asset_id.in_(list(virtual_asset_ids)))
    return _frame(conn, query, BLOCK_ROWS)


def carried_blocks(conn: Connection, start: datetime, end: datetime) -> pl.DataFrame:
    """Every block of a cleared or published auction whose window overlaps [start, end)."""
    b = blocks.c
    query = (
        _block_query()
        .join(auctions, b.auction_id == auctions.c.auction_id)
        .where(auctions.c.status.in_(CARRIED), b.start < end, b.end > start)
    )
    return _frame(conn, query, BLOCK_ROWS)


def assets_in_use(conn: Connection, now: datetime) -> set[str]:
    """Assets that carry a block of a cleared or published auction not yet delivered."""
    k, b, s = backing.c, blocks.c, backing_slices.c
    cleared = (
        sa.select(k.asset_id)
        .join_from(backing, blocks, (k.block_id == b.block_id) & (k.auction_id == b.auction_id))
        .join(auctions, b.auction_id == auctions.c.auction_id)
        .where(auctions.c.status.in_(CARRIED), b.end > now, k.power_kw > 0)
    )
    moved = sa.select(s.asset_id).where(s.end > now, s.power_kw > 0)
    return set(conn.execute(cleared.union(moved)).scalars())


def auction_configs(conn: Connection, auction_ids: Iterable[str]) -> dict[str, AuctionConfig]:
    query = sa.select(auctions.c.auction_id, auctions.c.config_json).where(
        auctions.c.auction_id.in_(sorted(set(auction_ids)))
    )
    return {aid: _config(text) for aid, text in conn.execute(query)}


def product_terms(conn: Connection, auction_ids: Iterable[str]) -> pl.DataFrame:
    """auction_id, product_id, eta_charge, eta_discharge, daily_cycle_limit."""
    p = products.c
    query = sa.select(
        p.auction_id, p.product_id, p.eta_charge, p.eta_discharge, p.daily_cycle_limit
    ).where(p.auction_id.in_(sorted(set(auction_ids))))
    terms = schema(
        {
            "auction_id": pl.String,
            "product_id": pl.String,
            "eta_charge": pl.Float64,
            "eta_discharge": pl.Float64,
            "daily_cycle_limit": pl.Float64,
        }
    )
    return _frame(conn, query, terms)


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """One block with what its schedule rules need."""

    block_id: str
    virtual_asset_id: str
    auction_id: str
    org_id: str
    product_id: str
    market: str
    power_kw: int
    energy_kwh: int
    start: datetime
    end: datetime
    status: Status
    config: AuctionConfig
    eta_charge: float
    eta_discharge: float
    daily_cycle_limit: float | None


# Published blocks never change: each schedule request would otherwise read its block again.
_PUBLISHED: dict[tuple[str, str, str], BlockRecord] = {}
_PUBLISHED_MAX = 100_000


def get_block(conn: Connection, virtual_asset_id: str, block_id: str) -> BlockRecord | None:
    """One block of one virtual asset, with its auction and product terms; one query,
    none for a published block read before."""
    key = (str(conn.engine.url), virtual_asset_id, block_id)
    if key in _PUBLISHED:
        return _PUBLISHED[key]
    record = _read_block(conn, virtual_asset_id, block_id)
    if record is not None and record.status is Status.PUBLISHED:
        if len(_PUBLISHED) >= _PUBLISHED_MAX:
            _PUBLISHED.clear()
        _PUBLISHED[key] = record
    return record


def _read_block(conn: Connection, virtual_asset_id: str, block_id: str) -> BlockRecord | None:
    b, va, p = blocks.c, virtual_assets.c, products.c
    query = (
        sa.select(
            b.block_id,
            b.virtual_asset_id,
            b.auction_id,
            va.org_id,
            va.product_id,
            b.market,
            b.power_kw,
            b.energy_kwh,
            b.start,
            b.end,
            auctions.c.status,
            auctions.c.config_json,
            p.eta_charge,
            p.eta_discharge,
            p.daily_cycle_limit,
        )
        .join_from(blocks, virtual_assets, b.virtual_asset_id == va.virtual_asset_id)
        .join(auctions, b.auction_id == auctions.c.auction_id)
        .join(products, (p.auction_id == b.auction_id) & (p.product_id == va.product_id))
        .where(b.block_id == block_id, b.virtual_asset_id == virtual_asset_id)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    m = row._mapping
    return BlockRecord(
        **{k: m[k] for k in BlockRecord.__slots__ if k not in ("status", "config")},
        status=Status(m["status"]),
        config=_config(m["config_json"]),
    )


# --- schedules -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleVersion:
    block_id: str
    version: int
    at: datetime
    user_id: str
    power_kw: list[int]
    points: int


def _version(row: sa.Row[tuple[object, ...]]) -> ScheduleVersion:
    m = row._mapping
    return ScheduleVersion(
        m["block_id"], m["version"], m["at"], m["user_id"], json.loads(m["power_json"]), m["points"]
    )


def _schedule_query() -> sa.Select[tuple[object, ...]]:
    s = schedule_versions.c
    return sa.select(s.block_id, s.version, s.at, s.user_id, s.power_json, s.points)


def current_schedule(conn: Connection, block_id: str) -> ScheduleVersion | None:
    """The newest accepted schedule of the block, or None if it was never dispatched."""
    s = schedule_versions.c
    query = _schedule_query().where(s.block_id == block_id).order_by(s.version.desc()).limit(1)
    row = conn.execute(query).first()
    return None if row is None else _version(row)


def schedule_history(conn: Connection, block_id: str) -> list[ScheduleVersion]:
    s = schedule_versions.c
    query = _schedule_query().where(s.block_id == block_id).order_by(s.version)
    return [_version(r) for r in conn.execute(query)]


def current_schedules(conn: Connection, block_ids: Sequence[str]) -> dict[str, ScheduleVersion]:
    """The newest schedule of each of these blocks that has one."""
    s = schedule_versions.c
    newest = (
        sa.select(s.block_id, sa.func.max(s.version).label("version"))
        .where(s.block_id.in_(list(block_ids)))
        .group_by(s.block_id)
        .subquery()
    )
    query = _schedule_query().join(
        newest, (s.block_id == newest.c.block_id) & (s.version == newest.c.version)
    )
    return {v.block_id: v for v in map(_version, conn.execute(query))}


def save_schedule(
    conn: Connection,
    block: BlockRecord,
    version: int,
    power_kw: Sequence[int],
    points: int,
    user_id: str,
    now: datetime,
) -> ScheduleVersion:
    """Keep a new accepted version; the (block, version) key refuses a lost update."""
    conn.execute(
        schedule_versions.insert().values(
            block_id=block.block_id,
            version=version,
            auction_id=block.auction_id,
            org_id=block.org_id,
            at=now,
            user_id=user_id,
            power_json=json.dumps(list(power_kw), separators=(",", ":")),
            points=points,
        )
    )
    at = now.astimezone(UTC)
    return ScheduleVersion(block.block_id, version, at, user_id, list(power_kw), points)


# --- backing over time ---------------------------------------------------------------


def clearing_backing(conn: Connection, auction_ids: Sequence[str]) -> pl.DataFrame:
    """The clearing's backing of these auctions' blocks, as slices over each block's window.

    By auction, not by block: a list of thousands of block ids makes SQLite scan the
    backing once per id (5 s for a day of 3,000 blocks).
    """
    k, b = backing.c, blocks.c
    query = (
        sa.select(k.block_id, k.asset_id, b.start, b.end, k.power_kw, k.energy_kwh)
        .join_from(backing, blocks, (k.block_id == b.block_id) & (k.auction_id == b.auction_id))
        .where(k.auction_id.in_(sorted(set(auction_ids))))
        .order_by(k.auction_id, k.row_no)
    )
    return _frame(conn, query, SLICE_ROWS)


def rebacked(conn: Connection, block_ids: Sequence[str]) -> pl.DataFrame:
    """The effective slices of those of these blocks an outage re-backed (SLICE_ROWS)."""
    s = backing_slices.c
    query = (
        sa.select(s.block_id, s.asset_id, s.start, s.end, s.power_kw, s.energy_kwh)
        .where(s.block_id.in_(list(block_ids)))
        .order_by(s.block_id, s.start, s.asset_id)
    )
    return _frame(conn, query, SLICE_ROWS)


def auction_rebacked(conn: Connection, auction_id: str) -> pl.DataFrame:
    """Every re-backed slice of the auction's blocks (SLICE_ROWS)."""
    s = backing_slices.c
    query = (
        sa.select(s.block_id, s.asset_id, s.start, s.end, s.power_kw, s.energy_kwh)
        .where(s.auction_id == auction_id)
        .order_by(s.block_id, s.start, s.asset_id)
    )
    return _frame(conn, query, SLICE_ROWS)


def rebacked_ids(conn: Connection, block_ids: Sequence[str]) -> set[str]:
    """Which of these blocks have been re-backed (a block may have no rows: all lost)."""
    s = backing_slices.c
    query = sa.select(s.block_id).where(s.block_id.in_(list(block_ids))).distinct()
    return set(conn.execute(query).scalars())


def replace_rebacked(
    conn: Connection,
    auction_of: dict[str, str],
    slices: pl.DataFrame,
    outage_id: str,
) -> None:
    """Replace the effective slices of the blocks in ``auction_of`` by ``slices``.

    A block that carries nothing at all keeps one zero row, so that it still reads as
    re-backed (and wholly unavailable) rather than as never touched.
    """
    ids = sorted(auction_of)
    conn.execute(backing_slices.delete().where(backing_slices.c.block_id.in_(ids)))
    rows = slices.to_dicts()
    carried = {r["block_id"] for r in rows}
    for block_id in ids:
        if block_id not in carried:
            raise ValueError(f"block {block_id} needs at least a zero row")
    if rows:
        conn.execute(
            backing_slices.insert(),
            [{**r, "auction_id": auction_of[r["block_id"]], "outage_id": outage_id} for r in rows],
        )
