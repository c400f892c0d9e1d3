"""Rebalancing plan benchmark: 200 assets, 2,000 virtual assets, 96 MTUs, against its baselines.

    python benchmarks/bench_rebalance.py [--assets 200] [--virtual-assets 2000] [--seed 7]
                                         [--repeats 3] [--save]

The disaggregation benchmark's seeded days (``disaggregate_day``), with the customers'
schedules tilted towards discharging (``drain``): they empty their virtual batteries
together, the fleet's losses take more out of the physical ones than the schedules count,
and only the operator's trades can keep the bands. Three days: *drained* (no spare
energy), *drained and stressed* (also ten assets out for two hours under their blocks) and
*normal* (the disaggregation benchmark's normal day, which needs no trade). On each, side
by side in the same process:

- ``prepare`` alone (frames to arrays): the floor;
- ``disaggregate()`` without a plan, as ``GET /fleet/setpoints?rebalance=false`` runs it;
- ``disaggregate(rebalance=True)``: the plan, as the server recomputes it on every read;
- the same against a price curve.

Median of ``--repeats`` runs. Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from auction.timegrid import day_bounds  # noqa: E402
from benchmarks.common import machine, save_results  # noqa: E402
from benchmarks.disaggregate_day import DAY, Frames, synthetic_day  # noqa: E402
from dispatch.disaggregate import Disaggregation, disaggregate  # noqa: E402
from dispatch.fleet_day import prepare  # noqa: E402

TARGET_S = 2.0


def prices() -> pl.DataFrame:
    """A day-ahead-like curve: cheap at night and midday, dear in the evening (EUR/MWh)."""
    start, end = day_bounds(DAY)
    starts = pl.datetime_range(start, end, "15m", closed="left", time_zone="UTC", eager=True)
    hours = np.arange(starts.len()) / 4
    curve = 90 + 40 * np.sin((hours - 12) / 24 * 2 * np.pi) - 30 * np.exp(-((hours - 13) ** 2) / 8)
    return pl.DataFrame({"start": starts, "eur_per_mwh": np.round(curve, 2)})


def timed(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def figures(name: str, seconds: float, day: Disaggregation | None) -> dict[str, Any]:
    row: dict[str, Any] = {"variant": name, "total_s": seconds}
    if day is None:
        return row
    sold, bought = day.traded_kwh
    return row | {
        "status": day.status,
        "solve_s": day.solve_s,
        "sold_kwh": sold,
        "bought_kwh": bought,
        "short_kwh": float(day.shortfall["shortfall_kw"].abs().sum()) / 4,
        "breaching_assets": day.soc_breaches["asset_id"].n_unique(),
        "summary": day.summary,
    }


def scenario(frames: Frames, repeats: int) -> list[dict[str, Any]]:
    kwargs = frames.kwargs()
    curve = prices()
    variants: list[tuple[str, Callable[[], Any]]] = [
        ("prepare (arrays only)", lambda: prepare(**kwargs)),
        ("no plan (rebalance=false)", lambda: disaggregate(**kwargs)),
        ("plan, by traded energy", lambda: disaggregate(**kwargs, rebalance=True)),
        ("plan, against prices", lambda: disaggregate(**kwargs, rebalance=True, prices=curve)),
    ]
    rows = []
    for name, run in variants:
        seconds, out = timed(run, repeats)
        rows.append(figures(name, seconds, out if isinstance(out, Disaggregation) else None))
    return rows


def table(title: str, rows: list[dict[str, Any]]) -> Table:
    t = Table(title=title, title_justify="left")
    for column in ("variant", "total s", "solve s", "sold kWh", "bought kWh", "short kWh"):
        t.add_column(column, justify="left" if column == "variant" else "right")
    t.add_column("assets out of band", justify="right")
    for r in rows:
        t.add_row(
            r["variant"],
            f"{r['total_s']:.2f}",
            f"{r['solve_s']:.2f}" if "solve_s" in r else "",
            f"{r['sold_kwh']:,.1f}" if "sold_kwh" in r else "",
            f"{r['bought_kwh']:,.1f}" if "bought_kwh" in r else "",
            f"{r['short_kwh']:,.1f}" if "short_kwh" in r else "",
            str(r.get("breaching_assets", "")),
        )
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--assets", type=int, default=200)
    p.add_argument("--virtual-assets", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--save", action="store_true", help="write results/rebalance-<date>.json")
    args = p.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(machine())
    size = (args.seed, args.assets, args.virtual_assets)
    days = {
        "drained": synthetic_day(*size, 1.0, 0, 0.0, drain=0.3),
        "drained and stressed": synthetic_day(*size, 1.0, 10, 0.0, drain=0.3),
        "normal": synthetic_day(*size, 1.1, 5, 0.5),
    }
    results = {name: scenario(frames, args.repeats) for name, frames in days.items()}
    for name, rows in results.items():
        title = (
            f"{name} day: {args.assets} assets x {args.virtual_assets:,} virtual assets, "
            f"96 MTUs (median of {args.repeats})"
        )
        console.print(table(title, rows))
        console.print(f"  {rows[2]['summary']}")
    for name, rows in results.items():
        plan = max(rows[2]["total_s"], rows[3]["total_s"])
        mark = "[green]    met[/green]" if plan < TARGET_S else "[red]not met[/red]"
        console.print(f"  {mark}  {name} day: the plan < {TARGET_S:g} s: {plan:.2f} s")
    console.print(
        f"load {os.getloadavg()[0]:.2f} after the runs (above ~1 something else shared the cores)"
    )
    if args.save:
        path = save_results(
            "rebalance",
            {"args": vars(args), "load_after": os.getloadavg()[0], "days": results},
        )
        console.print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
