"""The trader's results of one auction, once published: the organisation's awards, the
anonymous result list and clearing prices per product, and what a losing bid needed.

The numbers are the REST API's own answers (``GET .../awards`` and
``GET /auctions/{id}/results``), read through its route functions.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.http.routes import auctions as api_auctions
from api.http.routes import bids as api_bids
from api.http.schemas.bids import AuctionResults, AwardPublic
from api.web.pages.auctions import mw
from api.web.render import render
from api.web.session import TraderPage
from auction.lifecycle import Status

router = APIRouter(include_in_schema=False)

# Why a bid got less than it asked (docs/archive.md, awards.csv ``reason``), in words.
REASONS = {
    "below_reserve": "its price was below the product's reserve price",
    "outbid": "outbid: higher bids took the capacity",
    "exclusive_group": "another bid of its exclusive group won",
    "parent_rejected": "the bid it is linked to was not accepted",
    "min_quantity": "its minimum quantity did not fit, though its price was high enough",
}


def reason_text(code: str | None) -> str:
    if not code:
        return "—"
    return REASONS.get(code, code)


def prices_chart(results: AuctionResults) -> dict[str, Any]:
    """static/app/charts/prices.js: per product the lowest, volume-weighted and highest
    accepted EUR/MW (null where nothing was accepted)."""
    products = results.products
    return {
        "products": [p.product_id for p in products],
        "lowest": [p.lowest_accepted_eur_per_mw for p in products],
        "average": [p.average_accepted_eur_per_mw for p in products],
        "highest": [p.highest_accepted_eur_per_mw for p in products],
    }


def _losing(awards: list[AwardPublic]) -> list[AwardPublic]:
    """Bids that got less than they asked: rejected, or accepted only in part."""
    return [a for a in awards if a.status != "accepted"]


@router.get("/ui/auctions/{auction_id}/results")
def results_page(auction_id: str, request: Request, call: TraderPage) -> HTMLResponse:
    auction = api_auctions.get_one(auction_id, call)
    values: dict[str, Any] = {"auction": auction, "mw": mw, "reason_text": reason_text}
    title = f"Results of auction {auction.auction_id}"
    if auction.status != Status.PUBLISHED:
        values["published"] = False
        return render(request, "auctions/results.html", call, values, title=title)
    awards = api_bids.get_awards(call.org.org_id, auction_id, call).items
    results = api_auctions.get_results(auction_id, call)
    won = [a for a in awards if a.awarded_mw > 0]
    values.update(
        published=True,
        won=won,
        total_eur=sum(a.payment_eur for a in won),
        n_bids=len(awards),
        losing=_losing(awards),
        results=results,
        prices=prices_chart(results),
    )
    return render(request, "auctions/results.html", call, values, title=title)
