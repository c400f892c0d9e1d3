"""The operator's fleet: the physical assets, the outages and derates recorded, and a form
that records one and shows what its re-backing did (the code of ``/fleet/assets`` and
``POST /fleet/outages``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.http.routes import fleet as api_fleet
from api.http.schemas.auctions import AssetPublic, OutageCreated, OutageIn
from api.web import answers, forms
from api.web.forms import NO_REFUSAL, FormFields, Refusal, refusal_of, see_other
from api.web.render import BERLIN, render
from api.web.session import OperatorPage, PageCall
from auction.errors import DomainError, Problem
from auction.store.accounts import list_orgs
from auction.store.fleet import OutageRecord, outage_records

router = APIRouter(include_in_schema=False)

PATH = "/ui/operator/fleet"
OUTAGE_PATH = f"{PATH}/outages"
NOTICES = {"outage-recorded": "Outage recorded. What its re-backing did is shown below."}
# The form's fields are the API's (OutageIn), so a refusal lands beside its input.
LABELS = {
    "asset_id": "Asset",
    "start": "From (Berlin)",
    "end": "To (Berlin)",
    "available_fraction": "Available fraction (0 = outage, 1 = fully available)",
}


# --- Berlin wall time --------------------------------------------------------------


def wall_time(value: str, field: str, *, later: bool) -> tuple[datetime | None, Problem | None]:
    """The instant (UTC) of a ``datetime-local`` value read as Europe/Berlin wall time.

    A time the clocks skip (the March change) does not exist and is refused. A time that
    occurs twice (the October change, 02:00-02:59) is read as its first occurrence (CEST)
    for the start of a window and its second (CET) for its end: the window then covers
    the whole hour the operator named.
    """
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        rule = "a date and time (YYYY-MM-DD HH:MM, Berlin wall time)"
        return None, Problem("outage", None, field, value, rule)
    if naive.tzinfo is not None:
        return naive.astimezone(UTC), None
    first = naive.replace(tzinfo=BERLIN, fold=0)
    if first.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None) != naive:
        rule = (
            f"{naive:%H:%M} does not exist in Berlin on {naive:%d %b %Y}: "
            "the clocks jump from 02:00 CET to 03:00 CEST"
        )
        return None, Problem("outage", None, field, value, rule)
    # In UTC: an instant with fold=1 compares unequal to every instant of another zone
    # (PEP 495), and not every library reads fold.
    return naive.replace(tzinfo=BERLIN, fold=1 if later else 0).astimezone(UTC), None


# --- the page ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutageRow:
    record: OutageRecord
    discharge_mw: float | None
    charge_mw: float | None


def _state_now(asset_id: str, outages: Sequence[OutageRecord], now: datetime) -> str:
    """The asset's availability now, in words (the list below gives each row)."""
    current = [o for o in outages if o.asset_id == asset_id and o.start <= now < o.end]
    if not current:
        return "Available"
    if len(current) > 1:
        return f"{len(current)} outages or derates now (listed below)"
    [row] = current
    what = "Out" if row.available_fraction == 0 else f"Derated to {row.available_fraction:.2f}"
    return f"{what} until {row.end.astimezone(BERLIN):%d %b %H:%M} {row.end.astimezone(BERLIN):%Z}"


def _labelled(refusal: Refusal, form: dict[str, str]) -> Refusal:
    """The refusal with each field named by its label and given as it was typed (a time
    as Berlin wall time, not the UTC instant it was read as)."""
    items = []
    for item in refusal.items:
        name = item.get("field")
        if name in LABELS:
            item = {**item, "msg": f"{LABELS[name]}: {item['rule']}"}
            if name in form:
                item["value"] = form[name]
        items.append(item)
    return Refusal(items, "The outage was refused.")


def _page(
    request: Request,
    call: PageCall,
    *,
    form: dict[str, str] | None = None,
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    result: OutageCreated | None = None,
    show_past: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    assets: list[AssetPublic] = api_fleet.get_assets(call).items
    with call.store.read() as conn:
        outages = outage_records(conn, ending_after=None if show_past else call.now)
        orgs = {o.org_id: o.name for o in list_orgs(conn)}
    by_id = {a.asset_id: a for a in assets}
    rows = []
    for o in outages:
        asset = by_id.get(o.asset_id)
        rows.append(
            OutageRow(
                o,
                None if asset is None else o.available_fraction * asset.p_discharge_mw,
                None if asset is None else o.available_fraction * asset.p_charge_mw,
            )
        )
    values = {
        "assets": assets,
        "states": {a.asset_id: _state_now(a.asset_id, outages, call.now) for a in assets},
        "outages": rows,
        "show_past": show_past,
        "form": form or {},
        "form_key": str(uuid.uuid4()),
        "labels": LABELS,
        "refusal": refusal,
        "asset_options": [("", "Choose an asset")] + [(a.asset_id, a.asset_id) for a in assets],
        "notice": notice,
        "result": result,
        "curtailed_blocks": len({u.block_id for u in result.unavailable}) if result else 0,
        "orgs": orgs,
        "fleet_path": PATH,
        "outage_path": OUTAGE_PATH,
    }
    return render(request, "fleet/fleet.html", call, values, title="Fleet", status_code=status_code)


@router.get(PATH)
def fleet_page(
    request: Request, call: OperatorPage, notice: str = "", outage: str = "", past: bool = False
) -> HTMLResponse:
    return _page(
        request,
        call,
        notice=NOTICES.get(notice, ""),
        result=answers.recall(call, OUTAGE_PATH, answers.form_key(outage), OutageCreated),
        show_past=past,
    )


@router.post(OUTAGE_PATH)
def record_outage(request: Request, call: OperatorPage, form: FormFields) -> Response:
    """Record an outage or derate through the API's route; then show its re-backing.

    The answer is kept under the form's key: the page after the redirect shows it, and
    the same form sent again records nothing more.
    """
    key = answers.form_key(form.get("form_key")) or str(uuid.uuid4())
    if answers.recall(call, OUTAGE_PATH, key, OutageCreated) is not None:
        return see_other(PATH, notice="outage-recorded", outage=key)
    try:
        body: dict[str, Any] = {
            name: form[name] for name in ("asset_id", "available_fraction") if name in form
        }
        problems = []
        for name in ("start", "end"):
            if name not in form:
                continue  # the API's schema names a missing field
            instant, problem = wall_time(form[name], name, later=name == "end")
            body[name] = instant
            if problem is not None:
                problems.append(problem)
        if problems:
            raise DomainError(problems)
        outage = OutageIn.model_validate(body)
        created = api_fleet.post_outage(outage, call)
    except forms.REFUSALS as exc:
        status = 422 if isinstance(exc, DomainError | ValidationError) else 409
        return _page(
            request,
            call,
            form=form,
            refusal=_labelled(refusal_of(exc), form),
            status_code=status,
        )
    answers.remember(call, OUTAGE_PATH, key, created)
    return see_other(PATH, notice="outage-recorded", outage=key)
