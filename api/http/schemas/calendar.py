"""Bodies and answers of /calendar: auction templates, the operator's exceptions, the
calendar's days."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
)

from api.http.schemas.accounts import Strict
from api.http.schemas.auctions import (
    MAX_ALLOCATIONS,
    MAX_PRODUCTS,
    AllocationIn,
    AuctionSettings,
    ProductIn,
)
from api.http.schemas.fields import Day, Key, UtcInstant
from auction.calendar.walltime import (
    DAY_RULE_PATTERN,
    WALL_TIME_PATTERN,
    parse_day_rule,
    parse_wall_time,
)
from auction.limits import NO_CONTROL, control_character

REASON_MAX_LENGTH = 500  # calendar_exceptions.reason


def _day_rule(value: str) -> str:
    parse_day_rule(value)
    return value


def _plain_text(value: str) -> str:
    found = control_character(value)
    if found is not None:
        raise ValueError(f"must not contain control characters; found {found}")
    return value


def _wall_time(value: str) -> str:
    parse_wall_time(value)
    return value


DayRule = Annotated[
    str,
    Field(max_length=12, json_schema_extra={"pattern": DAY_RULE_PATTERN}, examples=["D-2 15:00"]),
    AfterValidator(_day_rule),
]
"""``D-N HH:MM``: wall-clock time HH:MM of the local day N days before delivery."""
WallTime = Annotated[
    str,
    Field(max_length=5, json_schema_extra={"pattern": WALL_TIME_PATTERN}, examples=["06:00"]),
    AfterValidator(_wall_time),
]
"""``HH:MM`` on the delivery day, ``24:00`` its end."""
Reason = Annotated[
    str,
    Field(min_length=1, max_length=REASON_MAX_LENGTH, json_schema_extra={"pattern": NO_CONTROL}),
    AfterValidator(_plain_text),
]


class TemplateAuctionIn(AuctionSettings):
    """auction.json's keys with its instants as day rules (the id and day are the day's)."""

    create_at: DayRule | None = Field(
        default=None, description="when the day's auction is created; default: gate_open"
    )
    gate_open: DayRule
    gate_close: DayRule
    publish_at: DayRule


class TemplateProductIn(ProductIn):
    """A row of products.csv with its window in wall times of the delivery day."""

    start: WallTime  # type: ignore[assignment]  # a wall time here, an instant in ProductIn
    end: WallTime  # type: ignore[assignment]


class TemplateIn(Strict):
    """The body of ``POST /auctions`` with rules for its times (docs/api.md)."""

    auction: TemplateAuctionIn
    products: list[TemplateProductIn] = Field(min_length=1, max_length=MAX_PRODUCTS)
    allocations: list[AllocationIn] = Field(default_factory=list, max_length=MAX_ALLOCATIONS)
    auto_publish: bool = Field(default=True, description="clear and publish at publish_at")
    dst: Literal["clip", "shift"] = Field(
        default="clip",
        description="product windows on the 92 and 100 quarter-hour days: clip (wall-clock "
        "times) or shift (each window keeps its length)",
    )
    first_day: Day | None = Field(
        default=None,
        description="the first delivery day; default: the previous version's, or for a new "
        "template the first day whose creation time is still ahead",
    )
    active: bool = Field(default=True, description="false: the scheduler creates no day")


class TemplatePublic(BaseModel):
    template_id: str
    version: int
    active: bool
    created_by: str
    created_at: UtcInstant
    body: dict[str, Any] = Field(description="the template as stored, first_day filled in")


class ExceptionIn(Strict):
    action: Literal["skip", "adapt"] = Field(
        description="skip: no auction that day; adapt: the day takes use_template's latest "
        "version instead"
    )
    reason: Reason
    use_template: Key | None = Field(default=None, validate_default=True)

    @field_validator("use_template")
    @classmethod
    def _template_for_adapt(cls, value: str | None, info: ValidationInfo) -> str | None:
        # On the field, so that the refusal names use_template.
        if (info.data.get("action") == "adapt") != (value is not None):
            raise ValueError("use_template is needed to adapt a day, and only then")
        return value


class ExceptionPublic(BaseModel):
    template_id: str
    delivery_day: date
    action: str
    use_template: str | None
    reason: str
    created_by: str
    created_at: UtcInstant


class CalendarDayPublic(BaseModel):
    template_id: str
    delivery_day: date
    state: str = Field(
        description="planned, to_skip, created, refused, skipped or missed (docs/api.md)"
    )
    reason: str | None = Field(description="why refused, skipped or missed; how adapted")
    create_at: UtcInstant | None = Field(description="planned days: when it will be created")
    gate_close: UtcInstant | None
    publish_at: UtcInstant | None
    template_version: int | None
    auction_id: str | None
    auction_status: str | None
    late: str | None = Field(description="a step of the created auction that is overdue")
