"""The limits every input must respect so that both stores hold it exactly.

One place for them, so that the HTTP schemas (which show them in OpenAPI), the archive's
rules and the store agree. Strings are as long as their store column
(``auction.store.schema``: ids ``String(64)``, names 200, emails 320); SQLite would store a
longer one, PostgreSQL refuses it, so the limit is the column's on both. Control characters
(NUL above all: PostgreSQL cannot store it) are refused in every text.

Numbers are stored as exact integers (kW, cents) in 64-bit columns, and a payment is kW x
cents: the bounds keep the largest award's payment (1e8 kW x 1e8 cents = 1e16) far inside
2**63 (9.2e18), with room for sums over many awards.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal

ID_MAX_LENGTH = 64  # every ``_id`` column
NAME_MAX_LENGTH = 200  # organisations.name
EMAIL_MAX_LENGTH = 320  # users.email, invites.email (RFC 5321: 64 + 1 + 255)
TEXT_MAX_LENGTH = 200  # bids.exclusive_group
IDEMPOTENCY_KEY_MAX_LENGTH = 200  # idempotency_keys.key

# Ids an operator gives new things (auctions, products, assets): they end up in URL paths,
# file names of exports and CSV cells, so only characters that are safe in all three;
# ``.`` and ``..`` (and anything with ``/``) cannot be one.
SAFE_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SAFE_ID_RULE = (
    "1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
)
_SAFE_ID = re.compile(SAFE_ID)

# Text without control characters (C0, DEL, C1): what ``NO_CONTROL`` matches.
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"

MAX_MW = Decimal(100_000)  # a quantity of product: 1e8 kW
MAX_KW = 100_000_000
MAX_PRICE_EUR_PER_MW = Decimal(1_000_000)  # 1e8 cents
MAX_FACTOR = Decimal(1_000)  # MW of a block per MW of product
MAX_HOURS = Decimal(100)  # hours of energy per MW of a wholesale block
MAX_CYCLES = Decimal(1_000)  # daily_cycle_limit
MAX_ASSET_MW = 100_000  # a fleet asset's power
MAX_ASSET_MWH = 1_000_000  # a fleet asset's energy
MAX_CONFIG_HOURS = 24  # fcr_energy_h, afrr_energy_h
MAX_TIME_LIMIT_S = 3_600  # the clearing's time limit
MAX_GATE_CLOSURE_S = 86_400  # dispatch_gate_closure_s

# Dates and instants the engine takes: delivery days of this millennium. Day arithmetic
# (D-2 gate times, day + 1) and time zone conversions stay far from datetime's ends.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)
DAY_RULE = f"must lie between {FIRST_DAY} and {LAST_DAY}"


def control_character(text: str) -> str | None:
    """The first control or unpaired surrogate character of ``text`` as ``U+XXXX``, or None."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X}"
    return None


def is_safe_id(text: str) -> bool:
    """Whether ``text`` is a ``SAFE_ID`` (so never ``.``, ``..`` or anything with ``/``)."""
    return _SAFE_ID.match(text) is not None


def instant_problem(value: datetime) -> str | None:
    """Why an instant is outside the engine's years, or None. Checked on the instant as
    written, before any conversion (which would overflow near year 1 or 9999)."""
    rule = f"must lie between {FIRST_DAY}T00:00:00Z and {LAST_DAY}T23:59:59Z"
    if not FIRST_DAY.year <= value.year <= LAST_DAY.year:
        return rule
    if value.tzinfo is not None and not FIRST_DAY <= value.astimezone(UTC).date() <= LAST_DAY:
        return rule
    return None
