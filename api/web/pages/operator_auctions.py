"""The operator's auctions: the list, creating one from its files, and each auction's life
(the lifecycle steps its status allows) with the pre-clearing report of its book."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api import services
from api.http.limits import ARCHIVE_UPLOAD_BYTES, FORM_OVERHEAD_BYTES, body_limit
from api.http.routes import auctions as api_auctions
from api.services import auction_files, auction_reports
from api.web.forms import (
    NO_REFUSAL,
    REFUSALS,
    FormFields,
    Refusal,
    once,
    refusal_of,
    see_other,
)
from api.web.render import render
from api.web.session import OperatorPage, PageCall
from auction.errors import Conflict, DomainError, NotFound
from auction.lifecycle import STEPS, Status
from auction.store.engine import Connection

router = APIRouter(include_in_schema=False)

LIST = "/ui/operator/auctions"
# The steps in the order of an auction's life; only those its status allows are offered.
ORDER = ("open", "close", "clear", "publish", "cancel")
CONFIRMED = frozenset({"clear", "publish", "cancel"})  # irreversible: a dialog asks first
NOTICES = {
    "created": "Auction created as a draft. Check its products, then open it.",
    "open": "The auction is open: bids are taken from its gate open until its gate close.",
    "close": "The gate is closed: no more bids. The book is ready to clear.",
    "clear": "The auction is cleared. Read the clearing report before publishing it.",
    "publish": "The results are published: each organisation now sees its own awards.",
    "cancel": "The auction is cancelled: nothing of it will be cleared or published.",
}
WARNING_RULES = {
    "price_outlier": "Price outlier",
    "quantity_above_fleet": "Quantity above what the fleet can carry",
    "quantity_above_max": "Quantity above the MW on sale",
}
# The form's file inputs, by the archive file each one holds.
FILE_FIELDS = {
    "auction.json": "auction_json",
    "products.csv": "products_csv",
    "products.parquet": "products_csv",
    "allocations.csv": "allocations_csv",
    "allocations.parquet": "allocations_csv",
    "auction": "auction_json",  # problems found by create_auction name the table's stem
    "products": "products_csv",
    "allocations": "allocations_csv",
}


def notice_text(code: str | None) -> str:
    """A fixed text per notice code: never free text from the query string."""
    return NOTICES.get(code or "", "")


# --- the list and creating an auction ---------------------------------------------


def _list_page(
    request: Request,
    call: PageCall,
    *,
    refusal: Refusal = NO_REFUSAL,
    auto_publish: bool = False,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    values = {
        "auctions": api_auctions.get_auctions(call).items,
        "refusal": refusal,
        "auto_publish": auto_publish,
        "form_key": str(uuid.uuid4()),
        "notice": notice,
    }
    return render(
        request,
        "operator_auctions/list.html",
        call,
        values,
        status_code=status_code,
        title="Auctions",
    )


@router.get(LIST)
def auctions_page(request: Request, call: OperatorPage, notice: str = "") -> HTMLResponse:
    return _list_page(request, call, notice=notice_text(notice))


async def _upload(value: object) -> auction_files.Upload | None:
    """A chosen file, or None for a file input left empty."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    return auction_files.Upload(value.filename, await value.read())


def upload_refusal(exc: Exception) -> Refusal:
    """Every problem of the files, each naming its file, row and column; beside each file
    input the problems of that file."""
    if not isinstance(exc, DomainError):
        return refusal_of(exc)
    items = []
    for problem in exc.problems:
        where = ", ".join(
            part
            for part in (
                None if problem.row is None else f"row {problem.row}",
                None if problem.column is None else f"column {problem.column}",
            )
            if part
        )
        shown = "" if problem.value is None else f" (value {problem.value!r})"
        rule = f"{where}: {problem.rule}{shown}" if where else f"{problem.rule}{shown}"
        file = auction_files.FILES.get(problem.file, problem.file)
        items.append(
            {
                "field": FILE_FIELDS.get(problem.file),
                "value": None,
                "rule": rule,
                "msg": f"{file}, {rule}",
            }
        )
    return Refusal(items, "The files were refused.")


def _create(
    request: Request,
    call: PageCall,
    uploads: dict[str, auction_files.Upload | None],
    form_key: str | None,
    auto_publish: bool,
) -> Response:
    try:
        files = auction_files.read_upload(
            uploads["auction_json"], uploads["products_csv"], uploads["allocations_csv"]
        )

        def work(conn: Connection) -> dict[str, str]:
            record = services.auctions.create_auction(
                conn,
                files.auction,
                files.products,
                files.allocations,
                auto_publish=auto_publish,
                actor=call.user.user_id,
                now=call.now,
            )
            return {"auction_id": record.auction_id}

        body = {
            "auction": files.auction,
            "products": files.products,
            "allocations": files.allocations,
            "auto_publish": auto_publish,
        }
        created = once(call, form_key, ("POST", "/auctions", body), work, 201)
    except REFUSALS as exc:
        return _list_page(
            request,
            call,
            refusal=upload_refusal(exc),
            auto_publish=auto_publish,
            status_code=409 if isinstance(exc, Conflict) else 422,
        )
    return see_other(f"{LIST}/{created['auction_id']}", notice="created")


@router.post(LIST, openapi_extra=body_limit(ARCHIVE_UPLOAD_BYTES + FORM_OVERHEAD_BYTES))
async def create_auction(request: Request, call: OperatorPage) -> Response:
    """Create an auction from auction.json, products.csv and optionally allocations.csv."""
    async with request.form() as form:  # closes the uploaded files' temporary copies
        uploads = {
            name: await _upload(form.get(name))
            for name in ("auction_json", "products_csv", "allocations_csv")
        }
        key = form.get("form_key")
        form_key = key if isinstance(key, str) and key else None
        auto_publish = form.get("auto_publish") == "yes"
    return await run_in_threadpool(_create, request, call, uploads, form_key, auto_publish)


# --- one auction --------------------------------------------------------------------


def legal_steps(status: Status, gate_passed: bool) -> list[str]:
    """The lifecycle steps an auction in ``status`` (as readers see it) may take now.

    An open auction whose gate has passed reads as closed: it is cleared, not closed (the
    clearing closes the gate first). A draft whose gate has passed can no longer open.
    """
    steps = [action for action in ORDER if status in STEPS[action][0]]
    if gate_passed:
        steps = [action for action in steps if action != "open"]
    return steps


def _detail_page(
    request: Request,
    call: PageCall,
    auction_id: str,
    *,
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    auction = api_auctions.get_one(auction_id, call)
    report = api_auctions.get_report(auction_id, call)
    status = Status(auction.status)
    values = {
        "auction": auction,
        "report": report,
        "capacity": auction_reports.fleet_capacity(call.store, auction_id),
        "names": auction_reports.org_names(call.store),
        "rules": WARNING_RULES,
        "steps": legal_steps(status, call.now >= auction.gate_close),
        "confirmed": CONFIRMED,
        "cleared": report["clearing"] is not None,
        "refusal": refusal,
        "notice": notice,
        "form_key": str(uuid.uuid4()),
    }
    return render(
        request,
        "operator_auctions/detail.html",
        call,
        values,
        status_code=status_code,
        title=f"Auction {auction_id}",
    )


@router.get(LIST + "/{auction_id}")
def auction_page(
    request: Request, auction_id: str, call: OperatorPage, notice: str = ""
) -> HTMLResponse:
    return _detail_page(request, call, auction_id, notice=notice_text(notice))


def _step(call: PageCall, auction_id: str, action: str, form_key: str | None) -> None:
    if action == "clear":
        # The API's clear takes no Idempotency-Key either: clearing again is allowed until
        # publication and replaces the result with the same one.
        services.auctions.clear_auction(call.store, auction_id, call.user.user_id, call.now)
        return

    def work(conn: Connection) -> dict[str, str]:
        record = services.auctions.step(conn, auction_id, action, call.user.user_id, call.now)
        return {"auction_id": record.auction_id, "status": record.status.value}

    once(call, form_key, ("POST", f"/auctions/{auction_id}/{action}", None), work)


@router.post(LIST + "/{auction_id}/{action}")
def auction_step(
    request: Request, auction_id: str, action: str, call: OperatorPage, form: FormFields
) -> Response:
    """One lifecycle step; the server decides whether the auction's status allows it."""
    if action not in ORDER:
        raise NotFound("lifecycle step", action)
    try:
        _step(call, auction_id, action, form.get("form_key"))
    except REFUSALS as exc:
        return _detail_page(
            request,
            call,
            auction_id,
            refusal=refusal_of(exc),
            status_code=409 if isinstance(exc, Conflict) else 422,
        )
    return see_other(f"{LIST}/{auction_id}", notice=action)
