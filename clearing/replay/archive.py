"""Replaying one archive: clear it again and compare, bid by bid, with what was recorded.

An archive directory holds the auction (docs/archive.md) and, in ``recorded/``, the result
that was really published. ``replay_archive`` clears the auction with today's engine,
under what-if rules if any, and compares every bid's awarded MW and payment as the text
the result files hold, so that a difference of one kW or one cent shows. Both sides are
then summed the same way (per day, product and organisation) from that text. One function
per archive, safe to run in a worker process: it never raises, an archive that cannot be
read comes back as an error.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from auction.archive import read_archive
from auction.csvsafe import read_csv
from auction.errors import DomainError
from auction.model import Archive
from auction.units import CENTS_PER_EUR, KW_PER_MW, PAYMENT_UNITS_PER_EUR, from_units
from clearing.clear import clear
from clearing.replay.rules import PLAIN, Rules, apply_rules, uniform_pricing
from clearing.replay.tables import DAYS, ORGANISATIONS, PRODUCTS
from clearing.report import utilisation
from clearing.result import ClearingResult

RECORDED = "recorded"
COMPARED = ("awarded_mw", "payment_eur")


class UnreadableRecord(Exception):
    """recorded/awards.csv is there but cannot be compared with."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One bid whose replayed award is not the recorded one."""

    bid_id: str
    column: str
    recorded: str | None
    replayed: str | None


@dataclass(frozen=True)
class ReplayOutcome:
    """One archive's replay: its row of the DAYS table, its products and organisations."""

    day: dict[str, Any]
    products: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PRODUCTS))
    organisations: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ORGANISATIONS))
    differences: list[Difference] = field(default_factory=list)

    @property
    def path(self) -> str:
        return str(self.day["path"])

    @property
    def status(self) -> str:
        return str(self.day["status"])

    @property
    def error(self) -> str | None:
        return self.day["error"]  # type: ignore[no-any-return]


def find_archives(root: Path) -> list[Path]:
    """Every archive directory under ``root`` (those holding an auction.json), sorted.

    Symbolic links are followed: an analyst may gather the days of interest as links.
    """
    return sorted(
        Path(folder)
        for folder, _, files in os.walk(root, followlinks=True)
        if "auction.json" in files and Path(folder).name != RECORDED
    )


def replay_archive(path: Path, rules: Rules = PLAIN) -> ReplayOutcome:
    """Clear the archive at ``path`` again under ``rules`` and compare with ``path/recorded``."""
    started = time.perf_counter()
    try:
        return _replay(path, rules, started)
    except Exception as exc:  # one bad archive must not stop the others
        return _failed(path, _first_line(exc))


def _replay(path: Path, rules: Rules, started: float) -> ReplayOutcome:
    archive = apply_rules(read_archive(path), rules)
    result = clear(archive)
    if rules.pricing == "uniform":
        result = uniform_pricing(result)
    replayed = _awards_text(result)
    recorded = _recorded(path)
    differences = [] if recorded is None else compare(recorded, replayed)
    if recorded is None:
        status = "unrecorded"
    elif not rules.plain:
        status = "counterfactual"
    else:
        status = "differs" if differences else "same"
    ours, theirs = _units(replayed), None if recorded is None else _units(recorded)
    day = _day_row(archive, result, ours, theirs) | {
        "path": str(path),
        "status": status,
        "differences": len(differences),
        "seconds": time.perf_counter() - started,
        "error": None,
    }
    key = [
        pl.lit(day["auction_id"]).alias("auction_id"),
        pl.lit(day["delivery_day"]).alias("delivery_day"),
    ]
    return ReplayOutcome(
        day=day,
        products=_products(archive, ours, theirs).with_columns(key).select(PRODUCTS.names()),
        organisations=_organisations(ours, theirs).with_columns(key).select(ORGANISATIONS.names()),
        differences=differences,
    )


def _recorded(path: Path) -> pl.DataFrame | None:
    """recorded/awards.csv as text, checked to parse as numbers; None when there is none."""
    file = path / RECORDED / "awards.csv"
    if not file.exists():
        return None
    try:
        awards = read_csv(file, raise_if_empty=True)
        _check_columns(awards)
        _units(awards)
    except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise UnreadableRecord(f"{RECORDED}/awards.csv: {_first_line(exc)}") from exc
    return awards


def _failed(path: Path, message: str) -> ReplayOutcome:
    return ReplayOutcome(
        day=dict.fromkeys(DAYS.names()) | {"path": str(path), "status": "error", "error": message}
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    kind = "" if isinstance(exc, DomainError | UnreadableRecord) else f"{type(exc).__name__}: "
    return kind + (text.splitlines()[0] if text else "")


def _check_columns(awards: pl.DataFrame) -> None:
    missing = {"bid_id", "org_id", "product_id", "price_eur_per_mw", *COMPARED} - set(
        awards.columns
    )
    if missing:
        raise ValueError(f"lacks the column(s) {', '.join(sorted(missing))}")


def _awards_text(result: ClearingResult) -> pl.DataFrame:
    """awards.csv of the result, as the text a file would hold."""
    return read_csv(result.tables()["awards.csv"], raise_if_empty=True)


def compare(recorded: pl.DataFrame, replayed: pl.DataFrame) -> list[Difference]:
    """Bids whose awarded MW or payment differ (as text), or that only one side has."""
    both = recorded.select("bid_id", *COMPARED).join(
        replayed.select("bid_id", *COMPARED), on="bid_id", how="full", suffix="_replayed"
    )
    out = []
    for row in both.sort("bid_id", "bid_id_replayed", nulls_last=True).iter_rows(named=True):
        bid_id = row["bid_id"] or row["bid_id_replayed"]
        for column in COMPARED:
            before, after = row[column], row[f"{column}_replayed"]
            if before != after:
                out.append(Difference(bid_id, column, before, after))
    return out


def _units(awards: pl.DataFrame) -> pl.DataFrame:
    """awards.csv text as integers: kW, cents, payment and surplus in 1e-5 EUR.

    The text is on the kW, cent and 1e-5 EUR grids, and the figures of an auction stay far
    below 2**53 units, so the float parse rounds back to the exact integer.
    """

    def units(column: str, per: int) -> pl.Expr:
        return (pl.col(column).cast(pl.Float64) * per).round(0).cast(pl.Int64)

    return awards.select(
        "bid_id",
        "org_id",
        "product_id",
        kw=units("awarded_mw", KW_PER_MW),
        cents=units("price_eur_per_mw", CENTS_PER_EUR),
        paid=units("payment_eur", PAYMENT_UNITS_PER_EUR),
    ).with_columns(surplus=pl.col("kw") * pl.col("cents") - pl.col("paid"))


def _sums(awards: pl.DataFrame, by: str, prefix: str = "") -> pl.DataFrame:
    """Awarded MW, paid and surplus EUR per ``by``, exact until the last division."""
    totals = awards.group_by(by).agg(pl.col("kw", "paid", "surplus").sum()).sort(by)
    return totals.select(
        by,
        pl.Series(f"{prefix}mw", from_units(totals["kw"], KW_PER_MW)),
        pl.Series(f"{prefix}paid_eur", from_units(totals["paid"], PAYMENT_UNITS_PER_EUR)),
        pl.Series(f"{prefix}surplus_eur", from_units(totals["surplus"], PAYMENT_UNITS_PER_EUR)),
    )


def _total(awards: pl.DataFrame | None, column: str, per: int) -> float | None:
    if awards is None:
        return None
    return float(from_units(pl.Series([int(awards[column].sum())]), per)[0])


def _day_row(
    archive: Archive,
    result: ClearingResult,
    ours: pl.DataFrame,
    theirs: pl.DataFrame | None,
) -> dict[str, Any]:
    cfg = archive.config
    accepted = ours.filter(pl.col("kw") > 0)["cents"]
    zone = archive.fleet.filter(pl.col("tso_zone") == cfg.tso_zone)
    return {
        "auction_id": cfg.auction_id,
        "delivery_day": cfg.delivery_day,
        "solver_status": result.status,
        "n_bids": result.n_bids,
        "n_accepted": result.n_accepted,
        "solve_s": result.solve_s,
        "revenue_eur": _total(ours, "paid", PAYMENT_UNITS_PER_EUR),
        "recorded_revenue_eur": _total(theirs, "paid", PAYMENT_UNITS_PER_EUR),
        "volume_mw": _total(ours, "kw", KW_PER_MW),
        "recorded_volume_mw": _total(theirs, "kw", KW_PER_MW),
        "lowest_price_eur_per_mw": None if accepted.is_empty() else accepted.min() / CENTS_PER_EUR,  # type: ignore[operator]
        "highest_price_eur_per_mw": None if accepted.is_empty() else accepted.max() / CENTS_PER_EUR,  # type: ignore[operator]
        "fleet_mw": float(zone["p_discharge_mw"].sum()),
        "utilisation": utilisation(archive, result)["mean"],
    }


def _products(archive: Archive, ours: pl.DataFrame, theirs: pl.DataFrame | None) -> pl.DataFrame:
    """One row per product: replayed and recorded MW and revenue, accepted price range."""
    products = archive.products.select(
        "product_id",
        family=pl.when(pl.col("wholesale_mw") == 0)
        .then(pl.when(pl.col("fcr_mw") > 0).then(pl.lit("fcr")).otherwise(pl.lit("afrr")))
        .when((pl.col("fcr_mw") + pl.col("afrr_pos_mw") + pl.col("afrr_neg_mw")) > 0)
        .then(pl.lit("stacked"))
        .otherwise(pl.lit("wholesale")),
        seconds=(pl.col("end") - pl.col("start")).dt.total_seconds(),
    )
    products = products.with_columns(hours=from_units(products["seconds"], 3600)).drop("seconds")
    cents = (
        ours.filter(pl.col("kw") > 0)
        .group_by("product_id")
        .agg(lowest=pl.col("cents").min(), highest=pl.col("cents").max())
    )
    prices = cents.select(
        "product_id",
        lowest_price_eur_per_mw=from_units(cents["lowest"], CENTS_PER_EUR),
        highest_price_eur_per_mw=from_units(cents["highest"], CENTS_PER_EUR),
    )
    mine = _sums(ours, "product_id").select("product_id", awarded_mw="mw", revenue_eur="paid_eur")
    recorded = _sums(ours.clear() if theirs is None else theirs, "product_id").select(
        "product_id", recorded_awarded_mw="mw", recorded_revenue_eur="paid_eur"
    )
    return (
        products.join(mine, on="product_id", how="left")
        .join(prices, on="product_id", how="left")
        .join(recorded, on="product_id", how="left")
        .with_columns(pl.col("awarded_mw", "revenue_eur").fill_null(0.0))
        .sort("product_id")
    )


def _organisations(ours: pl.DataFrame, theirs: pl.DataFrame | None) -> pl.DataFrame:
    """One row per bidding organisation: recorded beside replayed MW, paid and surplus."""
    recorded = _sums(ours.clear() if theirs is None else theirs, "org_id", "recorded_")
    both = _sums(ours, "org_id").join(recorded, on="org_id", how="full", coalesce=True)
    filled = ["mw", "paid_eur", "surplus_eur"]
    if theirs is not None:
        filled += recorded.columns[1:]
    return (
        both.with_columns(pl.col(filled).fill_null(0.0)).rename({"mw": "awarded_mw"}).sort("org_id")
    )
