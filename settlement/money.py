"""Money on the engine's grid: integer units of 1e-5 EUR (1 kW x 1 cent), exact.

Lines and totals stay exact on that grid; ``settlement.invoices.invoices`` rounds only the
amount due, once per invoice, to the cent, half to even.
"""

from __future__ import annotations

from decimal import Decimal

from auction.units import payment_eur

_GRID = Decimal("0.00001")


def money(units: int) -> Decimal:
    """``units`` of 1e-5 EUR as EUR with five decimals."""
    return payment_eur(units).quantize(_GRID)
