"""The operator's pool of customers' ancillary bids for a delivery day: the export for the
TSO (a downloaded file), the import of the TSO's results and, in the sandbox, the TSO's
stand-in (the code of ``POST /ancillary/{day}/export``, ``/results``, ``/sandbox-tso``)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import date
from typing import Annotated, Literal, cast

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api import services
from api.http.downloads import attachment
from api.http.limits import FORM_OVERHEAD_BYTES, TSO_RESULTS_BYTES, body_limit
from api.http.routes import ancillary as api_ancillary
from api.http.schemas.ancillary import ImportSummary, SandboxAuction, TsoResults
from api.http.schemas.fields import Day
from api.web import answers, forms
from api.web.forms import NO_REFUSAL, Refusal, refusal_of, see_other
from api.web.pages.setpoints import default_day
from api.web.render import render
from api.web.session import OperatorPage, PageCall
from auction.errors import DomainError, Problem
from auction.store.accounts import list_orgs

router = APIRouter(include_in_schema=False)

PATH = "/ui/operator/ancillary"
EXPORT_PATH = f"{PATH}/export"
RESULTS_PATH = f"{PATH}/results"
SANDBOX_PATH = f"{PATH}/sandbox-tso"
MARKET_NAMES = {"fcr": "FCR", "afrr_capacity": "aFRR capacity", "afrr_energy": "aFRR energy"}
SANDBOX_MARKETS = ("fcr", "afrr_capacity")
NOTICES = {
    "imported": "The TSO's results are imported. The summary is below.",
    "sandbox": "The sandbox TSO cleared the pool's bids with seeded competitors and its "
    "results are imported. The summary is below.",
}
MAX_RESULTS_BYTES = TSO_RESULTS_BYTES  # as POST /ancillary/{day}/results takes

Market = Literal["fcr", "afrr_capacity", "afrr_energy"]


def _page(
    request: Request,
    call: PageCall,
    day: date,
    *,
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    summary: ImportSummary | None = None,
    sandbox_market: str = "fcr",
    seed: str = "7",
    status_code: int = 200,
) -> HTMLResponse:
    bids = services.ancillary.pool_bids(call.store, day)
    with call.store.read() as conn:
        orgs = {o.org_id: o.name for o in list_orgs(conn)}
    counts = Counter(b.market for b in bids)
    values = {
        "day": day,
        "bids": bids,
        "orgs": orgs,
        "statuses": sorted(Counter(b.status for b in bids).items()),
        "market_names": MARKET_NAMES,
        "market_options": [
            (m, f"{name} ({counts.get(m, 0)} bid{'' if counts.get(m, 0) == 1 else 's'})")
            for m, name in MARKET_NAMES.items()
        ],
        "sandbox_options": [(m, MARKET_NAMES[m]) for m in SANDBOX_MARKETS],
        "sandbox": call.settings.env == "sandbox",
        "sandbox_market": sandbox_market,
        "seed": seed,
        "refusal": refusal,
        "notice": notice,
        "summary": summary,
        "results_key": str(uuid.uuid4()),
        "sandbox_key": str(uuid.uuid4()),
        "page_path": PATH,
        "export_path": EXPORT_PATH,
        "results_path": RESULTS_PATH,
        "sandbox_path": SANDBOX_PATH,
    }
    title = f"Ancillary pool, {day:%a %d %b %Y}"
    return render(
        request, "fleet/ancillary.html", call, values, title=title, status_code=status_code
    )


def _status(exc: Exception) -> int:
    return 422 if isinstance(exc, DomainError | ValidationError) else 409


@router.get(PATH)
def pool_page(
    request: Request,
    call: OperatorPage,
    day: Day | None = None,
    notice: str = "",
    result: str = "",
) -> HTMLResponse:
    chosen = day or default_day(call)
    key = answers.form_key(result)
    answered = {"imported": RESULTS_PATH, "sandbox": SANDBOX_PATH}.get(notice)
    summary = None if answered is None else answers.recall(call, answered, key, ImportSummary)
    return _page(
        request,
        call,
        chosen,
        notice=NOTICES[notice] if summary is not None else "",
        summary=summary,
    )


@router.post(EXPORT_PATH)
def export(
    request: Request,
    call: OperatorPage,
    day: Annotated[date, Form()],
    market: Annotated[str, Form()] = "",
) -> Response:
    """The day's bids of one market for the TSO, as a file to download; they become sent."""
    try:
        if market not in MARKET_NAMES:
            rule = f"market must be one of {', '.join(MARKET_NAMES)}"
            raise DomainError([Problem("export", None, "market", market, rule)])
        document = api_ancillary.export_bids(day, cast(Market, market), call)
    except forms.REFUSALS as exc:
        refused = Refusal(refusal_of(exc).items, "The export was refused.")
        return _page(request, call, day, refusal=refused, status_code=_status(exc))
    body = json.dumps(document.model_dump(mode="json"), indent=1) + "\n"
    name = f"tso-bids-{day.isoformat()}-{market}.json"
    return attachment(Response(body, media_type="application/json"), name)


def _results_file(upload: UploadFile | None) -> TsoResults:
    """The TSO's results from the uploaded file, as ``vba ancillary import`` reads one."""

    def refused(rule: str) -> DomainError:
        return DomainError([Problem("results", None, "results", None, rule)])

    if upload is None or not upload.filename:
        raise refused("choose the TSO's results file (JSON)")
    raw = upload.file.read(MAX_RESULTS_BYTES + 1)
    if len(raw) > MAX_RESULTS_BYTES:
        raise refused(f"the file is larger than {MAX_RESULTS_BYTES // 2**20} MiB")
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise refused(f"{upload.filename} is not a readable JSON file: {exc}") from exc
    bids = services.ancillary.result_bids(document)
    if bids is None:
        raise refused(f"{upload.filename} holds no list of bids")
    return TsoResults(bids=bids)


@router.post(RESULTS_PATH, openapi_extra=body_limit(TSO_RESULTS_BYTES + FORM_OVERHEAD_BYTES))
def import_results(
    request: Request,
    call: OperatorPage,
    day: Annotated[date, Form()],
    form_key: Annotated[str, Form()] = "",
    results: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Mark each sent bid of the day with the TSO's result (all or nothing)."""
    key = answers.form_key(form_key) or str(uuid.uuid4())
    if answers.recall(call, RESULTS_PATH, key, ImportSummary) is None:
        try:
            summary = api_ancillary.import_results(day, _results_file(results), call)
        except forms.REFUSALS as exc:
            refusal = refusal_of(exc)
            # One input holds the whole file: every problem of it is told beside it.
            items = [{**item, "field": "results"} for item in refusal.items]
            refused = Refusal(items, "The TSO's results were refused.")
            return _page(request, call, day, refusal=refused, status_code=_status(exc))
        answers.remember(call, RESULTS_PATH, key, summary)
    return see_other(PATH, day=day.isoformat(), notice="imported", result=key)


@router.post(SANDBOX_PATH)
def sandbox_tso(
    request: Request,
    call: OperatorPage,
    day: Annotated[date, Form()],
    form_key: Annotated[str, Form()] = "",
    market: Annotated[str, Form()] = "",
    seed: Annotated[str, Form()] = "7",
) -> Response:
    """Sandbox only: play the TSO's auction of the day in one capacity market."""
    key = answers.form_key(form_key) or str(uuid.uuid4())
    if answers.recall(call, SANDBOX_PATH, key, ImportSummary) is None:
        try:
            if market not in SANDBOX_MARKETS:
                rule = f"market must be one of {', '.join(SANDBOX_MARKETS)}"
                raise DomainError([Problem("sandbox-tso", None, "market", market, rule)])
            body = SandboxAuction.model_validate({"seed": seed})
            summary = api_ancillary.sandbox_tso(
                day, cast(Literal["fcr", "afrr_capacity"], market), body, call
            )
        except forms.REFUSALS as exc:
            refused = Refusal(refusal_of(exc).items, "The sandbox TSO was refused.")
            return _page(
                request,
                call,
                day,
                refusal=refused,
                sandbox_market=market,
                seed=seed,
                status_code=_status(exc),
            )
        answers.remember(call, SANDBOX_PATH, key, summary)
    return see_other(PATH, day=day.isoformat(), notice="sandbox", result=key)
