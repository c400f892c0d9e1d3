"""Ancillary bids on a virtual asset's reserve blocks (the guide's "submit and monitor
ancillary services bids"): the bids with their status, a form to submit one, and a
withdraw button, through the same route functions as ``…/ancillary-bids``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api import services
from api.http.routes import ancillary as api_anc
from api.http.routes import virtual_assets as api_va
from api.http.schemas.ancillary import AncillaryBidPublic, AncillaryBidsIn
from api.web.forms import NO_REFUSAL, FormFields, Refusal, refusal_of, see_other
from api.web.pages.dispatch import MARKETS, local_rule, window_parts
from api.web.render import BERLIN, berlin, end_hhmm, hhmm, render
from api.web.session import PageCall, TraderPage
from auction.errors import Conflict, DomainError
from dispatch.ancillary.bids import gate_passed
from dispatch.ancillary.products import Product, parse_product

router = APIRouter(include_in_schema=False)

FIELDS = ("product_date_code", "offered_capacity", "capacity_price", "energy_price")
# The API's rules name fields as LAYR's API does; the form names them as the schema does.
_FORM_FIELD = {
    "productDateCode": "product_date_code",
    "offeredCapacity": "offered_capacity",
    "capacityPrice": "capacity_price",
    "energyPrice": "energy_price",
}
PRODUCT_MARKETS = {
    ("fcr", "NEGPOS"): "FCR",
    ("afrr_capacity", "POS"): "aFRR+ capacity",
    ("afrr_capacity", "NEG"): "aFRR− capacity",
    ("afrr_energy", "POS"): "aFRR+ energy",
    ("afrr_energy", "NEG"): "aFRR− energy",
}
# The product select's groups: the market, and the unit its price is in.
GROUPS = {
    key: f"{label} ({'EUR/MWh' if key[0] == 'afrr_energy' else 'EUR/MW/h'})"
    for key, label in PRODUCT_MARKETS.items()
}
STATUSES = {
    "submitted": "Submitted",
    "sent": "Sent to the TSO",
    "accepted": "Accepted",
    "partially_accepted": "Partially accepted",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
}
NOTICES = {
    "submitted": "Bid submitted. You may replace it (submit the same product again) or "
    "withdraw it until its gate closes.",
    "withdrawn": "Bid withdrawn. It stays listed as withdrawn, with its versions.",
}


@dataclass(frozen=True, slots=True)
class BidRow:
    bid: AncillaryBidPublic
    name: str  # the product without its day: NEGPOS_08_12, POS_041
    withdrawable: bool

    @property
    def status(self) -> str:
        return STATUSES[self.bid.status]


def product_option(p: Product) -> str:
    """``POS_041 · 10:00 CET to 10:15 CET · gate 29 Nov 09:35 CET``."""
    gate = berlin(p.gate_closure, "%d %b %H:%M")
    return f"{p.name} · {hhmm(p.start)} to {end_hhmm(p.end, p.start)} · gate {gate}"


def _groups(products: list[Product]) -> list[tuple[str, list[tuple[str, str]]]]:
    grouped: dict[str, list[tuple[str, str]]] = {}
    for p in products:
        grouped.setdefault(GROUPS[(p.market, p.direction)], []).append((p.code, product_option(p)))
    return list(grouped.items())


def _page(
    request: Request,
    call: PageCall,
    va_id: str,
    *,
    form: Mapping[str, str] | None = None,
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    org_id = call.org.org_id
    va = api_va.get_virtual_asset(org_id, va_id, call)
    gates = call.settings.gate_rules()
    bids = api_anc.get_bids(org_id, va_id, call).items
    products = services.ancillary.open_products(call.store, org_id, va_id, call.now, gates)
    rows = [
        BidRow(
            b,
            b.product_date_code.split("_", 1)[1],
            b.status == "submitted"
            and not gate_passed(parse_product(b.product_date_code, gates), call.now),
        )
        for b in bids
    ]
    reserve = [b for b in va.blocks if b.market != "wholesale"]
    first = reserve[0].power_kw if reserve else 0
    values: dict[str, Any] = {
        "va": va,
        "short_id": va.virtual_asset_id[:8],
        "reserve": reserve,
        "markets": MARKETS,
        "product_markets": PRODUCT_MARKETS,
        "rows": rows,
        "groups": _groups(products),
        "form": dict(form)
        if form is not None
        else {"offered_capacity": str(max(first // 1000, 1) * 1000)},
        "refusal": refusal,
        "fields": FIELDS,
        "notice": NOTICES.get(notice, ""),
        "window_parts": window_parts,
        "day": va.start.astimezone(BERLIN).date(),
    }
    title = f"Ancillary bids · {va.product_id} · {va.virtual_asset_id[:8]}"
    return render(
        request, "dispatch/ancillary.html", call, values, title=title, status_code=status_code
    )


@router.get("/ui/dispatch/{va_id}/ancillary")
def ancillary_page(
    request: Request, va_id: str, call: TraderPage, notice: str = ""
) -> HTMLResponse:
    return _page(request, call, va_id, notice=notice)


def _refusal(exc: Exception) -> Refusal:
    """The API's refusal with its fields named as the form names them, times in Berlin."""
    refused = refusal_of(exc)
    items = []
    for item in refused.items:
        column = item.get("field")
        name = _FORM_FIELD.get(str(column), column)
        rule = local_rule(str(item["rule"]))
        label = FIELD_LABELS.get(str(name)) if name else None
        items.append(
            {
                **item,
                "field": name,
                "rule": rule,
                "msg": f"{label}: {rule}" if label else local_rule(str(item["msg"])),
            }
        )
    return Refusal(items, "The bid was refused.")


FIELD_LABELS = {
    "product_date_code": "Product",
    "offered_capacity": "Offered capacity",
    "capacity_price": "Capacity price",
    "energy_price": "Energy price",
}


@router.post("/ui/dispatch/{va_id}/ancillary")
def submit_bid(request: Request, va_id: str, call: TraderPage, form: FormFields) -> Response:
    """Submit (or replace) one bid, as one ``POST …/ancillary-bids`` of one bid."""
    bid = {name: form[name] for name in FIELDS if name in form}
    try:
        body = AncillaryBidsIn.model_validate({"bids": [bid]})
        api_anc.post_bids(call.org.org_id, va_id, body, call)
    except Conflict as exc:  # the product's gate has closed
        return _page(request, call, va_id, form=form, refusal=_refusal(exc), status_code=409)
    except (ValidationError, DomainError) as exc:
        return _page(request, call, va_id, form=form, refusal=_refusal(exc), status_code=422)
    return see_other(f"/ui/dispatch/{va_id}/ancillary", notice="submitted")


@router.post("/ui/dispatch/{va_id}/ancillary/{product_date_code}/withdraw")
def withdraw_bid(
    request: Request, va_id: str, product_date_code: str, call: TraderPage
) -> Response:
    try:
        api_anc.withdraw_bid(call.org.org_id, va_id, product_date_code, call)
    except Conflict as exc:  # past its gate, or no longer submitted
        return _page(request, call, va_id, refusal=_refusal(exc), status_code=409)
    return see_other(f"/ui/dispatch/{va_id}/ancillary", notice="withdrawn")
