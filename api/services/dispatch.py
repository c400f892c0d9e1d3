"""After the clearing: the virtual assets a customer sees, their schedules, the fleet's
setpoints and the export for ``vba dispatch``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy.engine import Connection

from api.services.frames import day_blocks, day_setpoints, lost_of, schedule_frame
from auction.archive import read_archive
from auction.errors import BodyProblems, DomainError, NotFound, Problem
from auction.lifecycle import Status
from auction.store import Store
from auction.store.auctions import get_auction
from auction.store.dispatch import (
    BlockRecord,
    ScheduleVersion,
    auction_configs,
    auction_rebacked,
    blocks_of,
    current_schedule,
    get_block,
    org_virtual_assets,
    product_terms,
    rebacked_ids,
    save_schedule,
)
from auction.store.fleet import availability_frame
from auction.store.results import get_clearing
from auction.timegrid import day_bounds, mtu_span
from dispatch.disaggregate import Disaggregation
from dispatch.files import write_dispatch_files
from dispatch.schedule import (
    BlockTerms,
    Point,
    Profile,
    apply_schedule,
    conflicts,
    soc_profile,
    wholesale_terms,
)
from dispatch.slices import lost_per_mtu


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
    n_mtu = mtu_span(block.start, block.end, mtu)
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
    """Accept the points whole (a new version of the schedule) or refuse them all (422).
    Answered once the commit is durable, maybe shared with other requests' (group commit)."""
    return store.write_each(_schedule_work(org_id, va_id, block_id, points, user_id, now))


async def submit_schedule_soon(
    store: Store,
    org_id: str,
    va_id: str,
    block_id: str,
    points: Sequence[Point],
    user_id: str,
    now: datetime,
) -> BlockSchedule:
    """``submit_schedule`` for an ``async`` route, through the store's writer."""
    return await store.write_soon(_schedule_work(org_id, va_id, block_id, points, user_id, now))


def _schedule_work(
    org_id: str,
    va_id: str,
    block_id: str,
    points: Sequence[Point],
    user_id: str,
    now: datetime,
) -> Callable[[Connection], BlockSchedule]:
    def work(conn: Connection) -> BlockSchedule:
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

    return work


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


def rebacked_blocks(store: Store, block_ids: Sequence[str]) -> set[str]:
    """The blocks an outage moved onto other assets (re-backed); what could not be moved
    is the blocks' ``unavailability`` (curtailed)."""
    if not block_ids:
        return set()
    with store.read() as conn:
        return rebacked_ids(conn, block_ids)


# --- setpoints -----------------------------------------------------------------------


def setpoints(
    store: Store, start: datetime, end: datetime, rebalance: bool = True
) -> list[Disaggregation]:
    """The physical setpoints of every delivery day that overlaps [start, end), one
    disaggregation per day (each starts from the day's initial physical SoC); with the
    operator's rebalancing plan unless ``rebalance`` is false."""
    with store.read() as conn:
        return day_setpoints(conn, start, end, rebalance)


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
