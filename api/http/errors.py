"""Errors as JSON ``{"detail": ...}``: 422 names field, value and rule; never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.http import echo, requestid
from auction.errors import (
    BodyProblems,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    Problem,
    Throttled,
)

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
        "value": echo.scalar(problem.value),
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


def throttled_response(exc: Throttled) -> JSONResponse:
    """429 with ``Retry-After`` (seconds) and the instant to retry at in the body."""
    body = {"detail": str(exc), "retry_after_s": exc.seconds, "retry_at": exc.until.isoformat()}
    return JSONResponse(body, status_code=429, headers={"Retry-After": str(exc.seconds)})


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        path = exc.path if isinstance(exc, BodyProblems) else ("body",)
        detail = [problem_detail(p, path) for p in exc.problems]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_detail(exc.errors())}, status_code=422)

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def _conflict(_request: Request, exc: Conflict) -> JSONResponse:
        facts = {k: v for k, v in exc.facts.items() if k != "precondition"}
        status = 412 if exc.facts.get("precondition") else 409
        return JSONResponse({"detail": str(exc), **facts}, status_code=status)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(Throttled)
    async def _throttled(_request: Request, exc: Throttled) -> JSONResponse:
        return throttled_response(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        reference = requestid.current() or requestid.new_id()
        log.exception("unexpected error %s", reference, exc_info=exc)
        detail = f"internal error (reference {reference}); nothing was changed, please retry"
        return JSONResponse({"detail": detail}, status_code=500)
