"""Replaying an archive: clear it again and compare, bid by bid, with what was recorded.

An archive directory holds the auction (spec/archive.md) and, in ``recorded/``, the result
that was really published. ``replay_archive`` clears the auction with today's engine and
compares every bid's awarded MW and payment, as the text the result files hold, so that a
difference of one kW or one cent shows. One function per archive, safe to run in a worker
process: it never raises, an archive that cannot be read comes back as an error.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from auction.archive import read_archive
from auction.errors import DomainError
from clearing.clear import clear
from clearing.result import write_results

RECORDED = "recorded"
COMPARED = ("awarded_mw", "payment_eur")


@dataclass(frozen=True, slots=True)
class Difference:
    """One bid whose replayed award is not the recorded one."""

    bid_id: str
    column: str
    recorded: str | None
    replayed: str | None


@dataclass(frozen=True)
class ReplayOutcome:
    """One archive's replay: ``status`` is same, differs, unrecorded or error."""

    path: str
    status: str
    auction_id: str | None = None
    revenue_eur: float | None = None
    volume_mw: float | None = None
    lowest_price: float | None = None
    highest_price: float | None = None
    solve_s: float | None = None
    differences: list[Difference] = field(default_factory=list)
    error: str | None = None


def find_archives(root: Path) -> list[Path]:
    """Every archive directory under ``root`` (those holding an auction.json), sorted."""
    return sorted(p.parent for p in root.rglob("auction.json") if p.parent.name != RECORDED)


def replay_archive(path: Path) -> ReplayOutcome:
    """Clear the archive at ``path`` again and compare with ``path/recorded``."""
    started = time.perf_counter()
    try:
        archive = read_archive(path)
        result = clear(archive)
        with tempfile.TemporaryDirectory() as tmp:
            write_results(result, tmp)
            replayed = _awards(Path(tmp) / "awards.csv")
    except Exception as exc:  # one bad archive must not stop the others
        return ReplayOutcome(str(path), "error", error=_first_line(exc))
    accepted = replayed.filter(pl.col("awarded_mw").cast(pl.Float64) > 0)
    prices = accepted["price_eur_per_mw"].cast(pl.Float64)
    figures = {
        "auction_id": archive.config.auction_id,
        "revenue_eur": float(result.objective_eur),
        "volume_mw": float(accepted["awarded_mw"].cast(pl.Float64).sum()),
        "lowest_price": None if prices.is_empty() else float(prices.min()),  # type: ignore[arg-type]
        "highest_price": None if prices.is_empty() else float(prices.max()),  # type: ignore[arg-type]
        "solve_s": time.perf_counter() - started,
    }
    recorded_file = path / RECORDED / "awards.csv"
    if not recorded_file.exists():
        return ReplayOutcome(str(path), "unrecorded", **figures)  # type: ignore[arg-type]
    try:
        recorded = _awards(recorded_file)
    except (OSError, pl.exceptions.PolarsError) as exc:
        return ReplayOutcome(str(path), "error", error=f"recorded/awards.csv: {exc}")
    differences = compare(recorded, replayed)
    status = "differs" if differences else "same"
    return ReplayOutcome(str(path), status, differences=differences, **figures)  # type: ignore[arg-type]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    kind = "" if isinstance(exc, DomainError) else f"{type(exc).__name__}: "
    return kind + (text.splitlines()[0] if text else "")


def _awards(file: Path) -> pl.DataFrame:
    return pl.read_csv(file, infer_schema=False)


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


def replay_report(outcomes: list[ReplayOutcome]) -> pl.DataFrame:
    """One row per archive: what a person reads first."""
    return pl.DataFrame(
        [
            {
                "path": o.path,
                "auction_id": o.auction_id,
                "status": o.status,
                "revenue_eur": o.revenue_eur,
                "volume_mw": o.volume_mw,
                "lowest_price_eur_per_mw": o.lowest_price,
                "highest_price_eur_per_mw": o.highest_price,
                "differences": len(o.differences),
                "seconds": o.solve_s,
                "error": o.error,
            }
            for o in outcomes
        ],
        schema={
            "path": pl.String,
            "auction_id": pl.String,
            "status": pl.String,
            "revenue_eur": pl.Float64,
            "volume_mw": pl.Float64,
            "lowest_price_eur_per_mw": pl.Float64,
            "highest_price_eur_per_mw": pl.Float64,
            "differences": pl.Int64,
            "seconds": pl.Float64,
            "error": pl.String,
        },
    )


def replay_differences(outcomes: list[ReplayOutcome]) -> pl.DataFrame:
    """Every difference: path, bid_id, column, recorded, replayed."""
    return pl.DataFrame(
        [
            {
                "path": o.path,
                "bid_id": d.bid_id,
                "column": d.column,
                "recorded": d.recorded,
                "replayed": d.replayed,
            }
            for o in outcomes
            for d in o.differences
        ],
        schema=dict.fromkeys(("path", "bid_id", "column", "recorded", "replayed"), pl.String),
    )
