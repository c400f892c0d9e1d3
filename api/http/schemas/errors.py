"""Bodies of the error answers, as ``api.http.errors`` writes them (for the OpenAPI document).

FastAPI publishes its own ``HTTPValidationError`` for a 422, whose items require ``type``;
ours carry the field, the value and the rule instead. These models say what we send.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
        "else as text or null",
    )
    rule: str = Field(description="the rule it breaks, in words")
    msg: str = Field(description='"<field>: <rule>"')
    bid_id: str | None = Field(
        default=None, description="in a batch of bids: the bid the problem belongs to"
    )


class ValidationErrorBody(BaseModel):
    """422: the request breaks a rule; nothing was changed. Every problem is listed."""

    detail: list[ErrorItem]


class ErrorBody(BaseModel):
    """401, 403, 404, 413, 429 (and 500): what went wrong, in one sentence."""

    detail: str


class ConflictBody(BaseModel):
    """409 (the state forbids it now) and 412 (If-Match names an older version).

    Besides ``detail``, the answer carries the facts a client can act on, such as
    ``gate_close``, ``publish_at``, ``status``, ``version`` or ``email``.
    """

    model_config = ConfigDict(extra="allow")

    detail: str
