"""Exact quantities and money.

Frames carry MW and EUR/MW as floats for the solver's sake, but every value that enters
the engine is validated onto a grid (1 kW for power, 1 cent for prices), so it converts
to an exact integer and back without loss. Sums of money are done in integers.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

KW_PER_MW = 1000
CENTS_PER_EUR = 100
# payment = kW × cents: one unit is 1e-5 EUR.
PAYMENT_UNITS_PER_EUR = KW_PER_MW * CENTS_PER_EUR


def to_kw(mw: pl.Expr) -> pl.Expr:
    """MW (float, on the 1 kW grid) to integer kW."""
    return (mw * KW_PER_MW).round(0).cast(pl.Int64)


def to_cents(eur: pl.Expr) -> pl.Expr:
    """EUR (float, on the cent grid) to integer cents."""
    return (eur * CENTS_PER_EUR).round(0).cast(pl.Int64)


def fixed_point_str(units: pl.Expr, decimals: int) -> pl.Expr:
    """Integer ``units`` of 10**-decimals as the shortest exact decimal string ("12.5", "3")."""
    scale = 10**decimals
    sign = pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    magnitude = units.abs()
    whole = (magnitude // scale).cast(pl.String)
    frac = (magnitude % scale).cast(pl.String).str.zfill(decimals)
    text = pl.concat_str([sign, whole, pl.lit("."), frac])
    return text.str.strip_chars_end("0").str.strip_chars_end(".")


def mw_str(kw: pl.Expr) -> pl.Expr:
    """Integer kW as an exact MW string."""
    return fixed_point_str(kw, 3)


def eur_str(cents: pl.Expr) -> pl.Expr:
    """Integer cents as an exact EUR string."""
    return fixed_point_str(cents, 2)


def payment_str(units: pl.Expr) -> pl.Expr:
    """kW × cents (1e-5 EUR) as an exact EUR string."""
    return fixed_point_str(units, 5)


def payment_eur(units: int) -> Decimal:
    """kW × cents as an exact Decimal of EUR."""
    return Decimal(units) / PAYMENT_UNITS_PER_EUR


def from_units(units: pl.Series, per_unit: int) -> pl.Series:
    """Integer units (kW, cents) as floats (MW, EUR): the float nearest the exact decimal.

    A true division, done in numpy: polars turns a division by a constant into a
    multiplication by its reciprocal, which misses by an ulp (6600 kW -> 6.6000000000000005).
    """
    values = units.cast(pl.Float64).to_numpy() / float(per_unit)
    return pl.Series(units.name, values, dtype=pl.Float64, nan_to_null=True)
