"""Whether a day's fleet can carry what a template sells that day, before its auction
exists.

The rule (docs/operations.md, "The auction calendar"): every product must be carried at
least at its minimum, and at the sum of its fixed allocations if that is more, by the
fleet of the auction's TSO zone *at its worst moment in the product's window*: each asset
counts with the lowest ``available_fraction`` of the outages and derates overlapping the
window (power and energy scaled alike). The bound per product is the plausibility check's
(``auction.plausibility.capacity_mw``): other products are not counted against it, so a
day that passes may still sell less than everything; a day that fails could not sell one
product even alone, and its auction would be a promise the fleet cannot keep.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from auction.plausibility import capacity_mw

_SCALED = ("p_charge_mw", "p_discharge_mw", "e_min_mwh", "e_max_mwh")


def worst_fleet(
    fleet: pl.DataFrame, availability: pl.DataFrame, start: datetime, end: datetime
) -> pl.DataFrame:
    """``fleet`` with each asset scaled by its lowest availability over [start, end)."""
    worst = (
        availability.filter((pl.col("start") < end) & (pl.col("end") > start))
        .group_by("asset_id")
        .agg(pl.col("available_fraction").min().alias("fraction"))
    )
    scaled = fleet.join(worst, on="asset_id", how="left").with_columns(
        pl.col("fraction").fill_null(1.0)
    )
    return scaled.with_columns([pl.col(c) * pl.col("fraction") for c in _SCALED]).drop("fraction")


def carry_problems(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    tso_zone: str,
    products: pl.DataFrame,
    allocations: pl.DataFrame,
) -> list[str]:
    """One sentence per product the fleet cannot carry (``PRODUCTS``, ``ALLOCATIONS`` and
    ``FLEET``/``AVAILABILITY`` frames); empty if it can carry every one."""
    if fleet.filter(pl.col("tso_zone") == tso_zone).is_empty():
        return [f"the fleet has no asset in TSO zone {tso_zone}"]
    allocated = allocations.group_by("product_id").agg(pl.col("quantity_mw").sum())
    problems = []
    for product in products.iter_rows(named=True):  # a day has tens of products, not more
        window = worst_fleet(fleet, availability, product["start"], product["end"])
        one = products.filter(pl.col("product_id") == product["product_id"])
        capacity = float(capacity_mw(window, tso_zone, one)["capacity_mw"][0])
        fixed = allocated.filter(pl.col("product_id") == product["product_id"])["quantity_mw"]
        fixed_mw = float(fixed[0]) if fixed.len() else 0.0
        needed, what = max(
            (float(product["min_mw"]), "its minimum"), (fixed_mw, "its fixed allocations")
        )
        if capacity + 1e-9 < needed:
            problems.append(
                f"product {product['product_id']} needs {needed:g} MW ({what}) but the fleet "
                f"of zone {tso_zone} can carry at most {capacity:.3f} MW of it at the worst "
                "moment of its window (outages and derates counted)"
            )
    return problems
