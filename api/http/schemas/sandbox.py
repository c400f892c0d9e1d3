"""Bodies of the sandbox's clock."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from api.http.schemas.accounts import Strict
from api.http.schemas.fields import Instant
from auction.sandbox_clock import MAX_MOVE_DAYS, MAX_MOVE_S


class ClockMove(Strict):
    """Exactly one of ``advance_s`` or ``to``."""

    advance_s: StrictInt | None = Field(
        default=None,
        description=f"seconds to move forward: 1 to {MAX_MOVE_S} ({MAX_MOVE_DAYS} days)",
        examples=[86_400],
    )
    to: Instant | None = Field(
        default=None,
        description="the instant to move to: not before the sandbox's time, at most "
        f"{MAX_MOVE_DAYS} days after it",
        examples=["2026-11-28T08:00:00Z"],
    )


class ClockPublic(BaseModel):
    now: datetime = Field(description="the sandbox's time")
    offset_s: int = Field(description="how far the sandbox's time runs ahead of the real clock")
    environment: Literal["sandbox"]
