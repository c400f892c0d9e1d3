"""The API's exceptions as problem details (``api.http.problems``): a 422 lists every broken
rule in ``errors`` (field, value, rule), every answer says what happened in ``detail``, and
none carries a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from api.http import echo, problems, requestid
from api.http.problems import ProblemResponse
from auction.errors import (
    BodyProblems,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Problem,
    Throttled,
)
from auction.instants import utc_text

log = logging.getLogger("vba.api")
# Fields whose value a 422 must never echo: a refused password is still somebody's.
SECRET_FIELDS = frozenset({"password", "current_password", "new_password", "token"})


def problem_detail(
    problem: Problem, body_path: tuple[str | int, ...] = ("body",)
) -> dict[str, Any]:
    """One problem as a JSON error item: where (``loc``), the field, the value, the rule.

    Whatever the value was (NaN, a datetime, a megabyte of text), the item can be sent."""
    loc: list[str | int] = list(body_path)
    if problem.row is not None:
        loc.append(problem.row - 1)
    if problem.column is not None:
        loc.append(problem.column)
    field = None if problem.column is None else echo.text(problem.column)
    rule = echo.text(problem.rule, limit=1000)
    item: dict[str, Any] = {
        "loc": echo.location(loc),
        "field": field,
        "value": None if field in SECRET_FIELDS else echo.scalar(problem.value),
        "rule": rule,
        "msg": f"{field}: {rule}" if field else rule,
    }
    if problem.bid_id is not None:
        item["bid_id"] = echo.text(problem.bid_id)
    return item


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's errors as JSON error items, in the shape of ``problem_detail``; a refused
    value is echoed short and as strict JSON, whatever it was (``api.http.echo``)."""
    detail = []
    for error in errors:
        loc = echo.location(error.get("loc", ()))
        field = next((p for p in reversed(loc) if isinstance(p, str)), None)
        rule = echo.text(str(error.get("msg", "invalid")), limit=1000)
        detail.append(
            {
                "loc": loc,
                "field": field,
                "value": None if field in SECRET_FIELDS else echo.scalar(error.get("input")),
                "rule": rule,
                "msg": f"{field}: {rule}",
            }
        )
    return detail


# How many broken rules a 422's ``detail`` names; ``errors`` lists them all.
_SUMMARISED = 3
_SUMMARY_RULE = 120  # characters of a rule in ``detail``


def _where(loc: Sequence[str | int]) -> str:
    """``["body", "bids", 3, "price_eur_per_mw"]`` as ``bids[3].price_eur_per_mw``."""
    # Drop where it is (body, query, path, header) when a name follows.
    parts = loc[1:] if len(loc) > 1 and isinstance(loc[1], str) else loc
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def summary(items: Sequence[dict[str, Any]]) -> str:
    """A 422's ``detail``: how many rules the request breaks and the first few, where and
    which (never the value: it may be a password)."""
    n = len(items)
    named = "; ".join(
        f"{_where(item['loc'])} ({echo.text(item['rule'], limit=_SUMMARY_RULE)})"
        for item in items[:_SUMMARISED]
    )
    more = f"; and {n - _SUMMARISED} more" if n > _SUMMARISED else ""
    problems_ = "1 problem" if n == 1 else f"{n} problems"
    return f"the request has {problems_} and nothing was changed: {named}{more}"


def invalid_response(request: Request, items: list[dict[str, Any]]) -> ProblemResponse:
    """422: every broken rule in ``errors``, the first few in ``detail``."""
    return problems.response(request.scope, 422, summary(items), {"errors": items})


def _facts(facts: dict[str, Any]) -> dict[str, Any]:
    """A 409's facts as JSON: instants in UTC with ``Z`` like every other answer."""
    shown = {k: v for k, v in facts.items() if k != "precondition"}
    encoded: dict[str, Any] = jsonable_encoder(shown, custom_encoder={datetime: utc_text})
    return encoded


def throttled_response(request: Request, exc: Throttled) -> ProblemResponse:
    """429 with ``Retry-After`` (seconds) and the instant to retry at in the body."""
    extensions = {"retry_after_s": exc.seconds, "retry_at": utc_text(exc.until)}
    headers = {"Retry-After": str(exc.seconds)}
    return problems.response(request.scope, 429, str(exc), extensions, headers)


def _http_detail(request: Request, exc: HTTPException) -> str:
    """The sentence of an ``HTTPException``: its own, or one for Starlette's bare phrases."""
    if isinstance(exc.detail, str) and exc.detail != problems.title(exc.status_code):
        return exc.detail
    path, method = echo.text(request.url.path), request.method
    if exc.status_code == 404:
        return f"nothing is found at {path}; /docs lists the API's paths"
    if exc.status_code == 405:
        return f"{path} does not take {method}; the Allow header lists the methods it takes"
    return f"the request was refused ({exc.status_code} {problems.title(exc.status_code)})"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> ProblemResponse:
        path = exc.path if isinstance(exc, BodyProblems) else ("body",)
        return invalid_response(request, [problem_detail(p, path) for p in exc.problems])

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> ProblemResponse:
        return invalid_response(request, validation_detail(exc.errors()))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> ProblemResponse:
        return problems.response(request.scope, 404, str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> ProblemResponse:
        status = 412 if exc.facts.get("precondition") else 409
        return problems.response(request.scope, status, str(exc), _facts(exc.facts))

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> ProblemResponse:
        return problems.response(request.scope, 403, str(exc))

    @app.exception_handler(Throttled)
    async def _throttled(request: Request, exc: Throttled) -> ProblemResponse:
        return throttled_response(request, exc)

    # Starlette's own answers (an unknown path, a method the path does not take) and every
    # HTTPException: a 401 of the security dependencies, a 413 raised while a body is read.
    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (204, 304):  # answers without a body (as Starlette's)
            return Response(status_code=exc.status_code, headers=exc.headers)
        detail = _http_detail(request, exc)
        return problems.response(request.scope, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ProblemResponse:
        reference = requestid.current() or requestid.new_id()
        log.exception("unexpected error %s", reference, exc_info=exc)
        detail = f"internal error (reference {reference}); nothing was changed, please retry"
        return problems.response(request.scope, 500, detail)
