"""Disaggregation benchmark: a day of 200 assets and 2,000 virtual assets, and baselines.

    python benchmarks/bench_disaggregate.py [--assets 200] [--virtual-assets 2000] [--seed 7]
                                      [--repeats 3]

Generates a seeded day (numpy ``default_rng``): assets of 1-10 MW, every virtual asset one
wholesale block (2 h) plus, for some, FCR and aFRR blocks, laid end to end over the
assets' power as the clearing lays them (a block rests on one or two assets), random
valid schedules (virtual SoC within [0, energy]), a few derates. Two such days: *normal*
(assets hold 10 % more energy than their blocks) and *stressed* (no spare energy, and ten
assets out for two hours with their blocks still on them). On each, side by side in the
same process:

- the proportional split alone, no LP (``prepare``: frames to arrays): the floor;
- the LP as first specified (deviation columns ``u, v`` and a target row per asset and
  MTU), with HiGHS' defaults;
- ``build_disaggregation_lp``'s LP (deviation as pieces of power, half the rows), HiGHS' defaults;
- the same with interior point without crossover;
- ``disaggregate()`` end to end, as shipped (dual simplex).

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

import numpy as np
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from benchmarks.common import machine, save_results  # noqa: E402
from benchmarks.disaggregate_day import Frames, synthetic_day  # noqa: E402
from dispatch import disaggregate as dis  # noqa: E402
from dispatch import disaggregation_lp as dlp  # noqa: E402
from dispatch import fleet_day  # noqa: E402

TARGET_S = 2.0


# --------------------------------------------------------------------------- the baseline LP


def uv_lp(day: fleet_day.FleetDay) -> dlp.DisaggregationLp:
    """The LP as first specified: ``d, c, s, u, v`` per asset and MTU, a target row each.

    ``d − c − u + v = target`` with cost ``1`` on ``u, v`` and ``ε`` on ``c, d``: the same
    objective as ``build_disaggregation_lp``'s, written with twice the rows.
    """
    n_k, n_t = day.target.shape
    n, dt = n_k * n_t, day.grid.dt_h
    n_cols = 5 * n + 2 * n_t
    i, t = np.arange(n), np.arange(n_t)
    k = i // n_t
    prev = i % n_t > 0
    soc = sp.csr_matrix(
        (
            np.concatenate(
                [
                    dt / day.eta_discharge[k],
                    -dt * day.eta_charge[k],
                    np.ones(n),
                    -np.ones(prev.sum()),
                ]
            ),
            (
                np.concatenate([i, i, i, i[prev]]),
                np.concatenate([i, n + i, 2 * n + i, 2 * n + i[prev] - 1]),
            ),
        ),
        shape=(n, n_cols),
    )
    target = sp.csr_matrix(
        (
            np.repeat([1.0, -1.0, -1.0, 1.0], n),
            (np.tile(i, 4), np.concatenate([i, n + i, 3 * n + i, 4 * n + i])),
        ),
        shape=(n, n_cols),
    )
    balance = sp.csr_matrix(
        (
            np.concatenate([np.ones(n), -np.ones(n), np.ones(n_t), -np.ones(n_t)]),
            (
                np.concatenate([i % n_t, i % n_t, t, t]),
                np.concatenate([i, n + i, 5 * n + t, 5 * n + n_t + t]),
            ),
        ),
        shape=(n_t, n_cols),
    )
    rhs = np.concatenate([np.where(prev, 0.0, day.initial_soc[k]), day.target.ravel(), day.virtual])
    zeros, inf = np.zeros(n), np.full(n, np.inf)
    return dlp.DisaggregationLp(
        c=np.concatenate(
            [np.full(2 * n, dlp.EPSILON), zeros, np.ones(2 * n), np.full(2 * n_t, dlp.BIG)]
        ),
        lb=np.concatenate([zeros, zeros, day.soc_min.ravel(), zeros, zeros, np.zeros(2 * n_t)]),
        ub=np.concatenate(
            [
                day.d_max.ravel(),
                day.c_max.ravel(),
                day.soc_max.ravel(),
                inf,
                inf,
                np.full(2 * n_t, np.inf),
            ]
        ),
        A=sp.vstack([soc, target, balance], format="csc"),
        row_lb=rhs,
        row_ub=rhs.copy(),
    )


# --------------------------------------------------------------------------- variants


def run_split(frames: Frames) -> dict[str, Any]:
    t0 = time.perf_counter()
    day = fleet_day.prepare(**frames.kwargs())
    return {"prepare_s": time.perf_counter() - t0, "power": day.target, "day": day, "status": "-"}


def run_lp(
    frames: Frames,
    build: Callable[[fleet_day.FleetDay], dlp.DisaggregationLp],
    uv: bool,
    options: dict[str, Any],
) -> dict[str, Any]:
    t0 = time.perf_counter()
    day = fleet_day.prepare(**frames.kwargs())
    t1 = time.perf_counter()
    lp = build(day)
    t2 = time.perf_counter()
    status, x = dlp.solve_lp(lp, {**dlp.OPTIONS, "solver": "choose", **options})
    t3 = time.perf_counter()
    n = day.target.size
    net = (x[:n] - x[n : 2 * n]).reshape(day.target.shape) if uv else dlp.net_power(day, x)
    return {
        "prepare_s": t1 - t0,
        "build_s": t2 - t1,
        "solve_s": t3 - t2,
        "power": net,
        "day": day,
        "status": status,
        "size": f"{lp.A.shape[1]:,} x {lp.A.shape[0]:,}",
    }


def run_shipped(frames: Frames) -> dict[str, Any]:
    t0 = time.perf_counter()
    result = dis.disaggregate(**frames.kwargs())
    total = time.perf_counter() - t0
    day = fleet_day.prepare(**frames.kwargs())
    power = result.setpoints["power_kw"].to_numpy().reshape(day.target.shape)
    return {
        "solve_s": result.solve_s,
        "total_s": total,
        "power": power,
        "day": day,
        "status": result.status,
        "summary": result.summary,
    }


def figures(run: dict[str, Any]) -> dict[str, Any]:
    """Deviation from the split and shortfall of a run's net setpoints."""
    day: fleet_day.FleetDay = run["day"]
    power: np.ndarray = run["power"]
    short = day.virtual - power.sum(axis=0)
    deviation = np.abs(power - day.target)
    return {
        "deviation_kwh": float(deviation.sum() * day.grid.dt_h),
        "deviating_assets": int((deviation.sum(axis=1) > 1e-6).sum()),
        "short_mtus": int((np.abs(short) > 1e-6).sum()),
        "short_max_kw": float(np.abs(short).max()),
    }


def measure(name: str, fn: Callable[[], dict[str, Any]], repeats: int) -> dict[str, Any]:
    runs = [fn() for _ in range(repeats)]
    out: dict[str, Any] = {
        "name": name,
        "status": runs[-1]["status"],
        "size": runs[-1].get("size", "-"),
    }
    for key in ("prepare_s", "build_s", "solve_s", "total_s"):
        if key in runs[0]:
            out[key] = statistics.median(r[key] for r in runs)
    if "total_s" not in out:
        out["total_s"] = sum(out.get(k, 0.0) for k in ("prepare_s", "build_s", "solve_s"))
    out.update(figures(runs[-1]))
    out["summary"] = runs[-1].get("summary")
    return out


def scenario(name: str, frames: Frames, repeats: int, console: Console) -> list[dict[str, Any]]:
    console.print(
        f"[bold]{name}[/bold]: {frames.fleet.height} assets, "
        f"{frames.blocks.filter(pl.col('market') == 'wholesale').height:,} wholesale blocks, "
        f"{frames.blocks.height:,} blocks, {frames.backing.height:,} slices, "
        f"{frames.schedules.height:,} schedule points, {frames.availability.height} derates"
    )
    shipped = {"solver": dlp.OPTIONS["solver"]}
    lp = dlp.build_disaggregation_lp
    variants: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("proportional split, no LP (floor)", lambda: run_split(frames)),
        ("u/v LP, HiGHS defaults", lambda: run_lp(frames, uv_lp, True, {})),
        ("u/v LP, dual simplex", lambda: run_lp(frames, uv_lp, True, shipped)),
        ("build_disaggregation_lp, HiGHS defaults", lambda: run_lp(frames, lp, False, {})),
        (
            "build_disaggregation_lp, dual simplex (shipped)",
            lambda: run_lp(frames, lp, False, shipped),
        ),
        (
            "build_disaggregation_lp, ipm, no crossover",
            lambda: run_lp(frames, lp, False, {"solver": "ipm", "run_crossover": "off"}),
        ),
        ("disaggregate() as shipped", lambda: run_shipped(frames)),
    ]
    rows = []
    for label, fn in variants:
        console.print(f"  {label} ...")
        rows.append(measure(label, fn, repeats))
    return rows


def table(title: str, rows: list[dict[str, Any]]) -> Table:
    t = Table(title=title)
    cols = (
        "variant",
        "cols x rows",
        "prepare s",
        "build s",
        "solve s",
        "total s",
        "status",
        "deviation kWh",
        "deviating assets",
        "short MTUs",
        "max short kW",
    )
    for col in cols:
        t.add_column(col, justify="left" if col in ("variant", "status") else "right")

    def s(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    for r in rows:
        t.add_row(
            r["name"],
            r["size"],
            s(r.get("prepare_s")),
            s(r.get("build_s")),
            s(r.get("solve_s")),
            s(r["total_s"]),
            r["status"],
            f"{r['deviation_kwh']:,.1f}",
            str(r["deviating_assets"]),
            str(r["short_mtus"]),
            f"{r['short_max_kw']:,.1f}",
        )
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--assets", type=int, default=200)
    p.add_argument("--virtual-assets", type=int, default=2000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--save", action="store_true", help="write results/disaggregate-<date>.json")
    args = p.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(machine())
    days = {
        "normal": synthetic_day(args.seed, args.assets, args.virtual_assets, 1.1, 5, 0.5),
        "stressed": synthetic_day(args.seed, args.assets, args.virtual_assets, 1.0, 10, 0.0),
    }
    results = {name: scenario(name, frames, args.repeats, console) for name, frames in days.items()}
    for name, rows in results.items():
        title = (
            f"{name} day: {args.assets} assets x {args.virtual_assets:,} virtual assets, "
            f"96 MTUs (median of {args.repeats})"
        )
        console.print(table(title, rows))
        console.print(f"  {rows[-1]['summary']}")
    for name, rows in results.items():
        total = rows[-1]["total_s"]
        mark = "[green]    met[/green]" if total < TARGET_S else "[red]not met[/red]"
        console.print(f"  {mark}  {name} day: disaggregate() < {TARGET_S:g} s: {total:.2f} s")
    console.print(
        f"load {os.getloadavg()[0]:.2f} after the runs (above ~1 something else shared the cores)"
    )
    if args.save:
        path = save_results(
            "disaggregate",
            {"args": vars(args), "load_after": os.getloadavg()[0], "days": results},
        )
        console.print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
