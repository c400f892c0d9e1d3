"""Generate a year of historical auctions in ``data/history/`` and record their clearing.

Every day of ``auction.synthetic.HistoryScenario().year`` (365 days of 2025, Europe/Berlin)
becomes ``<OUT_DIR>/<YYYY-MM-DD>/``: the archive as Parquet (docs/archive.md), read back
through the validator and checked unchanged, then cleared by today's engine, whose
``awards.csv`` and ``summary.json`` are kept in ``recorded/`` ("the engine of the day")
for ``vba replay``. ``days.csv`` lists every day's kind, story and central values. A day
that does not clear ``optimal`` stops the run.

Usage::

    .venv/bin/python data/generate_history.py                 # writes data/history/
    .venv/bin/python data/generate_history.py OUT_DIR --days 7
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from auction.archive import read_archive, write_archive
from auction.synthetic import HistoryDay, HistoryScenario, history_days
from clearing.clear import clear
from clearing.result import ClearingResult, write_results

HISTORY_DIR = Path(__file__).resolve().parent / "history"
TABLE_NAMES = ("fleet", "availability", "products", "bids", "allocations")
RECORDED_FILES = ("awards.csv", "summary.json")
WATCHED_PRODUCTS = ("DAY-WS2", "DAY-FCR")


@dataclass(frozen=True, slots=True)
class DayFigures:
    """What the summary reports of one day."""

    day: str
    kind: str
    note: str | None
    n_assets: int
    fleet_mw: float
    n_bids: int
    orgs: frozenset[str]
    offered_mw: float
    revenue_eur: float
    lowest_accepted: dict[str, float]
    arbitrage_eur_per_mw: float
    fcr_eur_per_mw_h: float
    afrr_eur_per_mw_h: float
    clear_s: float


def main(argv: list[str]) -> int:
    """Generate, check, clear and record every day; print a per-month summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=HISTORY_DIR)
    parser.add_argument("--days", type=int, default=None, help="only the first N days")
    parser.add_argument("--seed", type=int, default=HistoryScenario().seed)
    args = parser.parse_args(argv)
    scenario = HistoryScenario(seed=args.seed)
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    console.width = max(console.width, 110)  # the monthly table needs it, even in a pipe
    n_days = (date(scenario.year + 1, 1, 1) - date(scenario.year, 1, 1)).days
    total = n_days if args.days is None else min(args.days, n_days)

    started = time.perf_counter()
    figures: list[DayFigures] = []
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress, tempfile.TemporaryDirectory() as tmp:
        task = progress.add_task("generating", total=total)
        for history in history_days(scenario, total):
            progress.update(task, description=f"{history.day} {history.kind}")
            figures.append(_record_day(history, out / history.day.isoformat(), Path(tmp)))
            progress.advance(task)
    elapsed = time.perf_counter() - started

    _days_table(figures).write_csv(out / "days.csv")
    _print_summary(console, figures, out, elapsed)
    return 0


def _record_day(history: HistoryDay, day_dir: Path, tmp: Path) -> DayFigures:
    """Write one day, check it reads back unchanged, clear it and keep the record."""
    if day_dir.exists():
        shutil.rmtree(day_dir)  # a fresh day: no stale table or record survives
    archive = history.archive
    write_archive(archive, day_dir, fmt="parquet")
    back = read_archive(day_dir)
    assert back.config == archive.config, f"{day_dir}: auction.json does not read back"
    for name in TABLE_NAMES:
        assert_frame_equal(getattr(back, name), getattr(archive, name))

    t0 = time.perf_counter()
    result = clear(archive)
    clear_s = time.perf_counter() - t0
    if result.status != "optimal":
        raise SystemExit(f"{history.day}: the clearing ended {result.status}: {result.message}")
    write_results(result, tmp)
    recorded = day_dir / "recorded"
    recorded.mkdir()
    for name in RECORDED_FILES:
        shutil.copyfile(tmp / name, recorded / name)
    return _figures(history, result, clear_s)


def _figures(history: HistoryDay, result: ClearingResult, clear_s: float) -> DayFigures:
    archive = history.archive
    in_zone = archive.fleet.filter(pl.col("tso_zone") == archive.config.tso_zone)
    won = result.awards.filter(pl.col("awarded_kw") > 0)
    lowest = won.group_by("product_id").agg(pl.col("price_cents").min() / 100)
    return DayFigures(
        day=history.day.isoformat(),
        kind=str(history.kind),
        note=history.note,
        n_assets=archive.fleet.height,
        fleet_mw=float(in_zone["p_discharge_mw"].sum()),
        n_bids=archive.bids.height,
        orgs=frozenset(archive.bids["org_id"]),
        offered_mw=float(archive.bids["quantity_mw"].sum()),
        revenue_eur=float(result.objective_eur),
        lowest_accepted={str(k): float(v) for k, v in lowest.iter_rows()},
        arbitrage_eur_per_mw=history.scale.day_arbitrage_2h_eur_per_mw,
        fcr_eur_per_mw_h=history.scale.fcr_eur_per_mw_h,
        afrr_eur_per_mw_h=history.scale.afrr_eur_per_mw_h,
        clear_s=clear_s,
    )


def _days_table(figures: list[DayFigures]) -> pl.DataFrame:
    """days.csv: one row per day, no timings, so the same seed writes the same file."""
    return pl.DataFrame(
        {
            "delivery_day": [f.day for f in figures],
            "kind": [f.kind for f in figures],
            "note": [f.note for f in figures],
            "n_assets": [f.n_assets for f in figures],
            "fleet_mw_in_zone": [f.fleet_mw for f in figures],
            "n_bids": [f.n_bids for f in figures],
            "n_orgs": [len(f.orgs) for f in figures],
            "offered_mw": [round(f.offered_mw, 3) for f in figures],
            "day_arbitrage_2h_eur_per_mw": [round(f.arbitrage_eur_per_mw, 2) for f in figures],
            "fcr_eur_per_mw_h": [round(f.fcr_eur_per_mw_h, 2) for f in figures],
            "afrr_eur_per_mw_h": [round(f.afrr_eur_per_mw_h, 2) for f in figures],
            "revenue_eur": [f.revenue_eur for f in figures],
        },
        schema_overrides={"note": pl.String},
    )


def _print_summary(
    console: Console, figures: list[DayFigures], out: Path, elapsed_s: float
) -> None:
    table = Table(title=f"History in {out}", show_lines=False)
    headers = ("month", "days", "assets", "MW in zone", "bids/day", "orgs", "revenue kEUR")
    for name in (*headers, *(f"{p} low" for p in WATCHED_PRODUCTS)):
        table.add_column(name, justify="right")
    by_month: dict[str, list[DayFigures]] = {}
    for f in figures:
        by_month.setdefault(f.day[:7], []).append(f)
    for month, days in by_month.items():
        lows = [_mean_lowest(days, product) for product in WATCHED_PRODUCTS]
        table.add_row(
            month,
            str(len(days)),
            str(days[-1].n_assets),
            f"{days[-1].fleet_mw:,.0f}",
            f"{statistics.mean(d.n_bids for d in days):.0f}",
            str(len(frozenset().union(*(d.orgs for d in days)))),
            f"{sum(d.revenue_eur for d in days) / 1000:,.1f}",
            *lows,
        )
    console.print(table)
    special = [f for f in figures if f.kind in ("no_competition", "scarcity")]
    for f in special:
        ratio = f.offered_mw / f.fleet_mw
        console.print(
            f"  {f.day} {f.kind:<14} {len(f.orgs):>2} orgs {f.n_bids:>3} bids, "
            f"offered {ratio:.1f}x the fleet: {f.note}"
        )
    clear_times = [f.clear_s for f in figures]
    files = [p for p in out.rglob("*") if p.is_file()]
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    console.print(
        f"{len(figures)} days, {sum(f.n_bids for f in figures):,} bids, "
        f"revenue {sum(f.revenue_eur for f in figures) / 1e6:,.2f} MEUR; "
        f"clear median {statistics.median(clear_times):.3f} s, max {max(clear_times):.3f} s; "
        f"{elapsed_s:.0f} s in all"
    )
    console.print(f"{out}: {len(files):,} files, {size_mb:.1f} MB")


def _mean_lowest(days: list[DayFigures], product: str) -> str:
    """Mean over the days of the product's lowest accepted price, EUR/MW."""
    lows = [d.lowest_accepted[product] for d in days if product in d.lowest_accepted]
    return f"{statistics.mean(lows):,.0f}" if lows else "-"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
