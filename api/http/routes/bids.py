"""Sealed bids of one organisation: submit, list, amend, withdraw; awards after publication."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse

from api import services
from api.http import idempotency
from api.http.deps import Call, Member, Reader
from api.http.limits import BID_BATCH_BYTES, body_limit
from api.http.paging import EVERYTHING, Paging, whole
from api.http.routes.auctions import IdempotencyKey
from api.http.schemas.bids import (
    AwardPublic,
    BidAmend,
    BidBatch,
    BidCreate,
    BidPublic,
    BidSubmission,
    BidVersion,
)
from api.http.schemas.lists import ListOf
from auction.bidding import BidIn
from auction.errors import Conflict, NotFound
from auction.lifecycle import Status, visible_to
from auction.store.accounts import User, get_org, new_id
from auction.store.auctions import AuctionRecord, get_auction, product_frame
from auction.store.bids import bid_history, get_bid, org_bids
from auction.store.engine import Connection
from auction.store.results import result_frame
from auction.units import CENTS_PER_EUR, KW_PER_MW, PAYMENT_UNITS_PER_EUR
from clearing.report import price_needed

router = APIRouter(prefix="/organisations/{org_id}/auctions/{auction_id}", tags=["bids"])
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="the bid's version (its ETag): refused with 412 if it moved on",
    ),
]


def _public(row: dict[str, Any]) -> BidPublic:
    least = row["min_quantity_kw"]
    return BidPublic(
        bid_id=row["bid_id"],
        org_id=row["org_id"],
        product_id=row["product_id"],
        quantity_mw=row["quantity_kw"] / KW_PER_MW,
        min_quantity_mw=None if least is None else least / KW_PER_MW,
        price_eur_per_mw=row["price_cents"] / CENTS_PER_EUR,
        exclusive_group=row["exclusive_group"],
        linked_to=row["linked_to"],
        submitted_at=row["submitted_at"],
        version=row["version"],
    )


def _bid_in(bid: BidCreate | BidAmend, bid_id: str) -> BidIn:
    return BidIn(
        bid_id=bid_id,
        product_id=bid.product_id,
        quantity_mw=bid.quantity_mw,
        min_quantity_mw=bid.min_quantity_mw,
        price_eur_per_mw=bid.price_eur_per_mw,
        exclusive_group=bid.exclusive_group,
        linked_to=None if bid.linked_to is None else str(bid.linked_to),
    )


_VERSION = re.compile(r"[0-9]{1,9}")


def _version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    # ASCII digits only: str.isdigit() takes "²", which int() then refuses.
    if not _VERSION.fullmatch(text):
        shown = if_match if len(if_match) <= 40 else f"{if_match[:40]}…"
        raise Conflict(
            f'If-Match must be the bid\'s version, e.g. "3"; got {shown!r}', precondition=True
        )
    return int(text)


def _readable(conn: Connection, org_id: str, auction_id: str, user: User) -> AuctionRecord:
    get_org(conn, org_id)
    record = get_auction(conn, auction_id)
    if not visible_to(record.status, user.role):
        raise NotFound("auction", auction_id)
    return record


@router.post(
    "/bids",
    status_code=201,
    response_model=BidPublic | ListOf[BidPublic],
    responses={
        409: {
            "description": "the gate is closed (the answer names gate_close), or a bid_id "
            "was used before in this auction (the answer names it in bid_ids)"
        }
    },
    openapi_extra=body_limit(BID_BATCH_BYTES),
)
async def post_bids(
    org_id: str,
    auction_id: str,
    body: BidSubmission,
    request: Request,
    call: Member,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit one bid, or ``{"bids": [...]}`` for many: accepted all together or not at all.
    One bid answers the bid; a batch answers the list of its bids, in its order.

    Every rule of the archive applies (422 names the bid, the field and the rule); after
    gate close the answer is 409 with the gate time.

    Bid ids are single-use UUIDs, unique within the auction: leave ``bid_id`` out to get a
    new one, or send a fresh UUID. An id any bid of the auction ever had (yours or another
    organisation's, live or withdrawn) is refused with a 409 that does not say whose it
    is; to change a bid of yours, ``PUT`` it.
    """
    # async, and the store's writer does the rest: no thread-pool hop per bid.
    work = _submission(org_id, auction_id, body, call)
    request_key = ("POST", request.url.path, body)
    return await idempotency.run_soon(
        call.store, call.user.user_id, idempotency_key, request_key, 201, work, call.now
    )


def place_bids(
    org_id: str,
    auction_id: str,
    body: BidSubmission,
    request: Request,
    call: Call,
    idempotency_key: str | None = None,
) -> JSONResponse:
    """``post_bids`` for a caller in a worker thread (the pages)."""
    work = _submission(org_id, auction_id, body, call)
    request_key = ("POST", request.url.path, body)
    return idempotency.run(
        call.store, call.user.user_id, idempotency_key, request_key, 201, work, call.now
    )


def _submission(
    org_id: str, auction_id: str, body: BidSubmission, call: Call
) -> Callable[[Connection], BidPublic | ListOf[BidPublic]]:
    """The store's work of a submission: the bids as stored, in the answer's shape."""
    submission = body.root
    batch = isinstance(submission, BidBatch)
    items = submission.bids if isinstance(submission, BidBatch) else [submission]
    bids = [_bid_in(b, str(b.bid_id) if b.bid_id else new_id()) for b in items]

    def work(conn: Connection) -> BidPublic | ListOf[BidPublic]:
        stored = services.auctions.submit_bids(
            conn, auction_id, org_id, bids, batch=batch, user_id=call.user.user_id, now=call.now
        )
        public = [_public(row) for row in stored]
        return whole(public) if batch else public[0]

    return work


@router.get("/bids", response_model=ListOf[BidPublic])
def get_bids(
    org_id: str, auction_id: str, call: Reader, page: Paging = EVERYTHING
) -> ListOf[BidPublic]:
    """The organisation's live bids in the auction, current versions, oldest first."""
    with call.store.read() as conn:
        _readable(conn, org_id, auction_id, call.user)
        rows = org_bids(conn, auction_id, org_id, limit=page.fetch, offset=page.offset)
    return page.of_fetched(rows, _public)


@router.get("/bids/{bid_id}", response_model=BidPublic)
def get_one_bid(
    org_id: str, auction_id: str, bid_id: str, response: Response, call: Reader
) -> BidPublic:
    with call.store.read() as conn:
        _readable(conn, org_id, auction_id, call.user)
        bid = _public(get_bid(conn, auction_id, org_id, bid_id))
    response.headers["ETag"] = f'"{bid.version}"'
    return bid


@router.get("/bids/{bid_id}/versions", response_model=ListOf[BidVersion])
def get_versions(
    org_id: str, auction_id: str, bid_id: str, call: Reader, page: Paging = EVERYTHING
) -> ListOf[dict[str, Any]]:
    """Every version of the bid, withdrawal included, with who sent it and when."""
    with call.store.read() as conn:
        _readable(conn, org_id, auction_id, call.user)
        rows = bid_history(conn, auction_id, org_id, bid_id)
    return page.of(rows, _version_row)


def _version_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": r["version"],
        "action": r["action"],
        "at": r["at"],
        "user_id": r["user_id"],
        **_public({**r, "submitted_at": r["at"]}).model_dump(exclude={"version", "submitted_at"}),
    }


@router.put("/bids/{bid_id}", response_model=BidPublic)
def put_bid(
    org_id: str,
    auction_id: str,
    bid_id: str,
    body: BidAmend,
    response: Response,
    call: Member,
    if_match: IfMatch = None,
) -> BidPublic:
    """Amend a bid while the gate is open. The amended bid counts as submitted now for
    time priority. Send ``If-Match: "<version>"`` to refuse (412) a lost update."""
    row = services.auctions.amend(
        call.store,
        auction_id,
        org_id,
        _bid_in(body, bid_id),
        _version(if_match),
        call.user.user_id,
        call.now,
    )
    bid = _public(row)
    response.headers["ETag"] = f'"{bid.version}"'
    return bid


@router.delete("/bids/{bid_id}", status_code=204)
def delete_bid(
    org_id: str, auction_id: str, bid_id: str, call: Member, if_match: IfMatch = None
) -> Response:
    """Withdraw a bid while the gate is open; its versions are kept."""
    services.auctions.withdraw(
        call.store, auction_id, org_id, bid_id, _version(if_match), call.user.user_id, call.now
    )
    return Response(status_code=204)


@router.get("/awards", response_model=ListOf[AwardPublic])
def get_awards(
    org_id: str, auction_id: str, call: Reader, page: Paging = EVERYTHING
) -> ListOf[AwardPublic]:
    """The organisation's awards, after publication only; a rejected or partial bid says
    the price it would have needed."""
    with call.store.read() as conn:
        record = _readable(conn, org_id, auction_id, call.user)
        if record.status is not Status.PUBLISHED:
            raise Conflict(
                f"awards are published at {record.publish_at.isoformat()}; "
                f"the auction is {record.status.value}",
                publish_at=record.publish_at,
            )
        everyone = result_frame(conn, auction_id, "awards")
        needed = price_needed(everyone, product_frame(conn, auction_id))
        vas = result_frame(conn, auction_id, "virtual_assets", org_id=org_id)
    mine = (
        everyone.filter(pl.col("org_id") == org_id)
        .join(needed, on="bid_id", how="left", maintain_order="left")
        .join(
            vas.select("bid_id", "virtual_asset_id"), on="bid_id", how="left", maintain_order="left"
        )
    )
    return page.of(mine.to_dicts(), _award)


def _award(r: dict[str, Any]) -> AwardPublic:
    return AwardPublic(
        bid_id=r["bid_id"],
        product_id=r["product_id"],
        awarded_mw=r["awarded_kw"] / KW_PER_MW,
        price_eur_per_mw=r["price_cents"] / CENTS_PER_EUR,
        payment_eur=r["payment_units"] / PAYMENT_UNITS_PER_EUR,
        status=r["status"],
        reason=r["reason"],
        price_needed_eur_per_mw=None
        if r["needed_cents"] is None
        else r["needed_cents"] / CENTS_PER_EUR,
        virtual_asset_id=r["virtual_asset_id"],
    )
