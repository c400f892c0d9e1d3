"""The operator's auction calendar: every template's next days (planned, created with the
auction's status, skipped, refused or missed, and anything overdue), a template edited as
JSON, and a day marked (the code of ``/calendar`` and its PUTs)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from api.http.routes import calendar as api_calendar
from api.http.schemas.calendar import ExceptionIn, TemplateIn
from api.web import forms
from api.web.forms import NO_REFUSAL, FormFields, Refusal, refusal_of, see_other
from api.web.render import render
from api.web.session import OperatorPage, PageCall
from auction.errors import DomainError, NotFound, Problem

router = APIRouter(include_in_schema=False)

PATH = "/ui/operator/calendar"
TEMPLATE_PATH = f"{PATH}/templates"
MARK_PATH = f"{PATH}/marks"
DAYS = 14
NOTICES = {
    "template-saved": "Template saved: it applies from the next day not yet created.",
    "day-marked": "Day marked.",
}
# A template to start from: the body of PUT /calendar/templates (docs/api.md).
EXAMPLE = {
    "auction": {"gate_open": "D-7 09:00", "gate_close": "D-2 15:00", "publish_at": "D-2 17:00"},
    "products": [
        {
            "product_id": "DAY",
            "start": "00:00",
            "end": "24:00",
            "wholesale_mw": "1",
            "wholesale_h": "1",
            "fcr_mw": "0",
            "afrr_pos_mw": "0",
            "afrr_neg_mw": "0",
            "min_mw": "1",
            "increment_mw": "1",
            "reserve_price_eur_per_mw": "10",
        }
    ],
    "auto_publish": True,
    "dst": "clip",
}


def _page(
    request: Request,
    call: PageCall,
    *,
    template_id: str = "",
    body_text: str = "",
    mark: dict[str, str] | None = None,
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    first_day: date | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    days = api_calendar.get_calendar(call, first_day, DAYS).items
    templates = api_calendar.get_templates(call).items
    if not body_text:
        chosen = next((t for t in templates if t.template_id == template_id), None)
        body = chosen.body if chosen is not None else EXAMPLE
        body_text = json.dumps(body, indent=2, sort_keys=True)
    values: dict[str, Any] = {
        "days": days,
        "templates": templates,
        "template_id": template_id,
        "body_text": body_text,
        "mark": mark or {},
        "refusal": refusal,
        "notice": notice,
        "calendar_path": PATH,
        "template_path": TEMPLATE_PATH,
        "mark_path": MARK_PATH,
        "template_options": [(t.template_id, t.template_id) for t in templates],
        "action_options": [("skip", "Skip (no auction)"), ("adapt", "Adapt (another template)")],
    }
    return render(
        request, "calendar/index.html", call, values, title="Calendar", status_code=status_code
    )


@router.get(PATH)
def calendar_page(
    request: Request,
    call: OperatorPage,
    notice: str = "",
    template: str = "",
    first_day: date | None = None,
) -> HTMLResponse:
    return _page(
        request,
        call,
        template_id=template,
        notice=NOTICES.get(notice, ""),
        first_day=first_day,
    )


@router.post(TEMPLATE_PATH)
def save_template(request: Request, call: OperatorPage, form: FormFields) -> Response:
    """Save the template typed as JSON through the API's route (a new version)."""
    template_id = form.get("template_id", "")
    text = form.get("body", "")
    try:
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            rule = f"must be a JSON object: {exc}"
            raise DomainError([Problem("template", None, "body", None, rule)]) from exc
        if not template_id:
            rule = "a template needs a name"
            raise DomainError([Problem("template", None, "template_id", None, rule)])
        api_calendar.put_template(template_id, TemplateIn.model_validate(parsed), call)
    except forms.REFUSALS as exc:
        status = 422 if isinstance(exc, DomainError | ValidationError) else 409
        return _page(
            request,
            call,
            template_id=template_id,
            body_text=text,
            refusal=refusal_of(exc),
            status_code=status,
        )
    return see_other(PATH, notice="template-saved", template=template_id)


@router.post(MARK_PATH)
def mark_day(request: Request, call: OperatorPage, form: FormFields) -> Response:
    """Skip or adapt a day of a template through the API's route."""
    try:
        day = date.fromisoformat(form.get("day", ""))
    except ValueError:
        day = None
    try:
        if day is None:
            rule = "a day (YYYY-MM-DD)"
            raise DomainError([Problem("mark", None, "day", form.get("day"), rule)])
        body = ExceptionIn.model_validate(
            {k: form[k] for k in ("action", "reason", "use_template") if k in form}
        )
        api_calendar.put_exception(form.get("template_id", ""), day, body, call)
    except forms.REFUSALS as exc:
        status = 422 if isinstance(exc, DomainError | ValidationError) else 409
        status = 404 if isinstance(exc, NotFound) else status
        return _page(request, call, mark=form, refusal=refusal_of(exc), status_code=status)
    return see_other(PATH, notice="day-marked")
