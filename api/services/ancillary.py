"""Ancillary bids: a customer offers its virtual asset's FCR and aFRR reserve to the TSO's
markets (through the operator), replaces an offer until the gate, or withdraws it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy.engine import Connection

from api.services.frames import lost_of
from auction.errors import BodyProblems, Conflict, DomainError, NotFound
from auction.lifecycle import Status
from auction.store import Store, audit
from auction.store.ancillary import (
    STATUSES,
    AncillaryBid,
    AncillaryBidVersion,
    bids_of,
    day_bids,
    mark_sent,
    save_versions,
    set_results,
)
from auction.store.ancillary import versions_of as stored_versions
from auction.store.ancillary import withdraw as withdraw_bid
from auction.store.auctions import list_auctions
from auction.store.dispatch import auction_configs, blocks_of, org_virtual_assets
from auction.store.fleet import availability_frame, fleet_frame
from auction.timegrid import day_bounds, mtu_span
from dispatch.ancillary.bids import AncillaryBidIn, ReserveBlock, check_bids, gate_passed
from dispatch.ancillary.exchange import (
    EXPORTED,
    over_capacity,
    pool_capacity_kw,
    read_results,
    tso_bids,
)
from dispatch.ancillary.products import (
    BLOCK_MARKET,
    GateRules,
    Product,
    day_products,
    parse_product,
)
from dispatch.ancillary.sandbox import tso_results
from dispatch.slices import lost_per_mtu

# The shape of a productDateCode, as far as a lookup needs it (the rules check the rest).
_CODE = re.compile(r"\d{4}-\d{2}-\d{2}_(NEGPOS|POS|NEG)_\d{2,3}(_\d{2})?")
SENT = ("sent", "accepted", "partially_accepted", "rejected")
MARKETS = ("fcr", "afrr_capacity", "afrr_energy")
RESERVE_MARKETS = frozenset(BLOCK_MARKET.values())


def submit(
    store: Store,
    org_id: str,
    va_id: str,
    bids: Sequence[AncillaryBidIn],
    user_id: str,
    now: datetime,
    gates: GateRules,
) -> list[AncillaryBid]:
    """Store the bids as new versions, all of them or none: every rule is checked first."""
    with store.write() as conn:
        blocks = _reserve_blocks(conn, org_id, va_id)
        try:
            checked = check_bids(bids, blocks, now, gates)
        except DomainError as exc:
            raise BodyProblems(exc.problems, ("body", "bids")) from exc
        rows = [
            {
                "virtual_asset_id": va_id,
                "product_code": c.product.code,
                "org_id": org_id,
                "block_id": c.block_id,
                "delivery_day": c.product.day,
                "market": c.product.market,
                "direction": c.product.direction,
                "start": c.product.start,
                "end": c.product.end,
                "gate_closure": c.product.gate_closure,
                "offered_kw": c.bid.offered_kw,
                "capacity_price_cents": c.bid.capacity_price_cents,
                "energy_price_cents": c.bid.energy_price_cents,
            }
            for c in checked
        ]
        saved = save_versions(conn, rows, user_id, now)
        audit.record(
            conn,
            user_id,
            "ancillary.submit",
            f"va/{va_id}",
            now,
            org_id=org_id,
            products=[r["product_code"] for r in rows],
        )
    return saved


@dataclass(frozen=True, slots=True)
class BidView:
    """A bid and what its block can give now all through the product's window: an
    outage after the bid may leave it (or the reserve the TSO accepted) undeliverable."""

    bid: AncillaryBid
    available_kw: int

    @property
    def undeliverable_kw(self) -> int:
        promised = self.bid.accepted_kw if self.bid.accepted_kw is not None else self.bid.offered_kw
        return (
            0
            if self.bid.status in ("withdrawn", "rejected")
            else max(0, promised - self.available_kw)
        )


def bids(store: Store, org_id: str, va_id: str, gates: GateRules) -> list[BidView]:
    """The virtual asset's bids as they are now, by product window."""
    with store.read() as conn:
        blocks = {b.block_id: b for b in _reserve_blocks(conn, org_id, va_id)}
        return [_view(b, blocks, gates) for b in bids_of(conn, va_id)]


def bid(
    store: Store, org_id: str, va_id: str, product_code: str, gates: GateRules
) -> tuple[BidView, list[AncillaryBidVersion]]:
    """One bid with every version sent."""
    with store.read() as conn:
        blocks = {b.block_id: b for b in _reserve_blocks(conn, org_id, va_id)}
        found = _one(conn, org_id, va_id, product_code)
        return _view(found, blocks, gates), stored_versions(conn, found.bid_id)


def _view(bid: AncillaryBid, blocks: Mapping[str, ReserveBlock], gates: GateRules) -> BidView:
    product = parse_product(bid.product_code, gates)
    return BidView(bid, blocks[bid.block_id].least_available_kw(product))


def open_products(
    store: Store, org_id: str, va_id: str, now: datetime, gates: GateRules
) -> list[Product]:
    """The products a bid on this virtual asset may name now: inside one of its reserve
    blocks (of the market the product draws on) and before the product's gate."""
    with store.read() as conn:
        blocks = _reserve_blocks(conn, org_id, va_id)
    reserve = [b for b in blocks if b.market in RESERVE_MARKETS]
    days = sorted({d for b in reserve for d in _local_days(b.start, b.end, gates.time_zone)})
    return [
        p
        for day in days
        for p in day_products(day, gates)
        if not gate_passed(p, now) and any(b.covers(p) for b in reserve)
    ]


def _local_days(start: datetime, end: datetime, time_zone: str) -> list[date]:
    """The local delivery days that [start, end) touches."""
    zone = ZoneInfo(time_zone)
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def withdraw(
    store: Store,
    org_id: str,
    va_id: str,
    product_code: str,
    user_id: str,
    now: datetime,
    gates: GateRules,
) -> AncillaryBid:
    """Withdraw a bid before its gate; a withdrawn bid stays listed with its versions."""
    with store.write() as conn:
        found = _one(conn, org_id, va_id, product_code)
        product = parse_product(product_code, gates)
        if gate_passed(product, now):
            raise Conflict(
                f"the gate of {product_code} closed at {product.gate_closure.isoformat()}: "
                "the bid stands as it is",
                gate_closure=product.gate_closure,
            )
        if found.status != "submitted":
            raise Conflict(
                f"the bid for {product_code} is {found.status}: only a submitted bid is withdrawn",
                bid_status=found.status,
            )
        after = withdraw_bid(conn, found, user_id, now)
        audit.record(conn, user_id, "ancillary.withdraw", f"va/{va_id}", now, product=product_code)
    return after


def export_day(
    store: Store, day: date, market: str, actor: str, now: datetime, gates: GateRules
) -> list[dict[str, Any]]:
    """The pool's bids of ``day`` in ``market`` for the TSO, one per customer bid (those
    submitted or sent before); they are marked sent. Refused (409) when a product's bids
    offer more than the pool's prequalified assets can give."""
    with store.write() as conn:
        zone = _zone(conn, day)
        bids = day_bids(conn, day, [market], ("submitted", *SENT))
        frame = _exported(bids)
        start, end = day_bounds(day, gates.time_zone)
        capacity = pool_capacity_kw(
            fleet_frame(conn),
            availability_frame(conn, start, end),
            frame["product_code"].unique().to_list(),
            gates,
            zone,
        )
        over = over_capacity(frame, capacity)
        if over:
            listed = "; ".join(
                f"{o['product_code']} offers {o['offered_kw']:,} kW, {o['excess_kw']:,} kW "
                f"more than the pool's prequalified assets can give ({o['capacity_kw']:,} kW)"
                for o in over
            )
            raise Conflict(
                f"nothing exported: {listed}; lower or refuse bids first", over_capacity=over
            )
        mark_sent(conn, [b.bid_id for b in bids if b.status == "submitted"], now)
        audit.record(
            conn, actor, "ancillary.export", f"day/{day}", now, market=market, bids=len(bids)
        )
    return tso_bids(frame, zone)


def pool_bids(store: Store, day: date) -> list[AncillaryBid]:
    """Every customer bid of ``day`` in the pool, each market and status, by product."""
    with store.read() as conn:
        return day_bids(conn, day, MARKETS, STATUSES)


def result_bids(document: object) -> list[Any] | None:
    """The bids of a TSO results file: ``{"bids": [...]}`` (as exported) or a bare list;
    None when it holds no list of bids."""
    bids = document.get("bids") if isinstance(document, dict) else document
    return bids if isinstance(bids, list) else None


def import_results(
    store: Store, day: date, document: Sequence[Mapping[str, Any]], actor: str, now: datetime
) -> dict[str, int]:
    """Mark each sent bid of ``day`` with the TSO's result; all or nothing, and importing
    the same results again changes nothing. Returns how many bids got each status."""
    with store.write() as conn:
        sent = day_bids(conn, day, MARKETS, SENT)
        try:
            results = read_results(document, _exported(sent), day)
        except DomainError as exc:
            raise BodyProblems(exc.problems, ("body",)) from exc
        set_results(conn, results.to_dicts(), now)
        counts = {str(k): int(n) for k, n in results.group_by("status").len().iter_rows()}
        audit.record(conn, actor, "ancillary.import", f"day/{day}", now, results=counts)
    return counts


def _zone(conn: Connection, day: date) -> str:
    """The TSO zone of the day's published auctions (the first one's, by id)."""
    found = sorted(
        (a for a in list_auctions(conn, {Status.PUBLISHED}) if a.config.delivery_day == day),
        key=lambda a: a.auction_id,
    )
    if not found:
        raise Conflict(f"no published auction delivers on {day}: no reserve to offer")
    return found[0].config.tso_zone


def _exported(bids: Sequence[AncillaryBid]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (
                b.bid_id,
                b.product_code,
                b.market,
                b.direction,
                b.delivery_day,
                b.offered_kw,
                b.capacity_price_cents,
                b.energy_price_cents,
            )
            for b in bids
        ],
        schema=EXPORTED,
        orient="row",
    )


def _owned(conn: Connection, org_id: str, va_id: str) -> pl.DataFrame:
    """The organisation's published virtual asset, or the 404 a stranger also gets."""
    vas = org_virtual_assets(conn, org_id).filter(pl.col("virtual_asset_id") == va_id)
    if vas.height == 0:
        raise NotFound("virtual asset", va_id)
    return vas


def _one(conn: Connection, org_id: str, va_id: str, product_code: str) -> AncillaryBid:
    _owned(conn, org_id, va_id)
    if not _CODE.fullmatch(product_code):  # no such bid can exist: do not ask the store
        raise NotFound("ancillary bid", product_code)
    found = bids_of(conn, va_id, [product_code])
    if not found:
        raise NotFound("ancillary bid", product_code)
    return found[0]


def _reserve_blocks(conn: Connection, org_id: str, va_id: str) -> list[ReserveBlock]:
    """The virtual asset's blocks with the kW per MTU an outage took from each."""
    vas = _owned(conn, org_id, va_id)
    blocks = blocks_of(conn, [va_id])
    configs = auction_configs(conn, vas["auction_id"].unique().to_list())
    lost = lost_of(conn, blocks.select("block_id", "power_kw", "start", "end"))
    out = []
    for b in blocks.iter_rows(named=True):
        mtu = configs[b["auction_id"]].mtu_minutes
        mine = lost.filter(pl.col("block_id") == b["block_id"])
        n_mtu = mtu_span(b["start"], b["end"], mtu)
        out.append(
            ReserveBlock(
                block_id=b["block_id"],
                market=b["market"],
                power_kw=b["power_kw"],
                start=b["start"],
                end=b["end"],
                mtu_minutes=mtu,
                lost_kw=lost_per_mtu(mine, b["start"], n_mtu, mtu),
            )
        )
    return out


def sandbox_tso(
    store: Store,
    day: date,
    market: str,
    demand_mw: Mapping[str, int] | None,
    seed: int,
    actor: str,
    now: datetime,
    gates: GateRules,
) -> dict[str, int]:
    """Play the TSO's auction of ``day`` in ``market`` (sandbox only: the caller checks):
    export the pool's bids, clear them with seeded competitors, import the results."""
    if market not in ("fcr", "afrr_capacity"):
        raise Conflict(f"the sandbox TSO clears FCR and aFRR capacity, not {market}")
    bids = export_day(store, day, market, actor, now, gates)
    return import_results(store, day, tso_results(bids, market, seed, demand_mw), actor, now)
