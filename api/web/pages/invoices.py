"""Invoices and nominations (screen 7): an organisation's invoices and credit notes per
settled delivery day with their lines and totals, and the day's nomination, each to
download as the API serves it (invoice lines as CSV, the nomination as XML or CSV).

A trader sees its own organisation's at ``/ui/invoices``; an operator reads any
organisation's from the settlement screen at ``/ui/operator/settlement/invoices/{org}``.
Both call the route functions of ``GET /organisations/{org}/invoices`` and
``GET /organisations/{org}/nominations/{day}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.http.deps import Call
from api.http.downloads import attachment, file_stem
from api.http.routes import settlement as api_settlement
from api.http.schemas.lists import ListOf
from api.http.schemas.settlement import Invoice, Nominations
from api.web.render import number, render
from api.web.session import OperatorPage, TraderPage
from auction.errors import NotFound
from auction.store.accounts import Organisation, get_org

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    "award": "Award",
    "unavailability_credit": "Unavailability credit",
    "imbalance_charge": "Imbalance charge",
    "ancillary_revenue": "Ancillary revenue",
    "ancillary_credit": "Ancillary credit",
}
NominationFormat = Literal["xml", "csv"]


def eur(value: Decimal) -> str:
    """Money exactly as stored (up to 5 decimals), at least 2: ``25.515``, ``329.22``."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return number(value, places)


@dataclass(frozen=True, slots=True)
class Line:
    kind: str
    product_id: str
    start: datetime | None
    end: datetime | None
    quantity: str
    unit_price_eur: str
    amount_eur: str
    description: str


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """One invoice (or credit note, when the organisation gets money back) as shown."""

    name: str
    auction_id: str
    totals: list[tuple[str, str]]
    amount_due_eur: str
    lines: list[Line]


@dataclass(frozen=True, slots=True)
class DayView:
    day: date
    version: int
    invoices: list[InvoiceView]
    nomination: Nominations | None


def invoice_view(invoice: Invoice) -> InvoiceView:
    lines = [
        Line(
            kind=KIND_LABELS.get(line.kind, line.kind),
            product_id=line.product_id or "—",
            start=line.start,
            end=line.end,
            quantity="—" if line.quantity is None else f"{line.quantity} {line.unit or ''}".strip(),
            unit_price_eur=line.unit_price_eur or "—",
            amount_eur=eur(line.amount_eur),
            description=line.description,
        )
        for line in invoice.lines
    ]
    totals = [
        ("Awards", eur(invoice.awards_eur)),
        ("Unavailability credits", eur(invoice.credits_eur)),
        ("Imbalance charges", eur(invoice.imbalance_eur)),
        ("Ancillary (revenue less credits)", eur(invoice.ancillary_eur)),
        ("Total (exact)", eur(invoice.total_eur)),
    ]
    return InvoiceView(
        name="Credit note" if invoice.amount_due_eur < 0 else "Invoice",
        auction_id=invoice.auction_id,
        totals=totals,
        amount_due_eur=number(invoice.amount_due_eur, 2),
        lines=lines,
    )


def _invoices(call: Call, org_id: str) -> list[Invoice]:
    answer = api_settlement.get_invoices(org_id, call, format="json")
    assert isinstance(answer, ListOf)
    return answer.items


def _nomination(call: Call, org_id: str, day: date) -> Nominations | None:
    try:
        answer = api_settlement.get_nominations(org_id, day, call, format="json")
    except NotFound:
        return None
    assert isinstance(answer, Nominations)
    return answer


def days_of(call: Call, org_id: str) -> list[DayView]:
    """The organisation's settled days, the newest first, with invoices and nomination."""
    by_day: dict[date, list[Invoice]] = {}
    for invoice in _invoices(call, org_id):
        by_day.setdefault(invoice.day, []).append(invoice)
    return [
        DayView(
            day=day,
            version=invoices[0].version,
            invoices=[invoice_view(i) for i in invoices],
            nomination=_nomination(call, org_id, day),
        )
        for day, invoices in sorted(by_day.items(), reverse=True)
    ]


def _page(
    request: Request, call: Call, org: Organisation, base: str, *, title: str, back: bool
) -> HTMLResponse:
    values = {"subject": org, "base": base, "days": days_of(call, org.org_id), "back": back}
    return render(request, "invoices/index.html", call, values, title=title)


def _invoices_csv(call: Call, org: Organisation) -> Response:
    answer = api_settlement.get_invoices(org.org_id, call, format="csv")
    assert isinstance(answer, Response)
    return attachment(answer, f"invoices-{file_stem(org.name)}.csv")


def _nomination_file(call: Call, org: Organisation, day: date, fmt: NominationFormat) -> Response:
    nomination = _nomination(call, org.org_id, day)
    if nomination is None:
        raise NotFound("nomination", f"{org.name}/{day}")
    answer = api_settlement.get_nominations(org.org_id, day, call, format=fmt)
    assert isinstance(answer, Response)
    return attachment(answer, f"nomination-{file_stem(org.name)}-{day}-v{nomination.version}.{fmt}")


# ------------------------------------------------------------------ a trader's own


@router.get("/ui/invoices")
def own_invoices(request: Request, call: TraderPage) -> HTMLResponse:
    return _page(request, call, call.org, "/ui/invoices", title="Invoices", back=False)


@router.get("/ui/invoices/invoices.csv")
def own_invoices_csv(call: TraderPage) -> Response:
    return _invoices_csv(call, call.org)


@router.get("/ui/invoices/nominations/{day}.{fmt}")
def own_nomination(day: date, fmt: NominationFormat, call: TraderPage) -> Response:
    return _nomination_file(call, call.org, day, fmt)


# ------------------------------------------------------------------ an operator's view


def _org(call: Call, org_id: str) -> Organisation:
    with call.store.read() as conn:
        return get_org(conn, org_id)


def operator_base(org_id: str) -> str:
    return f"/ui/operator/settlement/invoices/{org_id}"


@router.get("/ui/operator/settlement/invoices/{org_id}")
def org_invoices(request: Request, org_id: str, call: OperatorPage) -> HTMLResponse:
    org = _org(call, org_id)
    title = f"Invoices of {org.name}"
    return _page(request, call, org, operator_base(org.org_id), title=title, back=True)


@router.get("/ui/operator/settlement/invoices/{org_id}/invoices.csv")
def org_invoices_csv(org_id: str, call: OperatorPage) -> Response:
    return _invoices_csv(call, _org(call, org_id))


@router.get("/ui/operator/settlement/invoices/{org_id}/nominations/{day}.{fmt}")
def org_nomination(org_id: str, day: date, fmt: NominationFormat, call: OperatorPage) -> Response:
    return _nomination_file(call, _org(call, org_id), day, fmt)
