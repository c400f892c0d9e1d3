"""What the doors do once an auction is cleared: virtual assets, schedules, outages, setpoints.

Each function reads what it needs, applies the rules of ``dispatch`` and writes in one
transaction, like ``api.operations`` does for the auction's own life.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy.engine import Connection

from api.errors import BodyProblems
from api.operations import checked_rows
from auction.archive import read_archive
from auction.book import AVAILABILITY
from auction.errors import DomainError, NotFound, Problem
from auction.lifecycle import Status
from auction.rules import check_availability
from auction.store import Store, audit
from auction.store.auctions import get_auction
from auction.store.dispatch import (
    BlockRecord,
    ScheduleVersion,
    auction_configs,
    auction_rebacked,
    blocks_of,
    carried_blocks,
    clearing_backing,
    current_schedule,
    current_schedules,
    get_block,
    org_virtual_assets,
    product_terms,
    rebacked,
    rebacked_ids,
    replace_rebacked,
    save_schedule,
    vas_owners,
)
from auction.store.fleet import add_outages, availability_frame, fleet_frame
from auction.store.results import get_clearing
from auction.timegrid import day_bounds
from dispatch.disaggregate import Disaggregation, disaggregate
from dispatch.files import write_dispatch_files
from dispatch.frames import BLOCKS, SCHEDULES, dispatch_blocks
from dispatch.rebacking import reback
from dispatch.schedule import (
    BlockTerms,
    Point,
    Profile,
    apply_schedule,
    conflicts,
    soc_profile,
    wholesale_terms,
)
from dispatch.slices import lost_per_mtu, lost_stretches, replace_stretches


def block_terms(block: BlockRecord, lost_kw: tuple[int, ...] | None = None) -> BlockTerms:
    """The schedule rules of a wholesale block, from its auction's and product's terms."""
    return wholesale_terms(
        block.config,
        block.start,
        block.end,
        block.power_kw,
        block.energy_kwh,
        block.eta_charge,
        block.eta_discharge,
        block.daily_cycle_limit,
        lost_kw,
    )


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


def _visible_block(conn: Connection, org_id: str | None, va_id: str, block_id: str) -> BlockRecord:
    """A block of a published auction of the organisation (any organisation: None)."""
    block = get_block(conn, va_id, block_id)
    if block is None or block.status is not Status.PUBLISHED:
        raise NotFound("block", block_id)
    if org_id is not None and block.org_id != org_id:
        raise NotFound("block", block_id)
    return block


def _wholesale(block: BlockRecord) -> None:
    if block.market != "wholesale":
        rule = (
            f"block {block.block_id} is a {block.market} block: it holds reserve and takes no "
            "wholesale schedule; send schedules to the wholesale block of the virtual asset"
        )
        raise BodyProblems([Problem("schedule", None, None, None, rule)], ("path", "block_id"))


def _lost(conn: Connection, block: BlockRecord) -> tuple[int, ...] | None:
    """The block's lost kW per MTU, if an outage left it short anywhere."""
    if not rebacked_ids(conn, [block.block_id]):
        return None
    frame = pl.DataFrame(
        {
            "block_id": [block.block_id],
            "power_kw": [block.power_kw],
            "start": [block.start],
            "end": [block.end],
        }
    )
    mtu = block.config.mtu_minutes
    n_mtu = int((block.end - block.start) / timedelta(minutes=mtu))
    return lost_per_mtu(lost_of(conn, frame), block.start, n_mtu, mtu)


@dataclass(frozen=True, slots=True)
class BlockSchedule:
    """A wholesale block's current schedule and its virtual SoC."""

    block: BlockRecord
    terms: BlockTerms
    version: ScheduleVersion | None
    profile: Profile
    conflicts: list[Problem]


def _schedule(
    block: BlockRecord, terms: BlockTerms, version: ScheduleVersion | None
) -> BlockSchedule:
    power = (
        np.zeros(terms.n_mtu, dtype=np.int64)
        if version is None
        else np.asarray(version.power_kw, dtype=np.int64)
    )
    return BlockSchedule(block, terms, version, soc_profile(terms, power), conflicts(terms, power))


def read_schedule(store: Store, org_id: str | None, va_id: str, block_id: str) -> BlockSchedule:
    with store.read() as conn:
        block = _visible_block(conn, org_id, va_id, block_id)
        _wholesale(block)
        terms = block_terms(block, _lost(conn, block))
        return _schedule(block, terms, current_schedule(conn, block_id))


def submit_schedule(
    store: Store,
    org_id: str,
    va_id: str,
    block_id: str,
    points: Sequence[Point],
    user_id: str,
    now: datetime,
) -> BlockSchedule:
    """Accept the points whole (a new version of the schedule) or refuse them all (422)."""
    with store.write() as conn:
        block = _visible_block(conn, org_id, va_id, block_id)
        _wholesale(block)
        terms = block_terms(block, _lost(conn, block))
        current = current_schedule(conn, block_id)
        stored = (
            np.zeros(terms.n_mtu, dtype=np.int64)
            if current is None
            else np.asarray(current.power_kw, dtype=np.int64)
        )
        try:
            profile = apply_schedule(terms, stored, points, now)
        except DomainError as exc:
            raise BodyProblems(exc.problems, ("body", "schedule")) from exc
        version = save_schedule(
            conn,
            block,
            1 if current is None else current.version + 1,
            profile.power_kw.tolist(),
            len(points),
            user_id,
            now,
        )
        return BlockSchedule(block, terms, version, profile, conflicts(terms, profile.power_kw))


# --- virtual assets ------------------------------------------------------------------


def va_status(start: datetime, end: datetime, now: datetime) -> str:
    """upcoming before its window, active inside it, past after it."""
    return "upcoming" if now < start else "active" if now < end else "past"


def virtual_assets(
    store: Store, org_id: str, now: datetime, *, status: str | None = None, va_id: str | None = None
) -> list[dict[str, object]]:
    """The organisation's published virtual assets with their blocks, as plain dicts.

    Raises NotFound for ``va_id`` if the organisation has no such virtual asset.
    """
    with store.read() as conn:
        vas = org_virtual_assets(conn, org_id)
        if va_id is not None:
            vas = vas.filter(pl.col("virtual_asset_id") == va_id)
            if vas.height == 0:
                raise NotFound("virtual asset", va_id)
        vas = vas.with_columns(
            status=pl.Series(
                [va_status(s, e, now) for s, e in vas.select("start", "end").iter_rows()],
                dtype=pl.String,
            )
        )
        if status is not None:
            vas = vas.filter(pl.col("status") == status)
        blocks = blocks_of(conn, vas["virtual_asset_id"].to_list())
        auction_ids = vas["auction_id"].unique().to_list()
        configs = auction_configs(conn, auction_ids)
        terms = product_terms(conn, auction_ids)
        lost = lost_of(conn, blocks)
    blocks = blocks.join(terms, on=["auction_id", "product_id"], how="left", maintain_order="left")
    lost_by_block: dict[str, list[dict[str, object]]] = {}
    for row in lost.join(blocks.select("block_id", "power_kw"), on="block_id").iter_rows(
        named=True
    ):
        lost_by_block.setdefault(row["block_id"], []).append(
            {
                "start": row["start"],
                "end": row["end"],
                "lost_kw": row["lost_kw"],
                "available_kw": row["power_kw"] - row["lost_kw"],
            }
        )
    blocks_by_va: dict[str, list[dict[str, object]]] = {}
    for b in blocks.iter_rows(named=True):
        cfg = configs[b["auction_id"]]
        wholesale = b["market"] == "wholesale"
        blocks_by_va.setdefault(b["virtual_asset_id"], []).append(
            {
                "block_id": b["block_id"],
                "market": b["market"],
                "power_kw": b["power_kw"],
                "energy_kwh": b["energy_kwh"],
                "start": b["start"],
                "end": b["end"],
                "dispatchable": wholesale,
                "initial_soc_kwh": cfg.initial_soc_fraction * b["energy_kwh"]
                if wholesale
                else None,
                "final_soc_target_kwh": cfg.final_soc_fraction * b["energy_kwh"]
                if wholesale
                else None,
                "eta_charge": b["eta_charge"] if wholesale else None,
                "eta_discharge": b["eta_discharge"] if wholesale else None,
                "daily_cycle_limit": b["daily_cycle_limit"] if wholesale else None,
                "gate_closure_s": cfg.dispatch_gate_closure_s,
                "unavailability": lost_by_block.get(b["block_id"], []),
            }
        )
    out = []
    for va in vas.iter_rows(named=True):
        own = blocks_by_va.get(va["virtual_asset_id"], [])
        wholesale_block = next((b for b in own if b["market"] == "wholesale"), None)
        out.append(
            {
                **va,
                "power_kw": wholesale_block["power_kw"] if wholesale_block else 0,
                "energy_kwh": wholesale_block["energy_kwh"] if wholesale_block else 0,
                "blocks": own,
            }
        )
    return out


# --- the fleet's day: blocks, backing, schedules as dispatch frames ------------------


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


def _mtu_minutes(conn: Connection, blocks: pl.DataFrame) -> int:
    configs = auction_configs(conn, blocks["auction_id"].unique().to_list())
    return min((cfg.mtu_minutes for cfg in configs.values()), default=15)


# --- outages -------------------------------------------------------------------------


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


def _snap(
    start: datetime, end: datetime, anchor: datetime, mtu_minutes: int
) -> tuple[datetime, datetime]:
    """[start, end) widened to whole MTUs: a row covering part of an MTU derates all of it."""
    step = timedelta(minutes=mtu_minutes)
    lo = anchor + ((start - anchor) // step) * step
    hi = anchor - ((anchor - end) // step) * step
    return lo, hi


def record_outage(
    store: Store, body: dict[str, object], actor: str, now: datetime
) -> OutageOutcome:
    """Record an outage (a row of availability.csv) and re-back every block it touches.

    In one transaction: the outage, the re-solved backing of the blocks of cleared and
    published auctions whose windows it overlaps, and the audit event. Blocks stay whole
    where the rest of the fleet can carry them; elsewhere they lose what it cannot.
    """
    with store.write() as conn:
        outage = checked_rows(
            "availability",
            [body],
            AVAILABILITY.names(),
            ("body",),
            check_availability,
            fleet_frame(conn),
        )
        row = outage.row(0, named=True)
        [outage_id] = add_outages(conn, outage, now)
        blocks = day_blocks(conn, row["start"], row["end"])
        if blocks.height == 0:
            audit.record(conn, actor, "fleet.outage", f"asset/{row['asset_id']}", now, **row)
            return OutageOutcome(
                outage_id,
                "No block is carried in that time: nothing to re-back.",
                0,
                0,
                0,
                lost_stretches(blocks.clear(), blocks.clear()).with_columns(
                    virtual_asset_id=pl.lit(None, pl.String), org_id=pl.lit(None, pl.String)
                ),
                [],
            )
        mtu = _mtu_minutes(conn, blocks)
        first: datetime = blocks["start"].min()  # type: ignore[assignment]
        last: datetime = blocks["end"].max()  # type: ignore[assignment]
        lo, hi = _snap(row["start"], row["end"], first, mtu)
        lo, hi = max(lo, first), min(hi, last)
        # Every block the fleet carries in [lo, hi) takes part: room may be made anywhere.
        current = effective_backing(conn, blocks)
        result = reback(
            fleet_frame(conn),
            availability_frame(conn, lo, hi),
            blocks.select(BLOCKS.names()),
            current,
            lo,
            hi,
            mtu,
        )
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
        found = _conflicts(conn, touched, lost, mtu)
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
    )


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
        n_mtu = int((b["end"] - b["start"]) / timedelta(minutes=mtu_minutes))
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


# --- setpoints -----------------------------------------------------------------------


def setpoints(store: Store, start: datetime, end: datetime) -> list[Disaggregation]:
    """The physical setpoints of every delivery day that overlaps [start, end), one
    disaggregation per day (each starts from the day's initial physical SoC)."""
    with store.read() as conn:
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
            mtu = _mtu_minutes(conn, day)
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
                )
            )
    return out


# --- export --------------------------------------------------------------------------


def export_dispatch(store: Store, auction_id: str, out_dir: Path) -> dict[str, int]:
    """Write the auction's schedules, re-backing and later outages beside its export in
    ``out_dir`` (written by ``operations.export_auction``), for ``vba dispatch``; returns
    how many rows each file got."""
    with store.read() as conn:
        record = get_auction(conn, auction_id)
        if get_clearing(conn, auction_id) is None:
            return {}
        day_start, day_end = day_bounds(record.config.delivery_day, record.config.time_zone)
        blocks = day_blocks(conn, day_start, day_end).filter(pl.col("auction_id") == auction_id)
        schedules = schedule_frame(conn, blocks, record.config.mtu_minutes)
        rebacked_rows = auction_rebacked(conn, auction_id)
        outages = availability_frame(conn, day_start, day_end)
    # The export's availability.csv holds the outages the clearing saw; the others came later.
    seen = read_archive(out_dir).availability
    later = _without(outages, seen)
    write_dispatch_files(out_dir, record.config.time_zone, schedules, rebacked_rows, later)
    return {
        "schedules": schedules.height,
        "rebacked": rebacked_rows.height,
        "outages": later.height,
    }


def _without(rows: pl.DataFrame, taken: pl.DataFrame) -> pl.DataFrame:
    """``rows`` less ``taken``, as multisets: a row given twice is taken out twice at most."""
    keys = rows.columns

    def counted(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(_n=pl.int_range(pl.len()).over(keys))

    return counted(rows).join(counted(taken), on=[*keys, "_n"], how="anti").drop("_n")
