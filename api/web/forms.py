"""Forms: their fields, why one was refused, and one answer per form however often it is sent.

A refused form is shown again with every problem beside its field (the same field, value
and rule a 422 of the API names) and a summary that says nothing was changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from api.http import idempotency
from api.http.deps import Call
from api.http.errors import problem_detail, validation_detail
from auction.errors import BodyProblems, Conflict, DomainError, Forbidden, NotFound

NOTHING_CHANGED = "Nothing was changed."
# What a form may be refused with; anything else is a fault and answers 500.
REFUSALS = (DomainError, ValidationError, Conflict, Forbidden, NotFound, HTTPException)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a form was refused: one item per problem (``field``, ``value``, ``rule``, ``msg``)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    headline: str = "The form was refused."

    def for_field(self, name: str) -> list[str]:
        """The rules ``name`` broke, for the message beside that input."""
        return [str(item["rule"]) for item in self.items if item.get("field") == name]

    def others(self, fields: Iterable[str]) -> list[str]:
        """The problems not tied to one of ``fields``: they go into the summary only."""
        known = set(fields)
        return [str(item["msg"]) for item in self.items if item.get("field") not in known]

    def __bool__(self) -> bool:
        return bool(self.items)


NO_REFUSAL = Refusal()


def refusal_of(exc: Exception) -> Refusal:
    """The refusal a page shows for ``exc`` (one of ``REFUSALS``)."""
    if isinstance(exc, DomainError):
        path = exc.path if isinstance(exc, BodyProblems) else ("body",)
        return Refusal([problem_detail(p, path) for p in exc.problems])
    if isinstance(exc, ValidationError):
        return Refusal(validation_detail(exc.errors()))
    if isinstance(exc, HTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "the request was refused"
    else:
        message = str(exc)
    return Refusal([{"field": None, "value": None, "rule": message, "msg": message}], message)


async def form_fields(request: Request) -> dict[str, str]:
    """The submitted form as text fields, trimmed; a field left empty is absent."""
    form = await request.form()
    fields = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    return fields


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def once(
    call: Call,
    key: str | None,
    request: tuple[str, str, Any],
    work: Callable[[Connection], Any],
    status_code: int = 200,
) -> Any:
    """Do ``work`` once per form key (the form's hidden ``form_key``), as the API does
    per ``Idempotency-Key``: a form sent twice answers the first answer and does nothing."""
    response = idempotency.run(
        call.store, call.user.user_id, key, request, status_code, work, call.now
    )
    return json.loads(bytes(response.body))


def see_other(path: str, **query: str) -> RedirectResponse:
    """After a form that changed something: go to ``path`` (a GET), with a notice code."""
    url = f"{path}?{urlencode(query)}" if query else path
    return RedirectResponse(url, status_code=303)
