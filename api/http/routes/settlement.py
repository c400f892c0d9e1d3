"""Settlement (D+1): the operator runs a day; organisations read their invoices and
nominations. Money is exact: amounts in EUR with five decimals (1 kW x 1 cent), and the
amount due rounded once per invoice to the cent, half to even."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api import services
from api.http.deps import Operator, Reader
from api.http.downloads import attachment
from api.http.paging import EVERYTHING, Paging
from api.http.routes.auctions import IdempotencyKey
from api.http.schemas.fields import Day
from api.http.schemas.lists import ListOf
from api.http.schemas.settlement import (
    DayRun,
    Invoice,
    InvoiceLine,
    NominationInterval,
    Nominations,
    RunIn,
)
from auction.csvsafe import read_csv
from auction.errors import NotFound
from auction.store.accounts import get_org
from auction.store.settlement import Run, latest_run, org_document, org_lines, run_lines
from auction.units import CENTS_PER_EUR
from settlement.invoices import invoices, kind_totals, lines_csv
from settlement.money import money

router = APIRouter(tags=["settlement"])
Format = Literal["json", "csv", "xml"]


def invoice_list(lines: pl.DataFrame) -> list[Invoice]:
    """One invoice per day, version and auction of one organisation's lines (``day``,
    ``version`` and ``LINES``): what GET /organisations/{org}/invoices answers."""
    out = []
    for (day, version, auction_id), rows in lines.group_by(
        "day", "version", "auction_id", maintain_order=True
    ):
        units = kind_totals(rows)
        [totals] = invoices(rows.drop("day", "version")).to_dicts()
        out.append(
            Invoice(
                day=day,
                version=version,
                auction_id=str(auction_id),
                awards_eur=money(units["award"]),
                credits_eur=money(units["unavailability_credit"]),
                imbalance_eur=money(units["imbalance_charge"]),
                ancillary_eur=money(units["ancillary_revenue"] + units["ancillary_credit"]),
                total_eur=Decimal(totals["total_eur"]),
                amount_due_eur=Decimal(totals["amount_due_eur"]),
                lines=[
                    InvoiceLine(
                        **{k: v for k, v in r.items() if k != "amount_units"},
                        amount_eur=money(r["amount_units"]),
                    )
                    for r in rows.drop("day", "version", "auction_id", "org_id").to_dicts()
                ],
            )
        )
    return out


@router.post("/settlement/{delivery_day}/run", response_model=DayRun, status_code=201)
def run_day(
    delivery_day: Day, body: RunIn, call: Operator, idempotency_key: IdempotencyKey = None
) -> DayRun:
    """Settle a delivery day: pay-as-bid invoices with unavailability credits and SoC
    imbalance charges, and the nominations from the operator's balancing group to each
    customer's (CSV and ESS-style XML). Every run is a new version; nothing is overwritten.
    The answer carries the reconciliation: nominated = scheduled per organisation, and the
    fleet's setpoints (plus any shortfall) = the same total. Sent again with the same
    ``Idempotency-Key``, it answers the run it made instead of making another."""
    cents = int(body.imbalance_price_eur_per_mwh * CENTS_PER_EUR)
    settled = services.settlement.settle_day(
        call.store,
        delivery_day,
        cents,
        call.user.org_id,
        call.user.user_id,
        call.now,
        key=idempotency_key,
    )
    return _day_run(settled.run, settled.lines, settled.documents)


@router.get("/settlement/{delivery_day}", response_model=DayRun)
def get_day(delivery_day: Day, call: Operator) -> DayRun:
    """The newest settlement run of the day."""
    with call.store.read() as conn:
        run = latest_run(conn, delivery_day)
        if run is None:
            raise NotFound("settlement run", str(delivery_day))
        lines, documents = run_lines(conn, run.day, run.version)
    return _day_run(run, lines, documents)


def _day_run(run: Run, lines: pl.DataFrame, documents: int) -> DayRun:
    totals = {k: money(u) for k, u in kind_totals(lines).items()}
    return DayRun(
        day=run.day,
        version=run.version,
        run_at=run.run_at,
        imbalance_price_eur_per_mwh=Decimal(run.imbalance_price_cents) / CENTS_PER_EUR,
        totals_eur=totals,
        documents=documents,
        reconciliation=run.report,
    )


@router.get("/organisations/{org_id}/invoices", response_model=ListOf[Invoice])
def get_invoices(
    org_id: str,
    call: Reader,
    format: Annotated[Literal["json", "csv"], Query(description="csv: one row per line")] = "json",
    page: Paging = EVERYTHING,
) -> Any:
    """Your invoices, one per settled day and auction (the newest run of each day)."""
    with call.store.read() as conn:
        get_org(conn, org_id)
        lines = org_lines(conn, org_id)
    if format == "csv":
        csv = Response(lines_csv(lines), media_type="text/csv")
        return attachment(csv, f"invoices-{org_id}.csv")
    return page.of(invoice_list(lines), _same)


def _same(invoice: Invoice) -> Invoice:
    return invoice


@router.get("/organisations/{org_id}/nominations/{delivery_day}", response_model=Nominations)
def get_nominations(
    org_id: str,
    delivery_day: Day,
    call: Reader,
    format: Annotated[Format, Query(description="xml: the ESS-style schedule document")] = "json",
) -> Any:
    """Your nomination for a settled day: the sum of your virtual assets' final schedules
    per MTU in MW, never negative: ``from_eic`` → ``to_eic`` says the direction (the
    operator's balancing group to yours when your virtual assets discharge, yours to the
    operator's when they charge)."""
    with call.store.read() as conn:
        get_org(conn, org_id)
        document = org_document(conn, org_id, delivery_day)
    if document is None:
        raise NotFound("nomination", f"{org_id}/{delivery_day}")
    name = f"nomination-{org_id}-{delivery_day}-v{document['version']}.{format}"
    if format == "xml":
        return attachment(Response(document["xml_text"], media_type="application/xml"), name)
    if format == "csv":
        return attachment(Response(document["csv_text"], media_type="text/csv"), name)
    rows = read_csv(document["csv_text"].encode()).to_dicts()
    return Nominations(
        day=delivery_day,
        version=document["version"],
        document_id=document["document_id"],
        intervals=[NominationInterval.model_validate(r) for r in rows],
    )
