"""The clearing report of an auction, for the operator, once it is cleared: the summary
and the checker's verdict, clearing prices, the merit order per product, the fleet's
utilisation and which physical assets back each virtual asset."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.http.routes import auctions as api_auctions
from api.services import auction_reports
from api.web.render import render
from api.web.session import OperatorPage
from auction.errors import Conflict
from auction.store.auctions import get_auction
from clearing.result import gap_text

router = APIRouter(include_in_schema=False)

MARKET_LABELS = {
    "wholesale": "Wholesale",
    "fcr": "FCR",
    "afrr_pos": "aFRR+",
    "afrr_neg": "aFRR−",
}


@router.get("/ui/operator/auctions/{auction_id}/clearing")
def clearing_page(request: Request, auction_id: str, call: OperatorPage) -> HTMLResponse:
    report = api_auctions.get_report(auction_id, call)
    if report["clearing"] is None:
        raise Conflict(
            f"auction {auction_id} is {report['status']}: it has no clearing report until it "
            "is cleared"
        )
    views = auction_reports.clearing_views(call.store, auction_id)
    with call.store.read() as conn:
        # Clearing prices as the published results give them (the operator sees them
        # before publication too).
        results = api_auctions.results_of(conn, get_auction(conn, auction_id))
    auction = api_auctions.get_one(auction_id, call)
    summary = report["clearing"]["summary"]
    values = {
        "auction": auction,
        "report": report,
        "summary": summary,
        "gap": gap_text(summary.get("mip_gap")),
        "revenue": {p["product_id"]: p for p in report["clearing"]["products"]},
        "results": results,
        "views": views,
        "markets": MARKET_LABELS,
    }
    return render(
        request,
        "operator_auctions/clearing.html",
        call,
        values,
        title=f"Clearing report: {auction_id}",
    )
