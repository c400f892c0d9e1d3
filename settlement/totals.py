"""Invoice totals and checks: the exact sum of each kind, one invoice per auction and
organisation, and the reconciliation of the lines with the clearing.

The kinds and their rules are in ``settlement.invoices`` (and ``settlement.ancillary``);
this module only adds lines up, rounds the amount due once per invoice, and says what
does not add up.
"""

from __future__ import annotations

import polars as pl

from auction.book import schema
from auction.units import CENTS_PER_EUR, PAYMENT_UNITS_PER_EUR
from settlement.exact import div_half_even, money_str

UNITS_PER_CENT = PAYMENT_UNITS_PER_EUR // CENTS_PER_EUR  # 1000
# The kinds of ``settlement.invoices`` and of ``settlement.ancillary``, in the order lines
# are sorted.
ANCILLARY_KINDS = ("ancillary_revenue", "ancillary_credit")
KINDS = ("award", "unavailability_credit", "imbalance_charge", *ANCILLARY_KINDS)

INVOICES = schema(
    {
        "auction_id": pl.String,
        "org_id": pl.String,
        "n_lines": pl.UInt32,
        "award_units": pl.Int64,
        "credit_units": pl.Int64,
        "imbalance_units": pl.Int64,
        "total_units": pl.Int64,
        "total_eur": pl.String,
        "amount_due_cents": pl.Int64,
        "amount_due_eur": pl.String,
    }
)
# The same with the ancillary kinds' own totals (``invoices(lines, ancillary=True)``).
_AT = list(INVOICES).index("total_units")
INVOICES_WITH_ANCILLARY = schema(
    {
        **dict(list(INVOICES.items())[:_AT]),
        "ancillary_units": pl.Int64,
        "ancillary_credit_units": pl.Int64,
        **dict(list(INVOICES.items())[_AT:]),
    }
)


def invoices(lines: pl.DataFrame, *, ancillary: bool = False) -> pl.DataFrame:
    """One invoice per auction and organisation (``INVOICES``): exact totals, amount due.

    ``total_units`` adds up every line. ``ancillary=True`` gives the ancillary revenue and
    credit totals their own columns too (``INVOICES_WITH_ANCILLARY``).
    """
    amount, kind = pl.col("amount_units"), pl.col("kind")
    frame = (
        lines.group_by("auction_id", "org_id")
        .agg(
            n_lines=pl.len(),
            award_units=amount.filter(kind == "award").sum(),
            credit_units=amount.filter(kind == "unavailability_credit").sum(),
            imbalance_units=amount.filter(kind == "imbalance_charge").sum(),
            ancillary_units=amount.filter(kind == "ancillary_revenue").sum(),
            ancillary_credit_units=amount.filter(kind == "ancillary_credit").sum(),
            total_units=amount.sum(),
        )
        .with_columns(amount_due_cents=div_half_even(pl.col("total_units"), UNITS_PER_CENT))
        .with_columns(
            total_eur=money_str(pl.col("total_units"), 5),
            amount_due_eur=money_str(pl.col("amount_due_cents"), 2),
        )
    )
    columns = INVOICES_WITH_ANCILLARY if ancillary else INVOICES
    return frame.sort("auction_id", "org_id").select(
        *(pl.col(c).cast(t) for c, t in columns.items())
    )


def kind_totals(lines: pl.DataFrame) -> dict[str, int]:
    """The exact sum of each kind of line, in 1e-5 EUR (0 for a kind without lines)."""
    return {k: int(lines.filter(pl.col("kind") == k)["amount_units"].sum()) for k in KINDS}


def reconcile(lines: pl.DataFrame, clearing_revenue_units: int) -> list[str]:
    """Problems with ``lines`` (all orgs of one auction); empty when they reconcile.

    The award lines must add up to the clearing revenue (Σ payment_units) exactly (the
    ancillary lines are no part of it); signs must be right (an ancillary revenue line
    has the sign opposite to its price), no virtual asset may be credited more than its
    award line, nor give back more ancillary revenue than it got.
    """
    problems: list[str] = []
    amount, kind = pl.col("amount_units"), pl.col("kind")
    if lines["amount_units"].null_count():
        problems.append(f"{lines['amount_units'].null_count()} lines have no amount")
    unknown = sorted(set(lines["kind"].drop_nulls()) - set(KINDS))
    if unknown or lines["kind"].null_count():
        problems.append(f"lines of unknown kind: {unknown or [None]}")
    awarded = int(lines.filter(kind == "award")["amount_units"].sum())
    if awarded != clearing_revenue_units:
        problems.append(
            f"award lines add up to {_eur(awarded)} EUR, the clearing revenue is "
            f"{_eur(clearing_revenue_units)} EUR (off by {_eur(awarded - clearing_revenue_units)})"
        )
    # Only the sign of an ancillary revenue line's price is read.
    price = (
        pl.col("unit_price_eur").cast(pl.Float64, strict=False)
        if "unit_price_eur" in lines.columns
        else pl.lit(None, pl.Float64)
    )
    signs = {
        "award": amount < 0,
        "unavailability_credit": amount > 0,
        "imbalance_charge": amount < 0,
        "ancillary_revenue": ((amount > 0) & (price >= 0)) | ((amount < 0) & (price <= 0)),
        "ancillary_credit": amount < 0,
    }
    for name, wrong in signs.items():
        n = lines.filter((kind == name) & wrong).height
        if n:
            problems.append(f"{n} {name} lines have the wrong sign")
    per_va = (
        lines.filter(pl.col("virtual_asset_id").is_not_null())
        .group_by("virtual_asset_id")
        .agg(
            paid=amount.filter(kind == "award").sum(),
            credited=-amount.filter(kind == "unavailability_credit").sum(),
        )
        .filter(pl.col("credited") > pl.col("paid"))
        .sort("virtual_asset_id")
    )
    problems += [
        f"virtual asset {va} is credited {_eur(c)} EUR, more than its award of {_eur(p)} EUR"
        for va, p, c in per_va.select("virtual_asset_id", "paid", "credited").iter_rows()
    ]
    problems += _ancillary_problems(lines)
    if lines["auction_id"].n_unique() > 1:
        problems.append(f"lines of several auctions: {sorted(lines['auction_id'].unique())}")
    return problems


def _ancillary_problems(lines: pl.DataFrame) -> list[str]:
    """Virtual assets whose ancillary credits exceed the ancillary revenue they got."""
    amount, kind = pl.col("amount_units"), pl.col("kind")
    per_va = (
        lines.filter(pl.col("virtual_asset_id").is_not_null())
        .group_by("virtual_asset_id")
        .agg(
            got=-amount.filter((kind == "ancillary_revenue") & (amount < 0)).sum(),
            back=amount.filter(kind == "ancillary_credit").sum(),
        )
        .filter(pl.col("back") > pl.col("got"))
        .sort("virtual_asset_id")
    )
    return [
        f"virtual asset {va} gives back {_eur(b)} EUR of ancillary revenue, more than the "
        f"{_eur(g)} EUR it got"
        for va, g, b in per_va.select("virtual_asset_id", "got", "back").iter_rows()
    ]


def _eur(units: int) -> str:
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), PAYMENT_UNITS_PER_EUR)
    return f"{sign}{whole}.{frac:05d}"


__all__ = [
    "ANCILLARY_KINDS",
    "INVOICES",
    "INVOICES_WITH_ANCILLARY",
    "KINDS",
    "UNITS_PER_CENT",
    "invoices",
    "kind_totals",
    "reconcile",
]
