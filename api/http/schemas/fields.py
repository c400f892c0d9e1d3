"""Constrained field types of request bodies, paths and headers: one limit per field.

Every limit is the store's own (``auction.limits``): a string as long as its column, a
number in a range the store holds exactly, so SQLite and PostgreSQL take the same
requests. The limits are in the schema, so OpenAPI shows them (``maxLength``, ``pattern``,
``minimum``, ``maximum``); what the schema cannot say (the kW and cent grids, the product's
increment) stays with the domain's rules and their messages.

No field takes NaN or an infinity (``"NaN"``, ``1e999999``, a raw ``NaN`` JSON literal),
and no text takes a control character or an unpaired surrogate.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from auction.eic import eic_problem
from auction.limits import (
    EMAIL_MAX_LENGTH,
    FIRST_DAY,
    ID_MAX_LENGTH,
    LAST_DAY,
    MAX_ASSET_MW,
    MAX_ASSET_MWH,
    MAX_CONFIG_HOURS,
    MAX_CYCLES,
    MAX_FACTOR,
    MAX_GATE_CLOSURE_S,
    MAX_HOURS,
    MAX_KW,
    MAX_MW,
    MAX_PRICE_EUR_PER_MW,
    MAX_TIME_LIMIT_S,
    NAME_MAX_LENGTH,
    NO_CONTROL,
    SAFE_ID,
    SAFE_ID_RULE,
    TEXT_MAX_LENGTH,
    control_character,
    instant_problem,
    is_safe_id,
)

EIC_PATTERN = r"^[0-9]{2}[A-Z][A-Z0-9-]{13}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # auction.accounts' rule
_EMAIL = re.compile(EMAIL_PATTERN)


def _refuse(info: ValidationInfo, rule: str) -> PydanticCustomError:
    """A refusal worded like the domain's rules: ``<field> <rule>``, no pydantic prefix."""
    return PydanticCustomError(
        "field_rule", "{field} {rule}", {"field": info.field_name or "value", "rule": rule}
    )


def _no_control(value: str, info: ValidationInfo) -> str:
    found = control_character(value)
    if found is not None:
        raise _refuse(info, f"must not contain control characters; found {found}")
    return value


def _safe_id(value: str, info: ValidationInfo) -> str:
    if not is_safe_id(value):
        raise _refuse(info, f"must be {SAFE_ID_RULE}")
    return value


def _eic(value: str, _info: ValidationInfo) -> str:
    problem = eic_problem(value)
    if problem is not None:
        # The EIC rules' own words, as the domain says them (they name the EIC).
        raise PydanticCustomError("eic", problem)
    return value


def _email(value: str, info: ValidationInfo) -> str:
    _no_control(value, info)
    if _EMAIL.match(value) is None:
        raise _refuse(info, "must look like a@b.c")
    return value


def _instant(value: datetime, info: ValidationInfo) -> datetime:
    problem = instant_problem(value)
    if problem is not None:
        raise _refuse(info, problem)
    return value


Bound = int | float | Decimal | date


def _between(low: Bound, high: Bound, *, open_low: bool = False) -> AfterValidator:
    """``low <= value <= high`` (``low < value`` if ``open_low``), refused in the domain's
    words: ``available_fraction must lie in [0, 1]``."""
    bounds = f"{'(' if open_low else '['}{low}, {high}]"

    def check(value: Any, info: ValidationInfo) -> Any:
        if (value <= low if open_low else value < low) or value > high:
            raise _refuse(info, f"must lie in {bounds}")
        return value

    return AfterValidator(check)


def _range(
    low: int | Decimal, high: int | Decimal, *, open_low: bool = False, finite: bool = True
) -> Any:
    """The JSON schema of a range (``minimum`` or ``exclusiveMinimum``, ``maximum``), and
    no NaN or infinity."""
    extra: dict[str, Any] = {
        "exclusiveMinimum" if open_low else "minimum": float(low),
        "maximum": float(high),
    }
    return (
        Field(allow_inf_nan=False, json_schema_extra=extra)
        if finite
        else Field(json_schema_extra=extra)
    )


# --- text ------------------------------------------------------------------------------

Key = Annotated[
    str,
    Field(min_length=1, max_length=ID_MAX_LENGTH, json_schema_extra={"pattern": NO_CONTROL}),
    AfterValidator(_no_control),
]
"""The id of something that exists (an organisation, a product, a bid): looked up, never
made; at most 64 characters, like the store's id columns."""

SafeId = Annotated[
    str,
    Field(min_length=1, max_length=ID_MAX_LENGTH, json_schema_extra={"pattern": SAFE_ID}),
    AfterValidator(_safe_id),
]
"""The id an operator gives a new auction, product or asset: safe in a URL path, a file
name and a CSV cell."""

Name = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX_LENGTH, json_schema_extra={"pattern": NO_CONTROL}),
    AfterValidator(_no_control),
]

Email = Annotated[
    str,
    Field(min_length=3, max_length=EMAIL_MAX_LENGTH, json_schema_extra={"pattern": EMAIL_PATTERN}),
    AfterValidator(_email),
]

Login = Annotated[
    str,
    Field(min_length=1, max_length=EMAIL_MAX_LENGTH, json_schema_extra={"pattern": NO_CONTROL}),
    AfterValidator(_no_control),
]
"""What a user types as their username: no email rule, so a typo gets the same 401."""

Text = Annotated[
    str,
    Field(min_length=1, max_length=TEXT_MAX_LENGTH, json_schema_extra={"pattern": NO_CONTROL}),
    AfterValidator(_no_control),
]
"""Free text a bidder chooses (exclusive_group)."""

Eic = Annotated[
    str,
    # Length and shape in the schema only: the EIC rules' one message says what is wrong.
    Field(json_schema_extra={"minLength": 16, "maxLength": 16, "pattern": EIC_PATTERN}),
    AfterValidator(_eic),
]
"""An Energy Identification Code, its check character validated."""

# --- numbers ---------------------------------------------------------------------------
# Decimals: exact, never a binary float; none takes NaN or an infinity however spelled.
# Signs and grids (whole cents, the 1 kW grid, the product's increment) are the domain's
# rules, which say them in the archive's words.

Mw = Annotated[Decimal, _range(0, MAX_MW, open_low=True), _between(0, MAX_MW, open_low=True)]
"""MW of product on the 1 kW grid (at most three decimals)."""
PriceEurPerMw = Annotated[
    Decimal, _range(0, MAX_PRICE_EUR_PER_MW), _between(0, MAX_PRICE_EUR_PER_MW)
]
"""EUR/MW for the whole window, in whole cents (at most two decimals)."""
Factor = Annotated[Decimal, _range(0, MAX_FACTOR), _between(0, MAX_FACTOR)]
Hours = Annotated[Decimal, _range(0, MAX_HOURS), _between(0, MAX_HOURS)]
Efficiency = Annotated[Decimal, _range(0, 1, open_low=True), _between(0, 1, open_low=True)]
Cycles = Annotated[
    Decimal, _range(0, MAX_CYCLES, open_low=True), _between(0, MAX_CYCLES, open_low=True)
]
Fraction = Annotated[Decimal, _range(0, 1), _between(0, 1)]
AssetMw = Annotated[Decimal, _range(0, MAX_ASSET_MW), _between(0, MAX_ASSET_MW)]
AssetMwh = Annotated[Decimal, _range(0, MAX_ASSET_MWH), _between(0, MAX_ASSET_MWH)]
# A client that computes kW in floating point (0.1 * 3 * 1000 = 300.00000000000006) means
# a whole kW; a millionth of a kW is far below any meter, far above float error at 1e8 kW.
KW_TOLERANCE = 1e-6
WHOLE_KW_RULE = f"must be whole kW (an integer, or within {KW_TOLERANCE:.6f} kW of one)"


def _whole_kw(value: Any, info: ValidationInfo) -> Any:
    """A float within ``KW_TOLERANCE`` of an integer becomes that integer; a float
    farther from one is refused in the domain's words. Anything else goes on to the
    integer's own validation."""
    if isinstance(value, float) and math.isfinite(value):
        nearest = round(value)
        if abs(value - nearest) > KW_TOLERANCE:
            raise _refuse(info, f"{WHOLE_KW_RULE}; got {value!r}")
        return nearest
    return value


PowerKw = Annotated[
    int,
    BeforeValidator(_whole_kw),
    _range(-MAX_KW, MAX_KW, finite=False),
    _between(-MAX_KW, MAX_KW),
]
"""Whole kW, either way (a schedule's power); a float within ``KW_TOLERANCE`` of a whole
kW is taken as that kW."""

ConfigHours = Annotated[float, _range(0, MAX_CONFIG_HOURS), _between(0, MAX_CONFIG_HOURS)]
ConfigFraction = Annotated[float, _range(0, 1), _between(0, 1)]
TimeLimitS = Annotated[
    float,
    _range(0, MAX_TIME_LIMIT_S, open_low=True),
    _between(0, MAX_TIME_LIMIT_S, open_low=True),
]
GateClosureS = Annotated[
    int, _range(0, MAX_GATE_CLOSURE_S, finite=False), _between(0, MAX_GATE_CLOSURE_S)
]
MtuMinutes = Annotated[
    int, _range(0, 60, open_low=True, finite=False), _between(0, 60, open_low=True)
]

# --- time ------------------------------------------------------------------------------

Day = Annotated[
    date, Field(description=f"from {FIRST_DAY} to {LAST_DAY}"), _between(FIRST_DAY, LAST_DAY)
]
"""A delivery day the engine's date arithmetic handles."""


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive time is taken as UTC already (the store's instants)."""
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Every instant an answer carries is UTC with ``Z``, whatever zone it was computed in (a
# product's Berlin hours, the config's gate times): one spelling for machines to compare.
# Only JSON output changes: validation is ``datetime``'s, and pydantic writes a UTC time
# with ``Z``, so the schema stays ``date-time`` for requests and answers alike.
_IN_UTC = PlainSerializer(utc, return_type=datetime, when_used="json")

UtcInstant = Annotated[datetime, _IN_UTC]
"""An instant of an answer: written in UTC with ``Z``."""
Moment = Annotated[datetime, AfterValidator(_instant), _IN_UTC]
"""A time in the years of ``Day``, whose offset the domain's rules ask for."""
Instant = Annotated[
    AwareDatetime,
    AfterValidator(_instant),
    _IN_UTC,
    Field(description=f"with a UTC offset, from {FIRST_DAY} to {LAST_DAY}"),
]
"""An instant with a UTC offset, in the years of ``Day`` (answered in UTC with ``Z``)."""
