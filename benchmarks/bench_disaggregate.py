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
from dataclasses import dataclass
from datetime import date, timedelta
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

from auction.book import AVAILABILITY, FLEET  # noqa: E402
from auction.timegrid import day_bounds  # noqa: E402
from benchmarks.common import machine, save_results  # noqa: E402
from dispatch import disaggregate as dis  # noqa: E402
from dispatch import disaggregation_lp as dlp  # noqa: E402
from dispatch import fleet_day  # noqa: E402
from dispatch.frames import BACKING_SLICES, BLOCKS, SCHEDULES  # noqa: E402

TARGET_S = 2.0
DAY = date(2026, 11, 29)
ZONE = "10YDE-EON------1"
MARKETS = ("wholesale", "fcr", "afrr_pos", "afrr_neg")
HOURS = {"wholesale": 2.0, "fcr": 0.5, "afrr_pos": 1.0, "afrr_neg": 1.0}  # energy per kW


@dataclass(frozen=True)
class Frames:
    fleet: pl.DataFrame
    availability: pl.DataFrame
    blocks: pl.DataFrame
    backing: pl.DataFrame
    schedules: pl.DataFrame

    def kwargs(self) -> dict[str, Any]:
        start, end = day_bounds(DAY)
        return {
            "fleet": self.fleet,
            "availability": self.availability,
            "blocks": self.blocks,
            "backing": self.backing,
            "schedules": self.schedules,
            "start": start,
            "end": end,
        }


# --------------------------------------------------------------------------- the day


def synthetic_day(
    seed: int, n_assets: int, n_virtual: int, energy_margin: float, outages: int, fraction: float
) -> Frames:
    """A valid day: blocks sized to the fleet's power, assets sized to their blocks' energy."""
    rng = np.random.default_rng(seed)
    start, end = day_bounds(DAY)
    mtu = timedelta(minutes=15)
    n_mtu = (end - start) // mtu
    edges = [start + k * mtu for k in range(n_mtu + 1)]
    p_kw = rng.choice([1000, 2000, 2500, 5000, 10000], n_assets)
    asset_ids = [f"asset-{i:04d}" for i in range(n_assets)]

    # Virtual assets: wholesale W, FCR 0.2 W for 30 %, aFRR +/- 0.2 W for 20 %; their
    # footprints fill 95 % of the fleet's power.
    weight = rng.uniform(0.5, 1.5, n_virtual)
    has_fcr, has_afrr = rng.random(n_virtual) < 0.3, rng.random(n_virtual) < 0.2
    scale = 0.95 * p_kw.sum() / (weight * (1 + 0.2 * has_fcr + 0.2 * has_afrr)).sum()
    power = {"wholesale": np.maximum(np.floor(weight * scale), 1).astype(np.int64)}
    power["fcr"] = np.where(has_fcr, np.round(0.2 * power["wholesale"]), 0).astype(np.int64)
    power["afrr_pos"] = np.where(has_afrr, np.round(0.2 * power["wholesale"]), 0).astype(np.int64)
    power["afrr_neg"] = power["afrr_pos"]
    energy = {m: np.round(HOURS[m] * power[m]).astype(np.int64) for m in MARKETS}
    footprint = power["wholesale"] + power["fcr"] + power["afrr_pos"]

    # Windows: the whole day for a third, else one of six 4-hour products.
    kind = rng.integers(0, 9, n_virtual)
    first = np.where(kind < 3, 0, (kind - 3) * 16)
    last = np.where(kind < 3, n_mtu, np.minimum((kind - 2) * 16, n_mtu))
    last = np.where(kind == 8, n_mtu, last)

    # Lay virtual assets and assets end to end on one line of kW (as clearing.assets does).
    va_hi, as_hi = np.cumsum(footprint), np.cumsum(p_kw)
    va_lo, as_lo = va_hi - footprint, as_hi - p_kw
    cuts = np.unique(np.concatenate([va_lo, va_hi, as_lo, as_hi]))
    lo, hi = cuts[:-1], cuts[1:]
    v = np.searchsorted(va_lo, lo, side="right") - 1
    a = np.searchsorted(as_lo, lo, side="right") - 1
    keep = (v >= 0) & (hi <= va_hi[v.clip(0)]) & (hi <= as_hi[a.clip(0, n_assets - 1)])
    lo, hi, v, a = lo[keep], hi[keep], v[keep], a[keep]
    share_lo, share_hi = (lo - va_lo[v]) / footprint[v], (hi - va_lo[v]) / footprint[v]

    blocks, backing = [], []
    for m in MARKETS:
        blocks.extend(
            {
                "block_id": f"va-{b:05d}/{m}",
                "product_id": f"p{kind[b]}",
                "market": m,
                "power_kw": int(power[m][b]),
                "energy_kwh": int(energy[m][b]),
                "start": edges[first[b]],
                "end": edges[last[b]],
                "tso_zone": ZONE,
                "initial_soc_kwh": float(energy[m][b] // 2) if m == "wholesale" else 0.0,
            }
            for b in np.flatnonzero(power[m])
        )

        def part(total: np.ndarray, v: np.ndarray = v) -> np.ndarray:
            cut: np.ndarray = np.round(total[v] * share_hi) - np.round(total[v] * share_lo)
            return cut.astype(np.int64)

        kw, kwh = part(power[m]), part(energy[m])
        for j in np.flatnonzero(kw > 0):
            b = v[j]
            backing.append(
                {
                    "block_id": f"va-{b:05d}/{m}",
                    "asset_id": asset_ids[a[j]],
                    "start": edges[first[b]],
                    "end": edges[last[b]],
                    "power_kw": int(kw[j]),
                    "energy_kwh": int(kwh[j]),
                }
            )
    backing_frame = pl.DataFrame(backing, schema=BACKING_SLICES)
    need = dict(backing_frame.group_by("asset_id").agg(pl.col("energy_kwh").sum()).iter_rows())
    fleet = pl.DataFrame(
        [
            {
                "asset_id": asset_id,
                "tso_zone": ZONE,
                "p_charge_mw": p / 1000,
                "p_discharge_mw": p / 1000,
                "e_min_mwh": 0.0,
                "e_max_mwh": max(np.ceil(need.get(asset_id, 0) * energy_margin), p) / 1000,
                "fcr": True,
                "afrr_pos": True,
                "afrr_neg": True,
                "owner_org": None,
                "eta_charge": 0.95,
                "eta_discharge": 0.95,
            }
            for asset_id, p in zip(asset_ids, p_kw.tolist(), strict=True)
        ],
        schema=FLEET,
    )
    return Frames(
        fleet=fleet,
        availability=_outages(rng, asset_ids, edges, outages, fraction),
        blocks=pl.DataFrame(blocks, schema=BLOCKS),
        backing=backing_frame,
        schedules=_schedules(rng, power["wholesale"], energy["wholesale"], first, last, edges),
    )


def _schedules(
    rng: np.random.Generator,
    power: np.ndarray,
    energy: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    edges: list[Any],
) -> pl.DataFrame:
    """A persistent random walk per block, clipped so the virtual SoC stays in [0, energy]."""
    dt_h = 0.25
    soc = (energy // 2).astype(np.float64)
    level = rng.uniform(-1, 1, len(power))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for t in range(len(edges) - 1):
        level = np.clip(0.8 * level + 0.4 * rng.uniform(-1, 1, len(power)), -1, 1)
        kw = np.round(level * power)
        kw = np.clip(kw, np.ceil(-(energy - soc) / dt_h), np.floor(soc / dt_h))
        kw = np.where((first <= t) & (t < last), kw, 0).astype(np.int64)
        soc -= kw * dt_h
        nz = np.flatnonzero(kw)
        parts.append((nz, np.full(len(nz), t), kw[nz]))
    b, t, kw = (np.concatenate(x) for x in zip(*parts, strict=True))
    return pl.DataFrame(
        {
            "block_id": [f"va-{i:05d}/wholesale" for i in b.tolist()],
            "start": [edges[i] for i in t.tolist()],
            "power_kw": kw,
        },
        schema=SCHEDULES,
    )


def _outages(
    rng: np.random.Generator, asset_ids: list[str], edges: list[Any], n: int, fraction: float
) -> pl.DataFrame:
    """``n`` assets at ``fraction`` for two hours somewhere in the day."""
    rows = []
    for k in rng.choice(len(asset_ids), n, replace=False).tolist():
        t = int(rng.integers(0, len(edges) - 9))
        rows.append(
            {
                "asset_id": asset_ids[k],
                "start": edges[t],
                "end": edges[t + 8],
                "available_fraction": fraction,
            }
        )
    return pl.DataFrame(rows, schema=AVAILABILITY)


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
