"""Auctions: the operator's lifecycle steps, everybody's listing, reports and results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from api import services
from api.http import idempotency
from api.http.deps import AnyUser, Operator
from api.http.limits import AUCTION_BYTES, body_limit
from api.http.paging import EVERYTHING, Paging, whole
from api.http.schemas.auctions import (
    AllocationPublic,
    AllocationsIn,
    AuctionCreate,
    AuctionPublic,
    ProductPublic,
)
from api.http.schemas.bids import AuctionResults, ProductResult, ResultBid
from api.http.schemas.clearing import AuctionReport, ClearOutcome
from api.http.schemas.lists import ListOf
from auction.accounts import Role
from auction.errors import Conflict, NotFound
from auction.instants import utc_text
from auction.lifecycle import Status, bidder_view, effective_status, visible_to
from auction.limits import IDEMPOTENCY_KEY_MAX_LENGTH
from auction.model import AuctionConfig
from auction.plausibility import book_by_product, warnings
from auction.store.accounts import User
from auction.store.auctions import (
    AuctionRecord,
    allocation_frame,
    get_auction,
    list_auctions,
    product_frame,
    product_frames,
)
from auction.store.bids import bid_quantities, org_bid_counts
from auction.store.book import load_archive
from auction.store.engine import Connection
from auction.store.results import get_clearing, org_award_counts, result_frame
from auction.units import CENTS_PER_EUR, KW_PER_MW
from clearing.report import awards_by_product, public_results
from clearing.result import optimality_of

router = APIRouter(prefix="/auctions", tags=["auctions"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="a retried POST with the same key has no second effect (e.g. a UUID)",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        pattern=r"^[\x21-\x7e]+$",
    ),
]


def _visible(record: AuctionRecord, user: User) -> bool:
    return visible_to(record.status, user.role)


def _public(conn: Connection, record: AuctionRecord, user: User, now: datetime) -> AuctionPublic:
    return _publics(conn, [record], user, now)[0]


def _publics(
    conn: Connection, records: list[AuctionRecord], user: User, now: datetime
) -> list[AuctionPublic]:
    """The auctions as ``user`` sees them: products and a bidder's own counts in grouped
    queries, not per auction."""
    ids = [r.auction_id for r in records]
    own = user.role is Role.BIDDER
    n_bids = org_bid_counts(conn, user.org_id, ids) if own else {}
    n_won = org_award_counts(conn, user.org_id, ids) if own else {}
    products = product_frames(conn, ids)
    return [_one(conn, r, user, now, n_bids, n_won, products[r.auction_id]) for r in records]


def _one(
    conn: Connection,
    record: AuctionRecord,
    user: User,
    now: datetime,
    n_bids: dict[str, int],
    n_won: dict[str, int],
    product_rows: pl.DataFrame,
) -> AuctionPublic:
    status = effective_status(record.status, record.gate_close, now)
    my_status = None
    if user.role is Role.BIDDER:
        won = n_won.get(record.auction_id, 0) if status is Status.PUBLISHED else 0
        my_status = bidder_view(
            status, record.config.gate_open, now, n_bids.get(record.auction_id, 0), won
        )
    products = [ProductPublic(**row) for row in product_rows.to_dicts()]
    clearing = None
    if user.role is Role.OPERATOR and status in (Status.CLEARED, Status.PUBLISHED):
        cleared = get_clearing(conn, record.auction_id)
        clearing = None if cleared is None else optimality_of(cleared.summary)
    return AuctionPublic(
        auction_id=record.auction_id,
        delivery_day=record.config.delivery_day,
        status=status.value,
        gate_open=record.config.gate_open,
        gate_close=record.gate_close,
        publish_at=record.publish_at,
        auto_publish=record.auto_publish,
        config=_config_json(record.config),
        products=products,
        my_status=my_status,
        clearing=clearing,
    )


def _config_json(config: AuctionConfig) -> dict[str, Any]:
    """auction.json's keys, its instants in UTC with ``Z`` like every answer's (the file may
    say them in local time)."""
    out: dict[str, Any] = config.model_dump(mode="json")
    for key, value in config:
        if isinstance(value, datetime):
            out[key] = utc_text(value)
    return out


def _get_visible(conn: Connection, auction_id: str, user: User) -> AuctionRecord:
    record = get_auction(conn, auction_id)
    if not _visible(record, user):
        raise NotFound("auction", auction_id)
    return record


@router.get("", response_model=ListOf[AuctionPublic])
def get_auctions(call: AnyUser, page: Paging = EVERYTHING) -> ListOf[AuctionPublic]:
    """Auctions with their status, gate times and products; for a bidder also its own view.
    Latest delivery day first, then by id; a page of ``limit`` from ``offset``."""
    with call.store.read() as conn:
        listed = page.of([r for r in list_auctions(conn) if _visible(r, call.user)], _same)
        # Made public in one go: products and counts in grouped queries.
        return ListOf(items=_publics(conn, listed.items, call.user, call.now), next=listed.next)


def _same(record: AuctionRecord) -> AuctionRecord:
    return record


@router.get("/{auction_id}", response_model=AuctionPublic)
def get_one(auction_id: str, call: AnyUser) -> AuctionPublic:
    with call.store.read() as conn:
        return _public(conn, _get_visible(conn, auction_id, call.user), call.user, call.now)


@router.post(
    "", response_model=AuctionPublic, status_code=201, openapi_extra=body_limit(AUCTION_BYTES)
)
def post_auction(
    body: AuctionCreate, request: Request, call: Operator, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Create an auction (status draft) from auction.json's keys, its products and any
    fixed allocations; every rule of the archive applies."""

    def work(conn: Connection) -> AuctionPublic:
        record = services.auctions.create_auction(
            conn,
            body.auction.model_dump(),
            [p.model_dump() for p in body.products],
            [a.model_dump() for a in body.allocations],
            auto_publish=body.auto_publish,
            actor=call.user.user_id,
            now=call.now,
        )
        return _public(conn, record, call.user, call.now)

    request_key = ("POST", request.url.path, body)
    return idempotency.run(
        call.store, call.user.user_id, idempotency_key, request_key, 201, work, call.now
    )


def _step(action: str) -> Callable[..., JSONResponse]:
    def run(
        auction_id: str,
        request: Request,
        call: Operator,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        def work(conn: Connection) -> AuctionPublic:
            record = services.auctions.step(conn, auction_id, action, call.user.user_id, call.now)
            return _public(conn, record, call.user, call.now)

        request_key = ("POST", request.url.path, None)
        return idempotency.run(
            call.store, call.user.user_id, idempotency_key, request_key, 200, work, call.now
        )

    return run


for _action, _doc in (
    ("open", "Open the gate: bids are taken from gate_open until gate_close."),
    ("close", "Close the gate before gate_close (it also closes by itself at gate_close)."),
    ("cancel", "Cancel the auction; nothing is cleared or published."),
    (
        "publish",
        "Publish the awards; each organisation then sees its own. Only a result "
        "the independent checker passed can be published.",
    ),
):
    router.add_api_route(
        f"/{{auction_id}}/{_action}",
        _step(_action),
        methods=["POST"],
        response_model=AuctionPublic,
        summary=f"{_action.capitalize()} the auction",
        description=_doc,
    )


@router.post("/{auction_id}/clear", response_model=ClearOutcome)
def post_clear(auction_id: str, call: Operator) -> dict[str, Any]:
    """Clear the stored book with the engine, check the result independently, store it.
    Returns the clearing summary (summary.json) and the checker's verdict."""
    clearing = services.auctions.clear_auction(call.store, auction_id, call.user.user_id, call.now)
    return {
        **clearing.summary,
        "checker_ok": clearing.checker_ok,
        "checker_report": clearing.checker_report,
    }


@router.put(
    "/{auction_id}/allocations",
    response_model=ListOf[AllocationPublic],
    openapi_extra=body_limit(AUCTION_BYTES),
)
def put_allocations(auction_id: str, body: AllocationsIn, call: Operator) -> ListOf[dict[str, Any]]:
    """Give designated optimisers fixed capacity (the rows of allocations.csv), served before
    bids at price 0; replaces the earlier allocations of the auction and answers the new
    ones, whole."""
    frame = services.auctions.put_allocations(
        call.store,
        auction_id,
        [a.model_dump() for a in body.allocations],
        call.user.user_id,
        call.now,
    )
    return whole(frame.to_dicts())


@router.get("/{auction_id}/report", response_model=AuctionReport)
def get_report(auction_id: str, call: Operator) -> dict[str, Any]:
    """The book before clearing (per product, with plausibility warnings) and, once
    cleared, the clearing summary and per-product results."""
    with call.store.read() as conn:
        record, archive = load_archive(conn, auction_id)
        clearing = get_clearing(conn, auction_id)
        awarded = result_frame(conn, auction_id, "awards") if clearing else None
    report: dict[str, Any] = {
        "auction_id": auction_id,
        "status": record.status.value,
        "book": {"bids": archive.bids.height, "products": book_by_product(archive.bids).to_dicts()},
        "warnings": warnings(archive).to_dicts(),
        "clearing": None,
    }
    if clearing is not None and awarded is not None:
        report["clearing"] = {
            "summary": clearing.summary,
            "checker_ok": clearing.checker_ok,
            "checker_report": clearing.checker_report,
            "products": awards_by_product(awarded).to_dicts(),
        }
    return report


@router.get("/{auction_id}/results", response_model=AuctionResults)
def get_results(auction_id: str, call: AnyUser) -> AuctionResults:
    """The anonymous result list, once published: per product every bid's price, offered
    and awarded MW (without its organisation) and the lowest, average and highest accepted
    price."""
    with call.store.read() as conn:
        record = _get_visible(conn, auction_id, call.user)
        if record.status is not Status.PUBLISHED:
            raise Conflict(
                f"the results are published at {record.publish_at.isoformat()}; "
                f"the auction is {record.status.value}",
                publish_at=record.publish_at,
            )
        return results_of(conn, record)


def results_of(conn: Connection, record: AuctionRecord) -> AuctionResults:
    """The anonymous result list of a cleared auction (published or not: the caller
    decides who may see it), with the clearing prices per product."""
    auction_id = record.auction_id
    rows = public_results(
        bid_quantities(conn, auction_id), result_frame(conn, auction_id, "awards")
    )
    allocated = (
        allocation_frame(conn, auction_id).group_by("product_id").agg(pl.col("quantity_mw").sum())
    )
    allocated_mw = dict(allocated.iter_rows())
    products = []
    for product_id in product_frame(conn, auction_id)["product_id"].to_list():
        mine = rows.filter(pl.col("product_id") == product_id)
        won = mine.filter(pl.col("awarded_kw") > 0)
        awarded_kw = int(won["awarded_kw"].sum())
        average = (
            None
            if not awarded_kw
            else float((won["price_cents"] * won["awarded_kw"]).sum()) / awarded_kw / CENTS_PER_EUR
        )
        products.append(
            ProductResult(
                product_id=product_id,
                offered_mw=int(mine["offered_kw"].sum()) / KW_PER_MW,
                awarded_mw=awarded_kw / KW_PER_MW,
                allocated_mw=float(allocated_mw.get(product_id, 0.0)),
                lowest_accepted_eur_per_mw=None
                if won.is_empty()
                else won["price_cents"].min() / CENTS_PER_EUR,  # type: ignore[operator]
                average_accepted_eur_per_mw=None if average is None else round(average, 2),
                highest_accepted_eur_per_mw=None
                if won.is_empty()
                else won["price_cents"].max() / CENTS_PER_EUR,  # type: ignore[operator]
                bids=[
                    ResultBid(
                        price_eur_per_mw=r["price_cents"] / CENTS_PER_EUR,
                        offered_mw=r["offered_kw"] / KW_PER_MW,
                        awarded_mw=r["awarded_kw"] / KW_PER_MW,
                    )
                    for r in mine.to_dicts()
                ],
            )
        )
    return AuctionResults(
        auction_id=auction_id,
        delivery_day=record.config.delivery_day.isoformat(),
        products=products,
    )
