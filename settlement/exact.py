"""Exact money for invoice lines: integer units of 1e-5 EUR, rounded half-even, and worded.

Shared by ``settlement.invoices`` and ``settlement.ancillary`` so that every kind of line
rounds the same way and reads the same way. Polars expressions over Int64 columns: no
floats anywhere on the way from kW and cents to units.
"""

from __future__ import annotations

import polars as pl

from auction.units import fixed_point_str

# b² must fit in Int64 for the split multiplication of ``scaled``: b < 2**31.
MAX_DENOMINATOR = 1 << 31

# --------------------------------------------------------------------------- exact arithmetic


def half_even(q: pl.Expr, r: pl.Expr, den: pl.Expr | int) -> pl.Expr:
    """q + r/den rounded half-even, given the floor quotient q and remainder 0 ≤ r < den."""
    up = (2 * r > den) | ((2 * r == den) & (q % 2 != 0))
    return q + up.cast(pl.Int64)


def div_half_even(num: pl.Expr, den: int) -> pl.Expr:
    """num / den rounded half-even (any sign of num; den > 0)."""
    return half_even(num // den, num % den, den)


def scaled(p: pl.Expr, a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """p × a / b rounded half-even, for p ≥ 0 and 0 ≤ a ≤ b < 2**31.

    Split as (p // b) × a + (p % b) × a / b so that no product exceeds Int64: the first
    is at most p, the second below b².
    """
    rest = (p % b) * a
    return half_even((p // b) * a + rest // b, rest % b, b)


def cap(runs: pl.DataFrame, by: str, limit: str) -> pl.DataFrame:
    """Take any rounding excess of the ``credit`` column over ``limit`` (per ``by``) off
    the largest credits of each group (the earlier of equal ones first)."""
    excess = (pl.col("credit").sum() - pl.col(limit).first()).clip(lower_bound=0)
    ranked = runs.with_row_index("_i").sort(
        by, pl.col("credit"), "_i", descending=[False, True, False]
    )
    before = pl.col("credit").cum_sum().over(by) - pl.col("credit")
    left = (excess.over(by) - before).clip(lower_bound=0)
    return (
        ranked.with_columns(credit=pl.col("credit") - pl.min_horizontal("credit", left))
        .sort("_i")
        .drop("_i")
    )


# --------------------------------------------------------------------------- wording


def money_str(units: pl.Expr, decimals: int) -> pl.Expr:
    """Integer ``units`` of 10**-decimals as a decimal string with all decimals ("425.00")."""
    scale = 10**decimals
    sign = pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (units.abs() // scale).cast(pl.String)
    frac = (units.abs() % scale).cast(pl.String).str.zfill(decimals)
    return pl.concat_str(sign, whole, pl.lit("."), frac)


def mwh(wh: pl.Expr) -> pl.Expr:
    """Integer Wh as an exact MWh string."""
    return fixed_point_str(wh, 6)


def grouped(n: pl.Expr) -> pl.Expr:
    """A non-negative integer with thousands separators ("1,000")."""
    reversed_digits = n.cast(pl.String).str.reverse().str.replace_all(r"(\d{3})", "${1},")
    return reversed_digits.str.reverse().str.strip_chars_start(",")
