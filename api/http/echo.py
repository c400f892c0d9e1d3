"""Values a 422 echoes back, made safe to send whatever they were.

An error answer repeats the refused value so the client sees what was wrong; that value
is by definition one the API could not take: NaN, an infinity, a Decimal('NaN'), a
datetime, bytes, an integer of thousands of digits, a string of a megabyte or with an
unpaired surrogate. The answer must be written all the same (strict JSON: no NaN), so each
is turned into a short JSON scalar here; nested values are not echoed.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

MAX_ECHO = 200  # characters of a refused string that come back
_MAX_INT = 10**18  # beyond it an integer is shown as text (JSON readers lose precision)


def text(value: str, limit: int = MAX_ECHO) -> str:
    """``value`` cut to ``limit`` characters (an ellipsis says so), encodable as UTF-8."""
    if len(value) > limit:
        value = f"{value[:limit]}… ({len(value):,} characters)"
    # An unpaired surrogate cannot be written as UTF-8: show it escaped.
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def scalar(value: Any) -> str | int | float | bool | None:
    """``value`` as a short JSON scalar, or None for what is not one (lists, objects)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_MAX_INT <= value <= _MAX_INT:
            return value
        # str() of an integer beyond 4,300 digits raises; its size is what matters.
        digits = math.floor(value.bit_length() * math.log10(2)) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits:,} digits"
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Decimal):
        return text(str(value))
    if isinstance(value, str):
        return text(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return text(bytes(value).decode("utf-8", "backslashreplace"))
    return None


def location(parts: Any) -> list[str | int]:
    """A ``loc`` whose parts are short: a 1 MB key of a refused object is cut as well."""
    return [p if isinstance(p, int) and not isinstance(p, bool) else text(str(p)) for p in parts]
