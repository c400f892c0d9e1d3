"""What the replay report adds up: the frames the page and its figures are drawn from.

The ``Report`` (the four frames and the rules), exact sums and means that leave unknown
values unknown, totals per delivery day, per product family and month, and per
organisation. Plain polars, no plotting: the page (``html.py``) tabulates some of these and
the figures (``plots.py``) draw the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from clearing.replay.tables import MONEY_DECIMALS, SHARE_DECIMALS, exact_sum

MAX_PLOTTED_ORGS = 25  # bars per panel before a chart stops being readable


@dataclass(frozen=True, slots=True)
class Report:
    """The four frames, conformed to their schemas, and the what-if rules."""

    days: pl.DataFrame
    products: pl.DataFrame
    organisations: pl.DataFrame
    differences: pl.DataFrame
    rules: Mapping[str, str]

    @property
    def what_if(self) -> bool:
        return bool(self.rules)

    @property
    def new(self) -> str:
        """What the engine's side of the comparison is called."""
        return "counterfactual" if self.what_if else "replayed"


def sum_or_null(expr: pl.Expr, decimals: int = MONEY_DECIMALS) -> pl.Expr:
    """The exact sum, or null when every value is null (unknown is not zero)."""
    return pl.when(expr.count() > 0).then(exact_sum(expr, decimals))


def exact_mean(expr: pl.Expr) -> pl.Expr:
    """The mean of a share, independent of the order of the rows."""
    return sum_or_null(expr, SHARE_DECIMALS) / expr.count()


def _weighted_mean(value: str, weight: str) -> pl.Expr:
    """Mean of ``value`` weighted by ``weight``; the plain mean where no weight is positive."""
    both = pl.col(value).is_not_null() & (pl.col(weight) > 0)
    total = exact_sum(pl.col(weight).filter(both))
    weighted = exact_sum((pl.col(value) * pl.col(weight)).filter(both), SHARE_DECIMALS) / total
    return pl.when(total > 0).then(weighted).otherwise(exact_mean(pl.col(value)))


def per_day(days: pl.DataFrame) -> pl.DataFrame:
    """Archives of the same delivery day added up, with 7-day rolling means of revenue."""
    return (
        days.filter(pl.col("delivery_day").is_not_null())
        .group_by("delivery_day")
        .agg(
            revenue=sum_or_null(pl.col("revenue_eur")),
            recorded=sum_or_null(pl.col("recorded_revenue_eur")),
            fleet=sum_or_null(pl.col("fleet_mw")),
            # Utilisation is MW·h over fleet MW·h: across archives, weight by fleet.
            utilisation=_weighted_mean("utilisation", "fleet_mw"),
        )
        .sort("delivery_day")
        .with_columns(
            revenue_7d=_rolling_week(pl.col("revenue")),
            recorded_7d=_rolling_week(pl.col("recorded")),
        )
    )


def _rolling_week(expr: pl.Expr) -> pl.Expr:
    """Mean over the 7 calendar days ending on each day (gaps and null days left out)."""
    return expr.rolling_mean_by("delivery_day", window_size="7d", min_samples=1)


def family_prices(products: pl.DataFrame) -> pl.DataFrame:
    """Per delivery day and family: volume-weighted mean, lowest and highest EUR/MW/h."""
    return (
        products.filter(pl.col("delivery_day").is_not_null() & (pl.col("hours") > 0))
        .with_columns(
            family=pl.col("family").fill_null("unknown"),
            low=pl.col("lowest_price_eur_per_mw") / pl.col("hours"),
            high=pl.col("highest_price_eur_per_mw") / pl.col("hours"),
        )
        .group_by("delivery_day", "family")
        .agg(
            price=_weighted_mean("low", "awarded_mw"),
            low=pl.col("low").min(),
            high=pl.col("high").max(),
        )
        .filter(pl.col("price").is_not_null())
        .sort("family", "delivery_day")
    )


def monthly_volume(products: pl.DataFrame) -> pl.DataFrame:
    """Awarded MW·h per month and family."""
    return (
        products.filter(pl.col("delivery_day").is_not_null())
        .group_by(
            month=pl.col("delivery_day").dt.truncate("1mo"),
            family=pl.col("family").fill_null("unknown"),
        )
        .agg(mwh=sum_or_null(pl.col("awarded_mw") * pl.col("hours")))
        .filter(pl.col("mwh").is_not_null())
        .sort("month", "family")
    )


def per_organisation(organisations: pl.DataFrame) -> pl.DataFrame:
    """Totals per organisation over the period; changes over the archives that have both."""
    sums = (
        "recorded_mw",
        "recorded_paid_eur",
        "recorded_surplus_eur",
        "awarded_mw",
        "paid_eur",
        "surplus_eur",
    )
    return (
        organisations.group_by("org_id")
        .agg(
            *(sum_or_null(pl.col(c)).alias(c) for c in sums),
            # Null minus anything is null: only archives with both sides count.
            change_paid=sum_or_null(pl.col("paid_eur") - pl.col("recorded_paid_eur")),
            change_surplus=sum_or_null(pl.col("surplus_eur") - pl.col("recorded_surplus_eur")),
        )
        .sort(["paid_eur", "org_id"], descending=[True, False], nulls_last=True)
    )


def largest_organisations(organisations: pl.DataFrame) -> pl.DataFrame:
    """``per_organisation``'s ``MAX_PLOTTED_ORGS`` largest by paid EUR (recorded or not),
    the largest last."""
    return (
        per_organisation(organisations)
        .with_columns(size=pl.max_horizontal(pl.col("recorded_paid_eur", "paid_eur").abs()))
        .sort(["size", "org_id"], descending=[True, False], nulls_last=True)
        .head(MAX_PLOTTED_ORGS)
        .reverse()
    )


def total(frame: pl.DataFrame, column: str) -> float | None:
    """The exact sum of ``column``, or None when every value is null."""
    value = frame.select(sum_or_null(pl.col(column))).item()
    return None if value is None else float(value)


def change_pct(frame: pl.DataFrame, recorded: str, new: str) -> float | None:
    """Change from ``recorded`` to ``new`` in %, over the rows that have both."""
    both = frame.filter(pl.col(recorded).is_not_null() & pl.col(new).is_not_null())
    if both.is_empty():
        return None
    before, after = total(both, recorded) or 0.0, total(both, new) or 0.0
    if before == 0:
        return 0.0 if after == 0 else None
    return (after - before) / abs(before) * 100


def unpaired_rows(frame: pl.DataFrame, recorded: str, new: str) -> bool:
    """Whether some row has one of the two values only (the change then leaves it out)."""
    return bool((frame[recorded].is_null() != frame[new].is_null()).any())


def per_month(days: pl.DataFrame) -> pl.DataFrame:
    """Archives per delivery month: count, errors, revenues, volume, mean utilisation."""
    return (
        days.group_by(month=pl.col("delivery_day").dt.truncate("1mo"))
        .agg(
            archives=pl.len(),
            errors=(pl.col("status") == "error").sum(),
            revenue=sum_or_null(pl.col("revenue_eur")),
            recorded=sum_or_null(pl.col("recorded_revenue_eur")),
            volume=sum_or_null(pl.col("volume_mw")),
            utilisation=exact_mean(pl.col("utilisation")),
        )
        .sort("month", nulls_last=True)
    )
