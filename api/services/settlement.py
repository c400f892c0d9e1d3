"""Settling a delivery day (D+1): load the day's frames, settle them (``settlement.day``),
store the run as a new version of the day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from api.services import events
from api.services.frames import day_blocks, day_setpoints, lost_of, schedule_frame
from auction.errors import Conflict
from auction.instants import utc_text
from auction.lifecycle import Status
from auction.store import Store, audit, idempotency
from auction.store.accounts import list_orgs
from auction.store.ancillary import accepted_on
from auction.store.auctions import AuctionRecord, list_auctions
from auction.store.dispatch import current_schedules, product_terms
from auction.store.results import result_frame
from auction.store.settlement import Run, find_run, next_version, run_lines, save_run
from auction.timegrid import day_bounds
from settlement.ancillary import ANCILLARY_BIDS
from settlement.day import AuctionFrames, DayFrames, DaySettlement, settle


@dataclass(frozen=True, slots=True)
class Settled:
    """What a run produced, for the answer and the terminal."""

    run: Run
    lines: pl.DataFrame
    documents: int


def settle_day(
    store: Store,
    day: date,
    imbalance_price_cents: int,
    operator_org_id: str,
    actor: str,
    now: datetime,
    key: str | None = None,
) -> Settled:
    """Settle ``day``: a new version of its invoices, nominations and reconciliation.

    With an idempotency ``key`` (the API's header, a form's key), a run already made under
    it is answered instead of a new version, also when two sends race: the key is stored
    in the run's own transaction, so the second one finds it or fails and then finds it.
    """
    fingerprint = _fingerprint(day, imbalance_price_cents)
    if key is not None:
        with store.read() as conn:
            made = _made_under(conn, actor, key, fingerprint)
        if made is not None:
            return made
    with store.read() as conn:
        frames = _day_frames(conn, day, operator_org_id, now)
    settled = settle(frames, imbalance_price_cents)
    try:
        return _save(store, day, settled, frames, actor, now, imbalance_price_cents, key)
    except (Conflict, IntegrityError):
        if key is None:
            raise
        with store.read() as conn:
            made = _made_under(conn, actor, key, fingerprint)
        if made is None:
            raise
        return made


def _fingerprint(day: date, imbalance_price_cents: int) -> str:
    """What a repeated key must repeat: the day and the price."""
    return f"settlement {day} {imbalance_price_cents}"


def _made_under(conn: Connection, actor: str, key: str, fingerprint: str) -> Settled | None:
    """The run stored under ``key``, if any (a DomainError if the key came with another
    day or price)."""
    replay = idempotency.find(conn, actor, key, fingerprint)
    if replay is None:
        return None
    day, version = date.fromisoformat(replay.body["day"]), int(replay.body["version"])
    run = find_run(conn, day, version)
    if run is None:  # pragma: no cover - keys and runs are stored together
        return None
    lines, documents = run_lines(conn, day, version)
    return Settled(run, lines, documents)


def _save(
    store: Store,
    day: date,
    settled: DaySettlement,
    frames: DayFrames,
    actor: str,
    now: datetime,
    imbalance_price_cents: int,
    key: str | None,
) -> Settled:
    with store.write() as conn:
        # The version is taken under the write lock: two runs of one day at once get
        # consecutive versions instead of colliding (save_run refuses a taken one).
        version = next_version(conn, day)
        documents = settled.documents(version, now)
        run = Run(day, version, now, actor, imbalance_price_cents, settled.report)
        save_run(conn, run, settled.lines, documents)
        audit.record(
            conn,
            actor,
            "settlement.run",
            f"day/{day}",
            now,
            version=version,
            auctions=[a.auction_id for a in frames.auctions],
            ok=settled.report["ok"],
        )
        if key is not None:
            body = {"day": day.isoformat(), "version": version}
            fingerprint = _fingerprint(day, imbalance_price_cents)
            idempotency.save(conn, actor, key, fingerprint, 201, body, now)
    events.emit(
        "settlement.run",
        "delivery day settled",
        day=day.isoformat(),
        version=version,
        auctions=len(frames.auctions),
        invoice_lines=settled.lines.height,
        documents=len(documents),
        ok=bool(settled.report["ok"]),
        by=actor,
        at=events.instant(now),
    )
    return Settled(run, settled.lines, len(documents))


def _day_frames(conn: Connection, day: date, operator_org_id: str, now: datetime) -> DayFrames:
    auctions = _published(conn, day)
    if not auctions:
        raise Conflict(f"no published auction delivers on {day}: nothing to settle")
    tz = auctions[0].config.time_zone
    start, end = day_bounds(day, tz)
    if now < end:
        raise Conflict(
            f"{day} is delivered until {utc_text(end)}: settle it after that (D+1)",
            delivered_until=end,
        )
    eic_of = {o.org_id: o.eic for o in list_orgs(conn)}
    if operator_org_id not in eic_of:
        raise Conflict(
            f"organisation {operator_org_id!r} is not known: name the operator's organisation"
        )
    ids = [a.auction_id for a in auctions]
    blocks = day_blocks(conn, start, end).filter(pl.col("auction_id").is_in(ids))
    return DayFrames(
        day=day,
        start=start,
        end=end,
        auctions=[_auction_frames(conn, a) for a in auctions],
        blocks=blocks,
        schedules=schedule_frame(conn, blocks, auctions[0].config.mtu_minutes),
        owners=pl.concat(
            [
                result_frame(conn, a, "virtual_assets").select("virtual_asset_id", "org_id")
                for a in ids
            ]
        ),
        setpoints=day_setpoints(conn, start, end),
        eic_of=eic_of,
        operator_org_id=operator_org_id,
    )


def _published(conn: Connection, day: date) -> list[AuctionRecord]:
    found = [a for a in list_auctions(conn, {Status.PUBLISHED}) if a.config.delivery_day == day]
    return sorted(found, key=lambda a: a.auction_id)


def _auction_frames(conn: Connection, auction: AuctionRecord) -> AuctionFrames:
    aid = auction.auction_id
    blocks = result_frame(conn, aid, "blocks")
    vas = result_frame(conn, aid, "virtual_assets")
    terms = product_terms(conn, [aid])
    wholesale = (
        blocks.filter(pl.col("market") == "wholesale")
        .join(vas.select("virtual_asset_id", "product_id"), on="virtual_asset_id")
        .join(terms.drop("auction_id"), on="product_id", how="left")
    )
    current = current_schedules(conn, wholesale["block_id"].to_list())
    return AuctionFrames(
        auction_id=aid,
        config=auction.config,
        awards=result_frame(conn, aid, "awards"),
        virtual_assets=vas,
        blocks=blocks,
        lost=lost_of(conn, blocks.select("block_id", "power_kw", "start", "end")),
        wholesale=wholesale,
        power_kw={block_id: v.power_kw for block_id, v in current.items()},
        ancillary=_accepted_reserve(conn, blocks),
    )


def _accepted_reserve(conn: Connection, blocks: pl.DataFrame) -> pl.DataFrame:
    """The accepted ancillary bids on the auction's reserve blocks (``ANCILLARY_BIDS``)."""
    ids = blocks.filter(pl.col("market") != "wholesale")["block_id"].to_list()
    bids = accepted_on(conn, ids)
    return pl.DataFrame(
        [{name: getattr(b, name) for name in ANCILLARY_BIDS.names()} for b in bids],
        schema=ANCILLARY_BIDS,
    )
