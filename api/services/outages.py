"""Outages: recorded, and the blocks they touch re-backed by the rest of the fleet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import polars as pl
from sqlalchemy.engine import Connection

from api.services import events
from api.services.auctions import checked_rows
from api.services.frames import day_blocks, effective_backing, lost_of, mtu_minutes_of
from auction.book import AVAILABILITY
from auction.errors import Conflict, Problem
from auction.rules import check_availability
from auction.store import Store, audit
from auction.store.ancillary import accepted_on
from auction.store.dispatch import (
    current_schedules,
    replace_rebacked,
    vas_owners,
)
from auction.store.fleet import add_outages, availability_frame, fleet_frame
from auction.timegrid import mtu_index, mtu_span
from dispatch.frames import BLOCKS
from dispatch.rebacking import Rebacking, reback
from dispatch.schedule import (
    BlockTerms,
    conflicts,
)
from dispatch.slices import LOST, lost_per_mtu, replace_stretches


@dataclass(frozen=True, slots=True)
class OutageOutcome:
    """An outage as recorded, and what its re-backing did to the blocks it touched."""

    outage_id: str
    summary: str
    blocks_touched: int
    moved_kw: int
    lost_kw: int
    unavailable: pl.DataFrame  # block_id, virtual_asset_id, org_id, start, end, lost_kw
    # (virtual_asset_id, block_id, MTU start, problem) of each broken schedule point
    conflicts: list[tuple[str, str, datetime, Problem]]
    # Accepted ancillary bids whose block can no longer give all the reserve the TSO took:
    # bid_id, org_id, virtual_asset_id, product_code, accepted_kw, available_kw.
    reserve_cut: list[dict[str, object]] = field(default_factory=list)


def _snap(
    start: datetime, end: datetime, anchor: datetime, mtu_minutes: int
) -> tuple[datetime, datetime]:
    """[start, end) widened to whole MTUs: a row covering part of an MTU derates all of it."""
    step = timedelta(minutes=mtu_minutes)
    lo = anchor + mtu_index(start, anchor, mtu_minutes) * step
    hi = anchor + mtu_index(end, anchor, mtu_minutes, ceil=True) * step
    return lo, hi


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What a re-backing reads: equal inputs give the same re-backing."""

    blocks: pl.DataFrame
    mtu_minutes: int
    lo: datetime
    hi: datetime
    fleet: pl.DataFrame
    outages: pl.DataFrame  # the stored ones overlapping [lo, hi), and the new one
    backing: pl.DataFrame

    def same_as(self, other: _Inputs) -> bool:
        return (self.mtu_minutes, self.lo, self.hi) == (
            other.mtu_minutes,
            other.lo,
            other.hi,
        ) and all(
            a.equals(b)
            for a, b in [
                (self.blocks, other.blocks),
                (self.fleet, other.fleet),
                (self.outages, other.outages),
                (self.backing, other.backing),
            ]
        )


def _inputs(conn: Connection, outage: pl.DataFrame) -> _Inputs | None:
    """The re-backing's inputs for a new outage, or None when it touches no carried block."""
    row = outage.row(0, named=True)
    blocks = day_blocks(conn, row["start"], row["end"])
    if blocks.height == 0:
        return None
    mtu = mtu_minutes_of(conn, blocks)
    first: datetime = blocks["start"].min()  # type: ignore[assignment]
    last: datetime = blocks["end"].max()  # type: ignore[assignment]
    lo, hi = _snap(row["start"], row["end"], first, mtu)
    lo, hi = max(lo, first), min(hi, last)
    outages = pl.concat([availability_frame(conn, lo, hi), outage]).sort(AVAILABILITY.names())
    # Every block the fleet carries in [lo, hi) takes part: room may be made anywhere.
    return _Inputs(blocks, mtu, lo, hi, fleet_frame(conn), outages, effective_backing(conn, blocks))


def record_outage(
    store: Store, body: dict[str, object], actor: str, now: datetime
) -> OutageOutcome:
    """Record an outage (a row of availability.csv) and re-back every block it touches.

    The re-backing LP (seconds on a full day) runs outside the write lock, so bids and
    schedules are not held up behind it: read the inputs, solve, then in one write
    transaction re-read them and store the outage, the new backing of the blocks of
    cleared and published auctions whose windows it overlaps, and the audit event, if
    nothing changed meanwhile (otherwise solve again). Blocks stay whole where the rest
    of the fleet can carry them; elsewhere they lose what it cannot.
    """
    with store.read() as conn:
        outage = checked_rows(
            "availability",
            [body],
            AVAILABILITY.names(),
            ("body",),
            check_availability,
            fleet_frame(conn),
        )
        inputs = _inputs(conn, outage)
    for _ in range(_ATTEMPTS):
        result = None if inputs is None else _reback(inputs)
        with store.write() as conn:
            now_inputs = _inputs(conn, outage)
            if (inputs is None) != (now_inputs is None) or (
                inputs is not None and now_inputs is not None and not inputs.same_as(now_inputs)
            ):
                inputs = now_inputs  # the fleet or its blocks changed: solve again
                continue
            outcome = _store(conn, outage, inputs, result, actor, now)
        # Counts only: the kW moved or lost would tell the volumes awarded.
        events.emit(
            "outage.rebacked",
            "outage recorded and re-backed",
            outage_id=outcome.outage_id,
            asset_id=outage["asset_id"][0],
            blocks_touched=outcome.blocks_touched,
            schedule_conflicts=len(outcome.conflicts),
            by=actor,
            at=events.instant(now),
        )
        return outcome
    raise Conflict(
        f"the fleet changed {_ATTEMPTS} times while this outage was re-backed: send it again"
    )


_ATTEMPTS = 3


def _reback(inputs: _Inputs) -> Rebacking:
    return reback(
        inputs.fleet,
        inputs.outages,
        inputs.blocks.select(BLOCKS.names()),
        inputs.backing,
        inputs.lo,
        inputs.hi,
        inputs.mtu_minutes,
    )


def _store(
    conn: Connection,
    outage: pl.DataFrame,
    inputs: _Inputs | None,
    result: Rebacking | None,
    actor: str,
    now: datetime,
) -> OutageOutcome:
    """Write the outage and its re-backing; the answer names what it did."""
    row = outage.row(0, named=True)
    [outage_id] = add_outages(conn, outage, now)
    if inputs is None or result is None:
        audit.record(conn, actor, "fleet.outage", f"asset/{row['asset_id']}", now, **row)
        return OutageOutcome(
            outage_id,
            "No block is carried in that time: nothing to re-back.",
            0,
            0,
            0,
            pl.DataFrame(schema=LOST).with_columns(
                virtual_asset_id=pl.lit(None, pl.String), org_id=pl.lit(None, pl.String)
            ),
            [],
        )
    blocks, current = inputs.blocks, inputs.backing
    changed = sorted(set(result.slices["block_id"]))
    touched = blocks.filter(pl.col("block_id").is_in(changed))
    if changed:
        new = replace_stretches(
            current.filter(pl.col("block_id").is_in(changed)), result.slices, result.backing
        )
        # A block that carries nothing at all keeps a zero row: it reads as re-backed.
        empty = touched.filter(~pl.col("block_id").is_in(new["block_id"].unique().implode()))
        zero = empty.select(
            "block_id",
            asset_id=pl.lit(row["asset_id"]),
            start="start",
            end="end",
            power_kw=pl.lit(0, pl.Int64),
            energy_kwh=pl.lit(0, pl.Int64),
        )
        auction_of = dict(touched.select("block_id", "auction_id").iter_rows())
        replace_rebacked(conn, auction_of, pl.concat([new, zero]), outage_id)
    lost = lost_of(conn, touched.select("block_id", "power_kw", "start", "end"))
    owners = vas_owners(conn, touched["virtual_asset_id"].unique().to_list())
    unavailable = lost.join(touched.select("block_id", "virtual_asset_id"), on="block_id").join(
        owners, on="virtual_asset_id"
    )
    found = _conflicts(conn, touched, lost, inputs.mtu_minutes)
    cut = _reserve_cut(conn, touched, lost)
    audit.record(
        conn,
        actor,
        "fleet.outage",
        f"asset/{row['asset_id']}",
        now,
        **row,
        outage_id=outage_id,
        rebacking=result.summary,
        blocks_touched=len(changed),
    )
    return OutageOutcome(
        outage_id,
        result.summary,
        len(changed),
        int(result.moved_kw),
        int(result.lost_kw),
        unavailable,
        found,
        cut,
    )


def _reserve_cut(
    conn: Connection, touched: pl.DataFrame, lost: pl.DataFrame
) -> list[dict[str, object]]:
    """Accepted reserve the touched blocks can no longer give all through its window."""
    power = dict(touched.select("block_id", "power_kw").iter_rows())
    out = []
    for bid in accepted_on(conn, sorted(power)):
        overlapping = lost.filter(
            pl.col("block_id") == bid.block_id, pl.col("start") < bid.end, pl.col("end") > bid.start
        )
        available = power[bid.block_id] - int(overlapping["lost_kw"].max() or 0)  # type: ignore[arg-type]
        if bid.accepted_kw is not None and bid.accepted_kw > available:
            out.append(
                {
                    "bid_id": bid.bid_id,
                    "org_id": bid.org_id,
                    "virtual_asset_id": bid.virtual_asset_id,
                    "product_date_code": bid.product_code,
                    "accepted_kw": bid.accepted_kw,
                    "available_kw": max(available, 0),
                }
            )
    return out


def _conflicts(
    conn: Connection, touched: pl.DataFrame, lost: pl.DataFrame, mtu_minutes: int
) -> list[tuple[str, str, datetime, Problem]]:
    """Points of accepted wholesale schedules that the touched blocks can no longer run."""
    wholesale = touched.filter(
        pl.col("market") == "wholesale", pl.col("block_id").is_in(lost["block_id"].implode())
    )
    current = current_schedules(conn, wholesale["block_id"].to_list())
    found = []
    for b in wholesale.iter_rows(named=True):
        if b["block_id"] not in current:
            continue
        n_mtu = mtu_span(b["start"], b["end"], mtu_minutes)
        per_mtu = lost_per_mtu(
            lost.filter(pl.col("block_id") == b["block_id"]), b["start"], n_mtu, mtu_minutes
        )
        terms = BlockTerms(
            start=b["start"],
            end=b["end"],
            mtu_minutes=mtu_minutes,
            power_kw=b["power_kw"],
            energy_kwh=b["energy_kwh"],
            initial_soc_kwh=0.0,
            final_soc_kwh=0.0,
            final_soc_tolerance_kwh=0.0,
            lost_kw=per_mtu,
        )
        power = np.asarray(current[b["block_id"]].power_kw, dtype=np.int64)
        found += [
            (b["virtual_asset_id"], b["block_id"], terms.mtu_start((p.row or 1) - 1), p)
            for p in conflicts(terms, power)
        ]
    return found
