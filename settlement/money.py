"""Money on the engine's grid: integer units of 1e-5 EUR (1 kW x 1 cent), exact.

An invoice keeps every line exact on that grid; only the amount due is rounded, once per
invoice, to the cent, half to even (the banker's rule, so that rounding does not drift one
way over many invoices).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

UNITS_PER_EUR = 100_000
_GRID = Decimal("0.00001")
_CENT = Decimal("0.01")


def money(units: int) -> Decimal:
    """``units`` of 1e-5 EUR as EUR with five decimals."""
    return (Decimal(units) / UNITS_PER_EUR).quantize(_GRID)


def amount_due(units: int) -> Decimal:
    """The exact total rounded to the cent, half to even."""
    return money(units).quantize(_CENT, rounding=ROUND_HALF_EVEN)
