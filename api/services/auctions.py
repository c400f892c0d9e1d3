"""What the doors (routes, CLI, the scheduler) do with the store and the engine.

Each function is one step of an auction's life in one transaction: read what it needs,
apply the domain's rules, write, record the audit event. The clearing itself runs outside
any transaction (it may take a minute); its result is written afterwards, only if the
auction is still in a state to take it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy.engine import Connection

from api.services import events
from auction.accounts import Role
from auction.archive import check_config, table_csv, write_archive
from auction.bidding import BidIn, check_bids_in
from auction.book import ALLOCATIONS, FLEET, PRODUCTS
from auction.cells import sheet_from_rows
from auction.errors import BodyProblems, Conflict, DomainError, NotFound, Problem
from auction.instants import utc_text
from auction.lifecycle import Status, check_gate, next_status, visible_to
from auction.model import AuctionConfig
from auction.rules import check_allocations, check_fleet, check_products
from auction.safewrite import check_no_links, write_file
from auction.store import Store, audit
from auction.store.accounts import list_orgs, new_id, org_zone
from auction.store.auctions import (
    AuctionRecord,
    get_auction,
    insert_auction,
    product_frame,
    product_limits,
    replace_allocations,
    set_status,
)
from auction.store.bids import OwnLinks, amend_bid, insert_bids, withdraw_bid
from auction.store.book import load_archive
from auction.store.dispatch import assets_in_use
from auction.store.fleet import replace_fleet
from auction.store.results import ClearingRecord, get_clearing, result_frame, save_clearing
from clearing import ClearingResult, clear, write_results
from clearing.verify import format_report, verify


def checked_rows(
    stem: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    path: tuple[str | int, ...],
    check: Any,
    *args: Any,
) -> pl.DataFrame:
    """Rows of a request body judged by the archive's checks for table ``stem``."""
    sheet = sheet_from_rows(stem, rows, columns)
    frame = check(sheet, *args)
    if sheet.problems:
        raise BodyProblems(sheet.problems, path)
    assert isinstance(frame, pl.DataFrame)
    return frame


# --- fleet ---------------------------------------------------------------------------


def put_fleet(store: Store, rows: list[dict[str, Any]], actor: str, now: datetime) -> pl.DataFrame:
    fleet = checked_rows("fleet", rows, FLEET.names(), ("body", "assets"), check_fleet)
    with store.write() as conn:
        missing = sorted(assets_in_use(conn, now) - set(fleet["asset_id"]))
        if missing:
            raise Conflict(
                f"{len(missing)} asset(s) left out of the new fleet still carry blocks that are "
                "not yet delivered: keep them, and record an outage (POST /fleet/outages) "
                "for an asset that is gone, so that its blocks are re-backed",
                assets=missing,
            )
        replace_fleet(conn, fleet)
        audit.record(conn, actor, "fleet.replace", "fleet", now, assets=fleet.height)
    return fleet


# --- auctions ------------------------------------------------------------------------


def _config(doc: dict[str, Any]) -> AuctionConfig:
    problems: list[Problem] = []
    config = check_config({k: v for k, v in doc.items() if v is not None}, problems, "auction")
    if problems or config is None:
        raise BodyProblems(problems, ("body", "auction"))
    return config


def _allocations(
    conn: Connection, rows: list[dict[str, Any]], products: pl.DataFrame
) -> pl.DataFrame:
    frame = checked_rows(
        "allocations",
        rows,
        ALLOCATIONS.names(),
        ("body", "allocations"),
        check_allocations,
        products,
    )
    known = {org.org_id for org in list_orgs(conn)}
    problems = [
        Problem("allocations", i + 1, "org_id", org, "org_id names no organisation")
        for i, org in enumerate(frame["org_id"].to_list())
        if org not in known
    ]
    if problems:
        raise BodyProblems(problems, ("body", "allocations"))
    return frame


def checked_auction(
    conn: Connection,
    auction: dict[str, Any],
    products: list[dict[str, Any]],
    allocations: list[dict[str, Any]],
) -> tuple[AuctionConfig, pl.DataFrame, pl.DataFrame]:
    """The body of ``POST /auctions`` judged by every rule of the archive, written nowhere:
    its auction.json, products and fixed allocations (BodyProblems otherwise)."""
    config = _config({**auction, "auction_id": auction.get("auction_id") or new_id()})
    checked = checked_rows(
        "products", products, PRODUCTS.names(), ("body", "products"), check_products, config
    )
    return config, checked, _allocations(conn, allocations, checked)


def create_auction(
    conn: Connection,
    auction: dict[str, Any],
    products: list[dict[str, Any]],
    allocations: list[dict[str, Any]],
    *,
    auto_publish: bool,
    actor: str,
    now: datetime,
) -> AuctionRecord:
    config, checked, alloc = checked_auction(conn, auction, products, allocations)
    record = insert_auction(
        conn, config, checked.select(PRODUCTS.names()), auto_publish=auto_publish, now=now
    )
    replace_allocations(conn, config.auction_id, alloc)
    audit.record(
        conn,
        actor,
        "auction.create",
        f"auction/{config.auction_id}",
        now,
        products=checked.height,
        allocations=alloc.height,
    )
    return record


def put_allocations(
    store: Store, auction_id: str, rows: list[dict[str, Any]], actor: str, now: datetime
) -> pl.DataFrame:
    """Fixed allocations may change until the auction is cleared."""
    with store.write() as conn:
        record = get_auction(conn, auction_id, lock=True)
        if record.status not in (Status.DRAFT, Status.OPEN, Status.CLOSED):
            raise Conflict(
                f"allocations cannot change once the auction is {record.status.value}",
                auction_status=record.status.value,
            )
        products = checked_rows(
            "products",
            product_frame(conn, auction_id).to_dicts(),
            PRODUCTS.names(),
            ("products",),
            check_products,
            record.config,
        )
        frame = _allocations(conn, rows, products)
        replace_allocations(conn, auction_id, frame)
        audit.record(
            conn, actor, "auction.allocations", f"auction/{auction_id}", now, rows=frame.height
        )
    return frame


def step(
    conn: Connection, auction_id: str, action: str, actor: str, now: datetime
) -> AuctionRecord:
    """open, close, publish or cancel an auction."""
    if action == "publish":
        published = _publish(conn, auction_id, actor, now)
        _published(auction_id, actor, now)  # in the caller's transaction, as below
        return published
    record = get_auction(conn, auction_id, lock=True)
    target = next_status(action, record.status)
    if action == "open" and now >= record.gate_close:
        raise Conflict(
            f"cannot open: the gate close {utc_text(record.gate_close)} has passed",
            gate_close=record.gate_close,
        )
    set_status(conn, auction_id, target, now)
    audit.record(conn, actor, f"auction.{action}", f"auction/{auction_id}", now)
    # In the caller's transaction: a commit that failed after this line would show as
    # the request's 5xx line right after it.
    event, message = _STEP_EVENTS.get(action, (f"auction.{action}", f"auction {action}"))
    events.emit(event, message, auction_id=auction_id, by=actor, at=events.instant(now))
    return get_auction(conn, auction_id)


_STEP_EVENTS = {
    "open": ("auction.opened", "gate opened"),
    "close": ("auction.gate_closed", "gate closed"),
    "cancel": ("auction.cancelled", "auction cancelled"),
}


def close_due(
    store: Store, auction_ids: Sequence[str], now: datetime, grace: timedelta = timedelta(0)
) -> None:
    """Close the gates that passed ``grace`` ago (the scheduler's work; no operator
    needed)."""
    for auction_id in auction_ids:
        with store.write() as conn:
            record = get_auction(conn, auction_id, lock=True)
            closing = record.status is Status.OPEN and now >= record.gate_close + grace
            if closing:
                set_status(conn, auction_id, Status.CLOSED, now)
                audit.record(conn, audit.SYSTEM, "auction.close", f"auction/{auction_id}", now)
        if closing:
            events.emit(
                "auction.gate_closed",
                "gate closed",
                auction_id=auction_id,
                by=audit.SYSTEM,
                at=events.instant(now),
                gate_close=events.instant(record.gate_close),
            )


# --- bids ----------------------------------------------------------------------------


def _open_for_bids(
    conn: Connection, auction_id: str, now: datetime, *, shared: bool = False
) -> AuctionRecord:
    record = get_auction(conn, auction_id, lock=True, shared=shared)
    if not visible_to(record.status, Role.BIDDER):  # bids come from bidders
        raise NotFound("auction", auction_id)
    check_gate(record.status, record.config.gate_open, record.gate_close, now)
    return record


def submit_bids(
    conn: Connection,
    auction_id: str,
    org_id: str,
    bids: Sequence[BidIn],
    *,
    batch: bool,
    user_id: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """Add bids, all or none, while the gate is open, from an organisation whose balancing
    group lies in the auction's TSO zone.

    Submissions lock the auction shared (PostgreSQL): workers take bids side by side, and
    the gate closing waits for them. New bids cannot form a cycle with stored ones (these
    never link to an id not yet stored), and two requests with one new id meet at its
    unique index (``insert_bids``)."""
    record = _open_for_bids(conn, auction_id, now, shared=True)
    zone = org_zone(conn, org_id)
    if zone != record.config.tso_zone:
        rule = (
            f"your balancing group is in TSO zone {zone}, this auction delivers in "
            f"{record.config.tso_zone}: nominations need both in the same zone"
        )
        raise BodyProblems([Problem("organisation", None, "tso_zone", zone, rule)], ("path",))
    try:
        rows = check_bids_in(bids, product_limits(conn, record), OwnLinks(conn, auction_id, org_id))
    except DomainError as exc:
        raise (
            BodyProblems(exc.problems, ("body", "bids")) if batch else _single(exc.problems)
        ) from exc
    stored = insert_bids(conn, auction_id, org_id, rows, user_id, now)
    audit.record(
        conn,
        user_id,
        "bids.submit",
        f"auction/{auction_id}",
        now,
        org_id=org_id,
        bid_ids=[r.bid_id for r in rows],
    )
    return stored


def _single(problems: list[Problem]) -> BodyProblems:
    # A single bid's problems are at the top of the body, not in row 1 of a list.
    flat = [Problem(p.file, None, p.column, p.value, p.rule, p.bid_id) for p in problems]
    return BodyProblems(flat, ("body",))


def amend(
    store: Store,
    auction_id: str,
    org_id: str,
    bid: BidIn,
    expected_version: int | None,
    user_id: str,
    now: datetime,
) -> dict[str, Any]:
    with store.write() as conn:
        record = _open_for_bids(conn, auction_id, now)
        links = OwnLinks(conn, auction_id, org_id)
        if bid.bid_id not in links:
            raise NotFound("bid", bid.bid_id)
        try:
            [row] = check_bids_in([bid], product_limits(conn, record), links)
        except DomainError as exc:
            raise _single(exc.problems) from exc
        stored = amend_bid(conn, auction_id, org_id, row, expected_version, user_id, now)
        audit.record(
            conn,
            user_id,
            "bids.amend",
            f"auction/{auction_id}",
            now,
            org_id=org_id,
            bid_id=bid.bid_id,
            version=stored["version"],
        )
        return stored


def withdraw(
    store: Store,
    auction_id: str,
    org_id: str,
    bid_id: str,
    expected_version: int | None,
    user_id: str,
    now: datetime,
) -> None:
    with store.write() as conn:
        _open_for_bids(conn, auction_id, now)
        withdraw_bid(conn, auction_id, org_id, bid_id, expected_version, user_id, now)
        audit.record(
            conn,
            user_id,
            "bids.withdraw",
            f"auction/{auction_id}",
            now,
            org_id=org_id,
            bid_id=bid_id,
        )


# --- clearing and publication ----------------------------------------------------------


def clear_auction(store: Store, auction_id: str, actor: str, now: datetime) -> ClearingRecord:
    """Clear the stored book, check the result independently, store both."""
    close_due(store, [auction_id], now)  # a gate that has passed is closed, scheduler or not
    with store.read() as conn:
        record, archive = load_archive(conn, auction_id)
    next_status("clear", record.status)
    started = time.perf_counter()
    result = clear(archive)
    with tempfile.TemporaryDirectory(prefix="vba-clear-") as tmp:
        summary = write_results(result, tmp)
        report = verify(archive, tmp)
    duration_s = time.perf_counter() - started
    tz = archive.config.time_zone
    clearing = ClearingRecord(
        auction_id=auction_id,
        status=result.status,
        summary=summary,
        input_sha256=result.input_sha256,
        result_sha256=summary["result_sha256"],
        checker_ok=report.ok,
        checker_report=format_report(report),
        fleet_csv=table_csv(archive.fleet, tz),
        availability_csv=table_csv(archive.availability, tz),
        created_at=now,
    )
    tables = {
        "awards": result.awards,
        "allocation": result.allocation,
        "virtual_assets": result.virtual_assets,
        "blocks": result.blocks,
        "backing": result.backing,
    }
    with store.write() as conn:
        current = get_auction(conn, auction_id, lock=True)
        target = next_status("clear", current.status)
        if current.updated_at != record.updated_at:
            raise Conflict("the auction changed while it was being cleared; clear it again")
        save_clearing(conn, clearing, tables)
        set_status(conn, auction_id, target, now)
        audit.record(
            conn,
            actor,
            "auction.clear",
            f"auction/{auction_id}",
            now,
            status=result.status,
            objective_eur=summary["objective_eur"],
            result_sha256=clearing.result_sha256,
            checker_ok=report.ok,
        )
    events.emit(
        "auction.cleared",
        "auction cleared",
        auction_id=auction_id,
        status=result.status,
        gap=result.mip_gap,
        checker_ok=report.ok,
        duration_s=round(duration_s, 3),
        by=actor,
        at=events.instant(now),
    )
    return clearing


def _publish(conn: Connection, auction_id: str, actor: str, now: datetime) -> AuctionRecord:
    """Make awards visible; only a result the independent checker passed is published."""
    record = get_auction(conn, auction_id, lock=True)
    target = next_status("publish", record.status)
    clearing = get_clearing(conn, auction_id)
    assert clearing is not None  # a cleared auction has one
    if clearing.status == "infeasible":
        raise Conflict(
            "cannot publish an infeasible clearing: "
            + str(clearing.summary.get("message") or "the fixed allocations do not fit"),
        )
    if not clearing.checker_ok:
        raise Conflict(
            "cannot publish: the independent checker found problems in the result",
            checker_report=clearing.checker_report,
        )
    set_status(conn, auction_id, target, now)
    audit.record(
        conn,
        actor,
        "auction.publish",
        f"auction/{auction_id}",
        now,
        result_sha256=clearing.result_sha256,
    )
    return get_auction(conn, auction_id)


def _published(auction_id: str, actor: str, now: datetime) -> None:
    events.emit(
        "auction.published",
        "auction published",
        auction_id=auction_id,
        by=actor,
        at=events.instant(now),
    )


def publish_due(store: Store, auction_ids: Sequence[str], now: datetime) -> None:
    """Clear (if need be) and publish the auctions set to do so by themselves."""
    for auction_id in auction_ids:
        with store.read() as conn:
            record = get_auction(conn, auction_id)
        if record.status is Status.CLOSED:
            clear_auction(store, auction_id, audit.SYSTEM, now)
        with store.write() as conn:
            _publish(conn, auction_id, audit.SYSTEM, now)
        _published(auction_id, audit.SYSTEM, now)


# --- export --------------------------------------------------------------------------


def _stored_result(
    conn: Connection, record: AuctionRecord, clearing: ClearingRecord
) -> ClearingResult:
    """The stored clearing as a ClearingResult, enough to write its files again."""
    summary = clearing.summary
    frames = {
        name: result_frame(conn, record.auction_id, name)
        for name in ("awards", "allocation", "virtual_assets", "blocks", "backing")
    }
    return ClearingResult(
        auction_id=record.auction_id,
        time_zone=record.config.time_zone,
        status=clearing.status,
        objective_eur=Decimal(str(summary["objective_eur"])),
        mip_gap=None if summary["mip_gap"] is None else float(summary["mip_gap"]),
        build_s=float(summary["build_s"]),
        solve_s=float(summary["solve_s"]),
        input_sha256=clearing.input_sha256,
        awards=frames["awards"],
        allocation=frames["allocation"],
        virtual_assets=frames["virtual_assets"],
        blocks=frames["blocks"],
        backing=frames["backing"],
        solver=dict(summary.get("solver") or {}),
        message=summary.get("message"),
        bound_eur=summary.get("bound_eur"),
    )


def export_auction(store: Store, auction_id: str, out_dir: Path) -> ClearingRecord | None:
    """Write the auction as an archive; with its recorded result if it has been cleared.

    The fleet and outages are those the clearing saw, so ``vba clear`` on the export
    reproduces the recorded result byte for byte.
    """
    with store.read() as conn:
        record, archive = load_archive(conn, auction_id)
        clearing = get_clearing(conn, auction_id)
        result = None if clearing is None else _stored_result(conn, record, clearing)
    # A link planted in the directory is refused before anything is written; every file
    # is then written without following one (auction.safewrite).
    check_no_links(out_dir, ("recorded",))
    write_archive(archive, out_dir)
    if clearing is None or result is None:
        return None
    write_file(out_dir / "fleet.csv", clearing.fleet_csv)
    write_file(out_dir / "availability.csv", clearing.availability_csv)
    recorded = out_dir / "recorded"
    summary = write_results(result, recorded)
    if summary["result_sha256"] != clearing.result_sha256:
        raise RuntimeError("the stored result does not reproduce its own hash")
    return clearing
