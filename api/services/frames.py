"""Reads that assemble the domain's frames inside the caller's transaction.

These take a ``Connection`` (the one exception to the services' rule): the services call
them between their own ``store.read()``/``store.write()``, so that what they combine is
read at one instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from sqlalchemy.engine import Connection

from auction.store.dispatch import (
    auction_configs,
    carried_blocks,
    clearing_backing,
    current_schedules,
    rebacked,
    rebacked_ids,
)
from auction.store.fleet import availability_frame, fleet_frame
from auction.timegrid import day_bounds
from dispatch.disaggregate import Disaggregation, disaggregate
from dispatch.frames import BLOCKS, SCHEDULES, dispatch_blocks
from dispatch.slices import lost_stretches


def lost_of(conn: Connection, blocks: pl.DataFrame) -> pl.DataFrame:
    """Where outages left these blocks (block_id, power_kw, start, end) short of backing."""
    ids = rebacked_ids(conn, blocks["block_id"].to_list())
    if not ids:
        return lost_stretches(blocks.clear(), blocks.clear())
    touched = blocks.filter(pl.col("block_id").is_in(sorted(ids)))
    return lost_stretches(touched, rebacked(conn, sorted(ids)))


def effective_backing(conn: Connection, blocks: pl.DataFrame) -> pl.DataFrame:
    """The backing the fleet carries now for these blocks (block_id, auction_id):
    re-backed slices where an outage moved a block, the clearing's backing elsewhere."""
    ids = blocks["block_id"].to_list()
    moved = rebacked_ids(conn, ids)
    kept = clearing_backing(conn, blocks["auction_id"].unique().to_list()).filter(
        pl.col("block_id").is_in(ids) & ~pl.col("block_id").is_in(sorted(moved))
    )
    return pl.concat([kept, rebacked(conn, sorted(moved))])


def day_blocks(conn: Connection, start: datetime, end: datetime) -> pl.DataFrame:
    """Every carried block overlapping [start, end) as ``dispatch.frames.BLOCKS``, plus
    auction_id and virtual_asset_id."""
    rows = carried_blocks(conn, start, end)
    return dispatch_blocks(rows, auction_configs(conn, rows["auction_id"].unique().to_list()))


def schedule_frame(conn: Connection, blocks: pl.DataFrame, mtu_minutes: int) -> pl.DataFrame:
    """The current schedules of these blocks as ``dispatch.frames.SCHEDULES`` (non-zero MTUs)."""
    wholesale = blocks.filter(pl.col("market") == "wholesale")
    current = current_schedules(conn, wholesale["block_id"].to_list())
    step = timedelta(minutes=mtu_minutes)
    rows = [
        (block_id, start + k * step, power)
        for block_id, start in wholesale.select("block_id", "start").iter_rows()
        if block_id in current
        for k, power in enumerate(current[block_id].power_kw)
        if power
    ]
    return pl.DataFrame(rows, schema=SCHEDULES, orient="row")


def mtu_minutes_of(conn: Connection, blocks: pl.DataFrame) -> int:
    """The finest MTU of these blocks' auctions (15 minutes when there are none)."""
    configs = auction_configs(conn, blocks["auction_id"].unique().to_list())
    return min((cfg.mtu_minutes for cfg in configs.values()), default=15)


def day_setpoints(
    conn: Connection, start: datetime, end: datetime, rebalance: bool = True
) -> list[Disaggregation]:
    """The physical setpoints of every delivery day that overlaps [start, end), one
    disaggregation per day (each starts from the day's initial physical SoC); with the
    operator's rebalancing plan (``dispatch.rebalance``) unless ``rebalance`` is false.

    Computed from the store on every call, so the plan always reflects the schedules
    and outages accepted so far: a day takes a fraction of a second to a second."""
    blocks = day_blocks(conn, start, end)
    if blocks.height == 0:
        return []
    configs = auction_configs(conn, blocks["auction_id"].unique().to_list())
    days = sorted({day_bounds(c.delivery_day, c.time_zone) for c in configs.values()})
    fleet = fleet_frame(conn)
    out = []
    for day_start, day_end in days:
        if day_end <= start or day_start >= end:
            continue
        day = day_blocks(conn, day_start, day_end)
        mtu = mtu_minutes_of(conn, day)
        backing = effective_backing(conn, day)
        out.append(
            disaggregate(
                fleet,
                availability_frame(conn, day_start, day_end),
                day.select(BLOCKS.names()),
                backing,
                schedule_frame(conn, day, mtu),
                day_start,
                day_end,
                mtu,
                rebalance=rebalance,
            )
        )
    return out
