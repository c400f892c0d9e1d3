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

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

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


def _no_control(value: str) -> str:
    found = control_character(value)
    if found is not None:
        raise ValueError(f"must not contain control characters; found {found}")
    return value


def _safe_id(value: str) -> str:
    if not is_safe_id(value):
        raise ValueError(f"must be {SAFE_ID_RULE}")
    return value


def _eic(value: str) -> str:
    problem = eic_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _email(value: str) -> str:
    _no_control(value)
    if _EMAIL.match(value) is None:
        raise ValueError("must look like a@b.c, e.g. trader@example.com")
    return value


def _instant(value: datetime) -> datetime:
    problem = instant_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


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
    Field(min_length=16, max_length=16, json_schema_extra={"pattern": EIC_PATTERN}),
    AfterValidator(_eic),
]
"""An Energy Identification Code, its check character validated."""

# --- numbers ---------------------------------------------------------------------------
# Decimals: exact, never a binary float; allow_inf_nan=False refuses NaN and infinities
# however spelled. Signs and grids (whole cents, the 1 kW grid, the product's increment)
# are the domain's rules, which say them in the archive's words.

Mw = Annotated[Decimal, Field(gt=0, le=MAX_MW, allow_inf_nan=False)]
"""MW of product on the 1 kW grid (at most three decimals)."""
PriceEurPerMw = Annotated[Decimal, Field(ge=0, le=MAX_PRICE_EUR_PER_MW, allow_inf_nan=False)]
"""EUR/MW for the whole window, in whole cents (at most two decimals)."""
Factor = Annotated[Decimal, Field(ge=0, le=MAX_FACTOR, allow_inf_nan=False)]
Hours = Annotated[Decimal, Field(ge=0, le=MAX_HOURS, allow_inf_nan=False)]
Efficiency = Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)]
Cycles = Annotated[Decimal, Field(gt=0, le=MAX_CYCLES, allow_inf_nan=False)]
Fraction = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
AssetMw = Annotated[Decimal, Field(ge=0, le=MAX_ASSET_MW, allow_inf_nan=False)]
AssetMwh = Annotated[Decimal, Field(ge=0, le=MAX_ASSET_MWH, allow_inf_nan=False)]

PowerKw = Annotated[int, Field(ge=-MAX_KW, le=MAX_KW)]
"""Whole kW, either way (a schedule's power)."""

ConfigHours = Annotated[float, Field(ge=0, le=MAX_CONFIG_HOURS, allow_inf_nan=False)]
ConfigFraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
TimeLimitS = Annotated[float, Field(gt=0, le=MAX_TIME_LIMIT_S, allow_inf_nan=False)]
GateClosureS = Annotated[int, Field(ge=0, le=MAX_GATE_CLOSURE_S)]
MtuMinutes = Annotated[int, Field(gt=0, le=60)]

# --- time ------------------------------------------------------------------------------

Day = Annotated[
    date,
    Field(ge=FIRST_DAY, le=LAST_DAY, description=f"a day from {FIRST_DAY} to {LAST_DAY}"),
]
Moment = Annotated[datetime, AfterValidator(_instant)]
"""A time in the years of ``Day``, whose offset the domain's rules ask for."""
Instant = Annotated[
    AwareDatetime,
    AfterValidator(_instant),
    Field(description=f"with a UTC offset, from {FIRST_DAY} to {LAST_DAY}"),
]
"""An instant with a UTC offset, in the years of ``Day``."""
