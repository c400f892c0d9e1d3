"""The trader's auctions: the list, and one auction with its products and the
organisation's bids (place, amend and withdraw while the gate is open).

Every read and every change goes through the REST API's own route functions, so a page
refuses exactly what the API refuses, in the same words: a bid is placed by
``POST /organisations/{org}/auctions/{id}/bids`` (with the form's key as its
Idempotency-Key and the bid id made when the form was shown), amended by its ``PUT`` with
the version the form was read at as ``If-Match``, and withdrawn by its ``DELETE``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from api.http.routes import auctions as api_auctions
from api.http.routes import bids as api_bids
from api.http.schemas.auctions import AuctionPublic, ProductPublic
from api.http.schemas.bids import BidAmend, BidCreate, BidPublic, BidSubmission
from api.web.forms import NO_REFUSAL, REFUSALS, FormFields, Refusal, refusal_of, see_other
from api.web.render import number, render
from api.web.session import PageCall, TraderPage
from auction.errors import Conflict, Forbidden, NotFound
from auction.lifecycle import Status, gate_is_open

router = APIRouter(include_in_schema=False)

NOTICES = {
    "placed": "Your bid was placed.",
    "amended": "Your bid was amended; it now counts as submitted at the time of the change.",
    "withdrawn": "Your bid was withdrawn; its versions are kept.",
}
# The bid's terms as form fields, named as the API names them (its 422s name these fields).
TERMS = (
    "product_id",
    "quantity_mw",
    "price_eur_per_mw",
    "min_quantity_mw",
    "exclusive_group",
    "linked_to",
)


def mw(value: float | None) -> str:
    """MW with two decimals, or three where a quantity lies on the 1 kW grid between."""
    if value is None:
        return "—"
    return number(value, 2 if round(value, 2) == round(value, 3) else 3)


def plain(value: float | None, places: int) -> str:
    """A number as an input holds it: no thousands separator, no trailing zeros."""
    if value is None:
        return ""
    text = f"{value:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def countdown(until: datetime, now: datetime) -> str:
    """The time left, as static/app/app.js ticks it: ``2 d 03:04:05``, or ``passed``."""
    seconds = int((until - now).total_seconds())
    if seconds <= 0:
        return "passed"
    days, rest = divmod(seconds, 86_400)
    hms = f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
    return f"{days} d {hms}" if days else hms


def bids_taken(auction: AuctionPublic, now: datetime) -> bool:
    """Whether the gate takes bids now (the server decides again on every change)."""
    return gate_is_open(Status(auction.status), auction.gate_open, auction.gate_close, now)


def gate_state(auction: AuctionPublic, now: datetime) -> str:
    """``open``, ``not_yet`` (open, before gate_open), ``closed`` or ``cancelled``."""
    if auction.status == Status.CANCELLED:
        return "cancelled"
    if bids_taken(auction, now):
        return "open"
    if auction.gate_open is not None and now < auction.gate_open and now < auction.gate_close:
        return "not_yet"
    return "closed"


# --- the list --------------------------------------------------------------------------


@router.get("/ui/auctions")
def auctions_page(request: Request, call: TraderPage) -> HTMLResponse:
    auctions = sorted(
        api_auctions.get_auctions(call).items,
        key=lambda a: (a.delivery_day, a.auction_id),
        reverse=True,
    )
    rows = [
        {
            "auction": a,
            "gate": gate_state(a, call.now),
            "countdown": countdown(a.gate_close, call.now),
        }
        for a in auctions
    ]
    values = {"rows": rows}
    return render(request, "auctions/list.html", call, values, title="Auctions")


# --- one auction ----------------------------------------------------------------------


@dataclass
class BidView:
    """One live bid: its terms, its versions, and its amend form (kept after a refusal)."""

    bid: BidPublic
    versions: list[dict[str, Any]]
    form: dict[str, str]
    refusal: Refusal = NO_REFUSAL
    open: bool = False


@dataclass
class Refused:
    """Which form was refused, with what the user typed, and why."""

    form: str  # "place", or "amend:<bid_id>", or "withdraw:<bid_id>"
    typed: dict[str, str] = field(default_factory=dict)
    refusal: Refusal = NO_REFUSAL


def _amend_form(bid: BidPublic) -> dict[str, str]:
    return {
        "product_id": bid.product_id,
        "quantity_mw": plain(bid.quantity_mw, 3),
        "price_eur_per_mw": plain(bid.price_eur_per_mw, 2),
        "min_quantity_mw": plain(bid.min_quantity_mw, 3),
        "exclusive_group": bid.exclusive_group or "",
        "linked_to": bid.linked_to or "",
        "version": str(bid.version),
    }


def _new_bid_form() -> dict[str, str]:
    return dict.fromkeys(TERMS, "") | {
        "bid_id": str(uuid.uuid4()),
        "form_key": str(uuid.uuid4()),
    }


def _product_options(products: list[ProductPublic]) -> list[tuple[str, str]]:
    return [(p.product_id, p.product_id) for p in products]


def _auction_page(
    request: Request,
    call: PageCall,
    auction: AuctionPublic,
    *,
    refused: Refused | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    org_id = call.org.org_id
    live = api_bids.get_bids(org_id, auction.auction_id, call).items
    bids = []
    for bid in live:
        versions = api_bids.get_versions(org_id, auction.auction_id, bid.bid_id, call).items
        view = BidView(bid, versions, _amend_form(bid))
        if refused is not None and refused.form == f"amend:{bid.bid_id}":
            view.form = {**view.form, **refused.typed}
            view.refusal, view.open = refused.refusal, True
        bids.append(view)
    place = _new_bid_form()
    place_refusal = NO_REFUSAL
    if refused is not None and refused.form == "place":
        place = {**place, **refused.typed}
        place_refusal = refused.refusal
    values = {
        "auction": auction,
        "gate": gate_state(auction, call.now),
        "countdown": countdown(auction.gate_close, call.now),
        "bids": bids,
        "place": place,
        "place_refusal": place_refusal,
        "refusal": NO_REFUSAL if refused is None else refused.refusal,
        "product_options": _product_options(auction.products),
        "notice": NOTICES.get(notice, ""),
        "user_id": call.user.user_id,
        "mw": mw,
    }
    title = f"Auction {auction.auction_id}"
    return render(
        request, "auctions/detail.html", call, values, status_code=status_code, title=title
    )


@router.get("/ui/auctions/{auction_id}")
def auction_page(
    auction_id: str, request: Request, call: TraderPage, notice: str = ""
) -> HTMLResponse:
    auction = api_auctions.get_one(auction_id, call)
    return _auction_page(request, call, auction, notice=notice)


def _status_of(exc: Exception) -> int:
    """The status the API answers ``exc`` with: a refused page answers the same."""
    if isinstance(exc, Conflict):
        return 412 if exc.facts.get("precondition") else 409
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    if isinstance(exc, HTTPException):
        return exc.status_code
    return 422


# Refusals of the form's own bid id or idempotency key (used before, or not a UUID).
_KEYS_REFUSED = frozenset({"bid_id", "Idempotency-Key"})


def _terms(form: dict[str, str]) -> dict[str, str]:
    return {name: form[name] for name in TERMS if name in form}


def _refused(
    request: Request,
    call: PageCall,
    auction_id: str,
    exc: Exception,
    refused: Refused,
) -> HTMLResponse:
    """The auction page again, as it is now, with the refusal beside the refused form."""
    auction = api_auctions.get_one(auction_id, call)
    refusal = refusal_of(exc)
    headline = (
        "The bid has changed since you read it."
        if _status_of(exc) == 412
        else "The bid was refused."
    )
    refused.refusal = Refusal(refusal.items, headline)
    return _auction_page(request, call, auction, refused=refused, status_code=_status_of(exc))


@router.post("/ui/auctions/{auction_id}/bids")
def place_bid(auction_id: str, request: Request, call: TraderPage, form: FormFields) -> Response:
    api_auctions.get_one(auction_id, call)  # an auction the trader may not see is a 404 page
    keys: dict[str, str] = {k: form[k] for k in ("bid_id", "form_key") if k in form}
    try:
        bid = BidCreate.model_validate({**_terms(form), "bid_id": form.get("bid_id")})
        api_bids.place_bids(
            call.org.org_id,
            auction_id,
            BidSubmission(root=bid),
            request,
            call,
            idempotency_key=form.get("form_key"),
        )
    except REFUSALS as exc:
        # Shown again with the same bid id and key, the form still places one bid however
        # often it is sent; a bid id or key the server will not take again gets new ones.
        spent = {item.get("field") for item in refusal_of(exc).items} & _KEYS_REFUSED
        typed = _terms(form) if spent or isinstance(exc, Conflict) else {**_terms(form), **keys}
        return _refused(request, call, auction_id, exc, Refused("place", typed))
    return see_other(f"/ui/auctions/{auction_id}", notice="placed")


def _if_match(form: dict[str, str]) -> str | None:
    version = form.get("version")
    return None if version is None else f'"{version}"'


@router.post("/ui/auctions/{auction_id}/bids/{bid_id}/amend")
def amend_bid(
    auction_id: str, bid_id: str, request: Request, call: TraderPage, form: FormFields
) -> Response:
    api_auctions.get_one(auction_id, call)
    typed = {name: form.get(name, "") for name in TERMS}
    try:
        body = BidAmend.model_validate(_terms(form))
        api_bids.put_bid(
            call.org.org_id, auction_id, bid_id, body, Response(), call, _if_match(form)
        )
    except REFUSALS as exc:
        return _refused(request, call, auction_id, exc, Refused(f"amend:{bid_id}", typed))
    return see_other(f"/ui/auctions/{auction_id}", notice="amended")


@router.post("/ui/auctions/{auction_id}/bids/{bid_id}/withdraw")
def withdraw_bid(
    auction_id: str, bid_id: str, request: Request, call: TraderPage, form: FormFields
) -> Response:
    api_auctions.get_one(auction_id, call)
    try:
        api_bids.delete_bid(call.org.org_id, auction_id, bid_id, call, _if_match(form))
    except REFUSALS as exc:
        return _refused(request, call, auction_id, exc, Refused(f"withdraw:{bid_id}"))
    return see_other(f"/ui/auctions/{auction_id}", notice="withdrawn")
