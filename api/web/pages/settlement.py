"""Settlement runs (screen 13, operator): pick a delivered day and the imbalance price, run
the settlement (a new version, after a confirmation naming the day), and read the day's
runs: versions, totals per kind and per organisation, the reconciliation and the number
of nomination documents. Runs and reads go through the route functions of
``POST /settlement/{day}/run`` and ``GET /settlement/{day}``; the totals per organisation
are the invoices ``GET /organisations/{org}/invoices`` answers, from the same function.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.http.routes import settlement as api_settlement
from api.http.schemas.fields import Day
from api.http.schemas.settlement import DayRun, RunIn
from api.web import answers
from api.web.forms import NO_REFUSAL, REFUSALS, FormFields, Refusal, refusal_of, see_other
from api.web.pages.invoices import KIND_LABELS, eur, invoice_view, operator_base
from api.web.render import render
from api.web.session import OperatorPage, PageCall
from auction.errors import Conflict, DomainError, Problem
from auction.limits import DAY_RULE, FIRST_DAY, LAST_DAY
from auction.store.accounts import list_orgs, user_by_id
from auction.store.settlement import Run, list_runs, run_lines
from auction.timegrid import mtu_count
from auction.units import CENTS_PER_EUR

router = APIRouter(include_in_schema=False)

PATH = "/ui/operator/settlement"
PRICE = "imbalance_price_eur_per_mwh"
NOTICES = {"settled": "The day was settled: its new version is below and now counts."}


@dataclass(frozen=True, slots=True)
class OrgTotals:
    """One invoice of the run, as the organisation reads it, with who it is."""

    org_id: str
    name: str
    invoices_href: str
    auction_id: str
    kind: str
    totals: list[str]
    amount_due_eur: str
    lines: int


@dataclass(frozen=True, slots=True)
class RunView:
    version: int
    run_at: datetime
    actor: str
    price: str
    ok: bool


def _price(run: Run) -> str:
    return eur_price(run.imbalance_price_cents)


def eur_price(cents: int) -> str:
    return f"{cents // CENTS_PER_EUR}.{cents % CENTS_PER_EUR:02d}"


def _org_totals(call: PageCall, day: date, version: int) -> list[OrgTotals]:
    with call.store.read() as conn:
        lines, _documents = run_lines(conn, day, version)
        names = {o.org_id: o.name for o in list_orgs(conn)}
    lines = lines.with_columns(day=pl.lit(day, pl.Date), version=pl.lit(version, pl.Int64))
    out = []
    for (org_id,), rows in lines.group_by("org_id", maintain_order=True):
        for invoice in api_settlement.invoice_list(rows):
            view = invoice_view(invoice)
            out.append(
                OrgTotals(
                    org_id=str(org_id),
                    name=names.get(str(org_id), str(org_id)),
                    invoices_href=operator_base(str(org_id)),
                    auction_id=invoice.auction_id,
                    kind=view.name,
                    totals=[value for _name, value in view.totals],
                    amount_due_eur=view.amount_due_eur,
                    lines=len(invoice.lines),
                )
            )
    return sorted(out, key=lambda t: (t.name, t.auction_id))


def _runs(call: PageCall, day: date) -> list[RunView]:
    with call.store.read() as conn:
        runs = list_runs(conn, day)
        emails = {}
        for run in runs:
            if run.actor not in emails:
                user = user_by_id(conn, run.actor)
                emails[run.actor] = user.email if user else run.actor
    return [
        RunView(r.version, r.run_at, emails[r.actor], _price(r), bool(r.report.get("ok")))
        for r in runs
    ]


def _settled_days(call: PageCall) -> list[tuple[date, int, bool]]:
    """Every settled day, the newest first: its newest version and whether it reconciled."""
    with call.store.read() as conn:
        runs = list_runs(conn)
    newest: dict[date, Run] = {}
    for run in runs:
        newest.setdefault(run.day, run)
    return [(d, r.version, bool(r.report.get("ok"))) for d, r in newest.items()]


def _page(
    request: Request,
    call: PageCall,
    day: date | None,
    *,
    price: str = "",
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    settled = _settled_days(call)
    if day is None and settled:
        day = settled[0][0]
    runs = _runs(call, day) if day else []
    run: DayRun | None = api_settlement.get_day(day, call) if day and runs else None
    energy: list[dict[str, Any]] = []
    if run is not None:
        with call.store.read() as conn:
            names = {o.org_id: o.name for o in list_orgs(conn)}
        energy = sorted(
            (
                {**o, "name": names.get(o["org_id"], o["org_id"])}
                for o in run.reconciliation.get("organisations", [])
            ),
            key=lambda o: str(o["name"]),
        )
    values = {
        "day": day,
        "settled": settled,
        "runs": runs,
        "run": run,
        "kind_totals": [
            (KIND_LABELS.get(kind, kind), eur(value)) for kind, value in run.totals_eur.items()
        ]
        if run
        else [],
        "org_totals": _org_totals(call, run.day, run.version) if run else [],
        "energy": energy,
        "mtus": mtu_count(day) if day else 0,
        "price": price or (runs[0].price if runs else ""),
        "refusal": refusal,
        "notice": NOTICES.get(notice, ""),
        "form_key": str(uuid.uuid4()),
    }
    return render(
        request,
        "settlement/index.html",
        call,
        values,
        status_code=status_code,
        title="Settlement runs",
    )


@router.get(PATH)
def settlement(
    request: Request, call: OperatorPage, day: Day | None = None, notice: str = ""
) -> HTMLResponse:
    return _page(request, call, day, notice=notice)


@router.post(f"{PATH}/run")
def run_settlement(request: Request, call: OperatorPage, form: FormFields) -> Response:
    price = form.get(PRICE, "")
    day: date | None = None
    # The run is a new version each time: a form sent again (a reload of its answer, the
    # browser's history, two clicks at once) finds the run it made under its key instead
    # of settling the day once more.
    key = answers.form_key(form.get("form_key"))
    try:
        day = _day(form.get("day", ""))
        body = RunIn.model_validate({PRICE: price} if price else {})
        api_settlement.run_day(day, body, call, idempotency_key=key)
    except REFUSALS as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _page(request, call, day, price=price, refusal=refusal_of(exc), status_code=status)
    return see_other(PATH, day=day.isoformat(), notice="settled")


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        rule = "the delivery day is a date: YYYY-MM-DD"
        raise DomainError([Problem("settlement", None, "day", text, rule)]) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DomainError([Problem("settlement", None, "day", text, f"the day {DAY_RULE}")])
    return day
