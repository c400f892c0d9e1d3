"""Bodies of the error answers (RFC 9457 problem details, ``application/problem+json``), as
``api.http.problems`` writes them, for the OpenAPI document.

FastAPI publishes its own ``HTTPValidationError`` for a 422, whose items require ``type``;
ours carry the field, the value and the rule instead. These models say what we send.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.fields import UtcInstant


class ErrorItem(BaseModel):
    """One broken rule: where, which field, the value refused and the rule."""

    loc: list[str | int] = Field(
        description='where in the request: ["body", "bids", 3, "price_eur_per_mw"], '
        '["header", "If-Match"], ["path", "auction_id"], ["query", "status"]'
    )
    field: str | None = Field(description="the field (the last name in loc); null if none")
    value: Any = Field(
        default=None,
        description="the value refused, echoed as sent when it is a short JSON scalar, "
        "else as text or null (never a password or a token)",
    )
    rule: str = Field(description="the rule it breaks, in words")
    msg: str = Field(description='"<field>: <rule>"')
    bid_id: str | None = Field(
        default=None, description="in a batch of bids: the bid the problem belongs to"
    )


class ProblemDetails(BaseModel):
    """Every error answer (RFC 9457): what went wrong, in one sentence, and where to look."""

    type: str = Field(
        default="about:blank", description="always about:blank: the status says the kind"
    )
    title: str = Field(description='the status\'s reason phrase, e.g. "Not Found"')
    status: int = Field(description="the HTTP status code, as on the answer")
    detail: str = Field(description="what went wrong and what to do, in one sentence")
    instance: str = Field(description="the path of the request")
    request_id: str = Field(
        description="the answer's X-Request-ID: quote it when you ask about a request"
    )


class ValidationProblem(ProblemDetails):
    """422: the request breaks a rule; nothing was changed. ``detail`` names the first few
    problems, ``errors`` lists every one."""

    errors: list[ErrorItem]


class ConflictProblem(ProblemDetails):
    """409 (the state forbids it now) and 412 (If-Match names an older version).

    Besides ``detail``, the answer carries the facts a client can act on as members of
    their own, such as ``gate_close``, ``publish_at``, ``auction_status``, ``version`` or
    ``email`` (instants in UTC with ``Z``).
    """

    model_config = ConfigDict(extra="allow")


class ThrottledProblem(ProblemDetails):
    """429: too many requests; wait ``retry_after_s`` seconds (the ``Retry-After`` header)."""

    retry_after_s: int = Field(description="seconds to wait, as Retry-After says")
    retry_at: UtcInstant = Field(description="the instant to retry at")
