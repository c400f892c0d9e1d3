"""Ancillary bids on a virtual asset's reserve blocks (the guide's "submit and monitor
ancillary services bids"): submit or replace, list, read with every version, withdraw."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api import services
from api.http.deps import Member, Operator, Reader
from api.http.limits import ANCILLARY_BATCH_BYTES, TSO_RESULTS_BYTES, body_limit
from api.http.paging import EVERYTHING, Paging, whole
from api.http.schemas.ancillary import (
    AncillaryBidHistory,
    AncillaryBidPublic,
    AncillaryBidsIn,
    ImportSummary,
    SandboxAuction,
    TsoBids,
    TsoResults,
)
from api.http.schemas.fields import Day
from api.http.schemas.lists import ListOf
from auction.errors import Conflict
from auction.store.ancillary import AncillaryBid
from auction.units import CENTS_PER_EUR
from dispatch.ancillary.bids import AncillaryBidIn

CENT = Decimal("0.01")

router = APIRouter(
    prefix="/organisations/{org_id}/virtual-assets/{virtual_asset_id}/ancillary-bids",
    tags=["ancillary"],
)


def _cents(eur: Decimal | None) -> int | None:
    # The schema allows whole cents only, so this is exact.
    return None if eur is None else int(eur * CENTS_PER_EUR)


def _eur(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(cents) / CENTS_PER_EUR).quantize(CENT)


def _fields(b: AncillaryBid, view: services.ancillary.BidView | None = None) -> dict[str, object]:
    return {
        **(
            {}
            if view is None
            else {"available_kw": view.available_kw, "undeliverable_kw": view.undeliverable_kw}
        ),
        "bid_id": b.bid_id,
        "virtual_asset_id": b.virtual_asset_id,
        "product_date_code": b.product_code,
        "block_id": b.block_id,
        "delivery_day": b.delivery_day,
        "market": b.market,
        "direction": b.direction,
        "start": b.start,
        "end": b.end,
        "gate_closure": b.gate_closure,
        "offered_capacity": b.offered_kw,
        "capacity_price": _eur(b.capacity_price_cents),
        "energy_price": _eur(b.energy_price_cents),
        "status": b.status,
        "accepted_capacity": b.accepted_kw,
        "accepted_price": _eur(b.accepted_price_cents),
        "version": b.version,
        "updated_at": b.updated_at,
    }


@router.post(
    "",
    response_model=ListOf[AncillaryBidPublic],
    openapi_extra=body_limit(ANCILLARY_BATCH_BYTES),
)
def post_bids(
    org_id: str, virtual_asset_id: str, body: AncillaryBidsIn, call: Member
) -> ListOf[AncillaryBidPublic]:
    """Offer reserve of this virtual asset: one bid per product, each replacing your bid
    for that product until its gate (FCR D-1 08:00, aFRR capacity D-1 09:00, aFRR energy
    25 minutes before the quarter-hour, Europe/Berlin). All bids are stored or none: a
    422 lists every broken rule by bid and field; a closed gate is a 409 with its time.
    Answers the bids stored, in the order sent."""
    bids = [
        AncillaryBidIn(
            product_code=b.product_date_code,
            offered_kw=b.offered_capacity,
            capacity_price_cents=_cents(b.capacity_price),
            energy_price_cents=_cents(b.energy_price),
        )
        for b in body.bids
    ]
    saved = services.ancillary.submit(
        call.store,
        org_id,
        virtual_asset_id,
        bids,
        call.user.user_id,
        call.now,
        call.settings.gate_rules(),
    )
    return whole([AncillaryBidPublic.model_validate(_fields(b)) for b in saved])


@router.get("", response_model=ListOf[AncillaryBidPublic])
def get_bids(
    org_id: str, virtual_asset_id: str, call: Reader, page: Paging = EVERYTHING
) -> ListOf[AncillaryBidPublic]:
    """Your bids on this virtual asset as they are now, with their status: `submitted`,
    `sent` (to the TSO by the operator), `accepted`, `partially_accepted`, `rejected`
    (with the accepted kW and price once the TSO's results are in) or `withdrawn`."""
    found = services.ancillary.bids(
        call.store, org_id, virtual_asset_id, call.settings.gate_rules()
    )
    return page.of(found, lambda v: AncillaryBidPublic.model_validate(_fields(v.bid, v)))


@router.get("/{product_date_code}", response_model=AncillaryBidHistory)
def get_bid(
    org_id: str, virtual_asset_id: str, product_date_code: str, call: Reader
) -> AncillaryBidHistory:
    """One bid with every version you sent, oldest first."""
    view, versions = services.ancillary.bid(
        call.store, org_id, virtual_asset_id, product_date_code, call.settings.gate_rules()
    )
    history = [
        {
            "version": v.version,
            "offered_capacity": v.offered_kw,
            "capacity_price": _eur(v.capacity_price_cents),
            "energy_price": _eur(v.energy_price_cents),
            "withdrawn": v.withdrawn,
            "user_id": v.user_id,
            "at": v.at,
        }
        for v in versions
    ]
    return AncillaryBidHistory.model_validate({**_fields(view.bid, view), "versions": history})


@router.delete("/{product_date_code}", response_model=AncillaryBidPublic)
def withdraw_bid(
    org_id: str, virtual_asset_id: str, product_date_code: str, call: Member
) -> AncillaryBidPublic:
    """Withdraw your bid for this product before its gate (a 409 after it); it stays listed
    as `withdrawn` with its versions."""
    after = services.ancillary.withdraw(
        call.store,
        org_id,
        virtual_asset_id,
        product_date_code,
        call.user.user_id,
        call.now,
        call.settings.gate_rules(),
    )
    return AncillaryBidPublic.model_validate(_fields(after))


pool_router = APIRouter(prefix="/ancillary/{delivery_day}", tags=["ancillary"])


@pool_router.post("/export", response_model=TsoBids)
def export_bids(
    delivery_day: Day,
    market: Annotated[Literal["fcr", "afrr_capacity", "afrr_energy"], Query()],
    call: Operator,
) -> TsoBids:
    """The pool's bids of the day in one market for the TSO, one per customer bid; they
    become `sent`. A 409 names each product whose bids offer more than the pool's
    prequalified assets can give (FCR: 80 % of rated power)."""
    bids = services.ancillary.export_day(
        call.store, delivery_day, market, call.user.user_id, call.now, call.settings.gate_rules()
    )
    return TsoBids(delivery_day=delivery_day, market=market, bids=bids)


@pool_router.post(
    "/results", response_model=ImportSummary, openapi_extra=body_limit(TSO_RESULTS_BYTES)
)
def import_results(delivery_day: Day, body: TsoResults, call: Operator) -> ImportSummary:
    """The TSO's results of the day: each sent bid becomes `accepted`,
    `partially_accepted` or `rejected` with its accepted kW and price. All or nothing;
    importing the same results again changes nothing."""
    counts = services.ancillary.import_results(
        call.store, delivery_day, body.bids, call.user.user_id, call.now
    )
    return ImportSummary(delivery_day=delivery_day, statuses=counts)


@pool_router.post("/sandbox-tso", response_model=ImportSummary)
def sandbox_tso(
    delivery_day: Day,
    market: Annotated[Literal["fcr", "afrr_capacity"], Query()],
    body: SandboxAuction,
    call: Operator,
) -> ImportSummary:
    """Sandbox only: play the TSO's auction of the day in one capacity market. The pool's
    bids are exported (`sent`), cleared with seeded competitors at the given demand (FCR
    pay-as-cleared, aFRR pay-as-bid, least total cost, indivisible FCR bids whole) and
    the results imported as a real TSO's would be."""
    if call.settings.env != "sandbox":
        raise Conflict("the TSO stand-in runs in the sandbox only: import the TSO's results")
    counts = services.ancillary.sandbox_tso(
        call.store,
        delivery_day,
        market,
        body.demand_mw or None,
        body.seed,
        call.user.user_id,
        call.now,
        call.settings.gate_rules(),
    )
    return ImportSummary(delivery_day=delivery_day, statuses=counts)
