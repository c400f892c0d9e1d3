"""The auction calendar (operators): templates, exceptions, and the next days."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api import services
from api.http.deps import Operator
from api.http.limits import AUCTION_BYTES, body_limit
from api.http.paging import EVERYTHING, Paging
from api.http.schemas.calendar import (
    CalendarDayPublic,
    ExceptionIn,
    ExceptionPublic,
    TemplateIn,
    TemplatePublic,
)
from api.http.schemas.fields import Day
from api.http.schemas.lists import ListOf
from auction.calendar.days import local_day
from auction.store.calendar import (
    DayException,
    TemplateVersion,
    exceptions,
    get_template,
    latest_templates,
    template_versions,
)
from auction.timegrid import DEFAULT_TIME_ZONE

router = APIRouter(prefix="/calendar", tags=["calendar"])
MAX_DAYS = 366


def _template_public(version: TemplateVersion) -> TemplatePublic:
    return TemplatePublic.model_validate(version, from_attributes=True)


def _exception_public(exception: DayException) -> ExceptionPublic:
    return ExceptionPublic.model_validate(exception, from_attributes=True)


@router.get("", response_model=ListOf[CalendarDayPublic])
def get_calendar(
    call: Operator,
    first_day: Annotated[Day | None, Query(description="default: today in Berlin")] = None,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 14,
    page: Paging = EVERYTHING,
) -> ListOf[CalendarDayPublic]:
    """Every template's days from ``first_day`` (today in Berlin by default), ``days`` days:
    planned (with when it will be created), created (its auction, status and anything
    overdue), refused, skipped or missed, with the reason. By day, then template."""
    start = first_day or local_day(call.now, DEFAULT_TIME_ZONE)
    found = services.calendar_view.calendar(call.store, start, days, call.now)
    return page.of(found, lambda d: CalendarDayPublic.model_validate(d, from_attributes=True))


@router.get("/templates", response_model=ListOf[TemplatePublic])
def get_templates(call: Operator, page: Paging = EVERYTHING) -> ListOf[TemplatePublic]:
    """The latest version of every template, by template id."""
    with call.store.read() as conn:
        return page.of(latest_templates(conn), _template_public)


@router.get("/templates/{template_id}", response_model=TemplatePublic)
def get_one_template(
    template_id: str,
    call: Operator,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> TemplatePublic:
    """The template's latest version, or ``version``."""
    with call.store.read() as conn:
        return _template_public(get_template(conn, template_id, version))


@router.get("/templates/{template_id}/versions", response_model=ListOf[TemplatePublic])
def get_versions(
    template_id: str, call: Operator, page: Paging = EVERYTHING
) -> ListOf[TemplatePublic]:
    """Every version of the template, oldest first."""
    with call.store.read() as conn:
        return page.of(template_versions(conn, template_id), _template_public)


@router.put(
    "/templates/{template_id}",
    response_model=TemplatePublic,
    openapi_extra=body_limit(AUCTION_BYTES),
)
def put_template(template_id: str, body: TemplateIn, call: Operator) -> TemplatePublic:
    """Create the template, or edit it: a new version, which the scheduler takes from the
    next day it has not decided yet (auctions already created stay as they are). The
    auction it makes for its next day is judged by every rule of ``POST /auctions``."""
    version = services.calendar.save_template(
        call.store, template_id, body.model_dump(mode="json"), call.user.user_id, call.now
    )
    return _template_public(version)


@router.get("/exceptions", response_model=ListOf[ExceptionPublic])
def get_exceptions(call: Operator, page: Paging = EVERYTHING) -> ListOf[ExceptionPublic]:
    """The days the operator marked, by day, then template."""
    with call.store.read() as conn:
        return page.of(exceptions(conn), _exception_public)


@router.put("/exceptions/{template_id}/{day}", response_model=ExceptionPublic)
def put_exception(
    template_id: str, day: date, body: ExceptionIn, call: Operator
) -> ExceptionPublic:
    """Mark a day of a template not yet decided: skip it (a holiday, maintenance) or adapt
    it (the day takes another template). A day already created answers 409."""
    exception = services.calendar.set_exception(
        call.store,
        template_id,
        day,
        action=body.action,
        reason=body.reason,
        use_template=body.use_template,
        actor=call.user.user_id,
        now=call.now,
    )
    return _exception_public(exception)


@router.delete("/exceptions/{template_id}/{day}", status_code=204)
def delete_exception(template_id: str, day: date, call: Operator) -> Response:
    """Unmark a day: the template applies to it as usual."""
    services.calendar.remove_exception(call.store, template_id, day, call.user.user_id, call.now)
    return Response(status_code=204)
