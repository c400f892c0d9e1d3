"""The operator's rebalancing plan: its own wholesale trades that keep the fleet in its bands.

The customers' schedules are fixed, and the fleet follows them as ``dispatch.disaggregate``
splits them. Where that would leave an asset outside the SoC band its reserve blocks need
(more energy taken out than the efficiencies put back, an outage that left energy where
it cannot stay, reserves that start later in the day), the operator trades on its own
balancing group: it buys to charge and sells to discharge, per MTU. The plan is the
disaggregation LP with its slack on the virtual total priced as those trades (``σ⁺`` a
buy, ``σ⁻`` a sell) instead of as a shortfall, so the fleet's physical total becomes the
customers' total plus the operator's trades:

    Σ_k (d_kt − c_kt) = P_t + sell_t − buy_t

A kW traded costs ``W`` per MTU, more than redistributing it among the assets does (2 at
most: one asset follows less, another more), so the fleet helps itself before the plan
trades. ``W`` stays below what shedding energy by charging and discharging one asset at
once would cost (``1 / (1 − η_c·η_d)`` per kW), which a net setpoint cannot do: so the
plan trades rather than cycle. A price curve tilts each MTU's costs by at most half of
``W``: buys go to the cheap MTUs and sells to the dear ones, and a round trip still costs
more than it earns, so the plan never trades for arbitrage.

Discharging an asset in an MTU where it also charges costs the LP no more than
discharging it in the next MTU, but a net setpoint cannot do both at once. Where the
solution does (``one_way``), those cells keep only their net direction and the LP is
solved again, at most ``REPAIRS`` times; what is left shows as a breach.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import polars as pl

from auction.errors import DomainError, Problem
from auction.timegrid import Grid, mtu_index_expr
from clearing.highs import Option, solve_arrays
from dispatch.disaggregation_lp import BIG, DisaggregationLp
from dispatch.fleet_day import FleetDay

FILE = "prices"
# Below 2 the plan would trade rather than move energy between assets; used only when
# the fleet's round trip is so lossy that the ceiling falls under it.
FLOOR = 2.5
TILT = 0.5  # the most a price moves a trade's cost, as a fraction of W
REPAIRS = 3
ONE_WAY_KW = 1e-6  # an asset that charges and discharges more than this at once cycles


def trade_costs(day: FleetDay, prices: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The cost per kW of a buy (``σ⁺``) and of a sell (``σ⁻``) in each MTU."""
    n_t = day.grid.n_mtu
    round_trip = day.eta_charge * day.eta_discharge
    worst = float(round_trip.min()) if round_trip.size else 1.0
    ceiling = 1.0 / max(1.0 - worst, 1e-6)
    tilt = TILT if prices is not None else 0.0
    weight = min(max(0.9 * ceiling / (1.0 + tilt), FLOOR), BIG / 2)
    if prices is None:
        return np.full(n_t, weight), np.full(n_t, weight)
    scale = max(float(np.abs(prices).max()), 1e-9)
    shift = tilt * weight * prices / scale
    return weight + shift, weight - shift


def price_curve(prices: pl.DataFrame, grid: Grid) -> np.ndarray:
    """EUR/MWh per MTU of ``grid`` from rows ``start, eur_per_mwh``: every MTU once.

    Raises
    ------
    DomainError
        A column is missing, a price is not a finite number, a start is off the grid or
        outside the day, an MTU has two prices or none.
    """
    missing = [c for c in ("start", "eur_per_mwh") if c not in prices.columns]
    if missing:
        rule = "the price curve needs the columns start and eur_per_mwh"
        raise DomainError([Problem(FILE, None, c, None, rule) for c in missing])
    rows = prices.select(
        "start", pl.col("eur_per_mwh").cast(pl.Float64, strict=False)
    ).with_row_index("row", offset=1)
    rows = rows.with_columns(
        t=mtu_index_expr(pl.col("start"), grid.start, grid.mtu_minutes),
        on_grid=grid.on_grid("start"),
    )
    n = grid.n_mtu
    broken = (
        (~pl.col("eur_per_mwh").is_finite().fill_null(False), "eur_per_mwh", "must be a number"),
        (
            ~pl.col("on_grid") | (pl.col("t") < 0) | (pl.col("t") >= n),
            "start",
            f"must start one of the day's {n} MTUs",
        ),
        (pl.col("t").is_duplicated(), "start", "an MTU has two prices"),
    )
    problems = [
        Problem(FILE, r["row"], column, str(r[column]), rule)
        for where, column, rule in broken
        for r in rows.filter(where).head(5).iter_rows(named=True)
    ]
    if problems:
        raise DomainError(problems)
    curve = np.full(n, np.nan)
    curve[rows["t"].to_numpy()] = rows["eur_per_mwh"].to_numpy()
    if np.isnan(curve).any():
        first = grid.starts()[int(np.flatnonzero(np.isnan(curve))[0])]
        rule = "every MTU of the day needs a price"
        raise DomainError([Problem(FILE, None, "start", first.isoformat(), rule)])
    return curve


def one_way(
    day: FleetDay, lp: DisaggregationLp, x: np.ndarray, options: Mapping[str, Option]
) -> np.ndarray:
    """The LP's solution ``x`` with no asset charging and discharging in one MTU, where
    forbidding the smaller direction of those cells and solving again finds one."""
    n = day.target.size
    ub = lp.ub.copy()
    for _ in range(REPAIRS):
        discharge, charge = x[:n] + x[n : 2 * n], x[2 * n : 3 * n] + x[3 * n : 4 * n]
        both = np.minimum(discharge, charge) > ONE_WAY_KW
        if not both.any():
            break
        for piece, keep_charge in ((0, True), (1, True), (2, False), (3, False)):
            mask = both & ((discharge <= charge) == keep_charge)
            ub[piece * n : (piece + 1) * n][mask] = 0.0
        again = replace(lp, ub=ub.copy())
        status, y = solve_arrays(
            again.c,
            again.lb,
            again.ub,
            again.A,
            again.row_lb,
            again.row_ub,
            sense="minimise",
            options=options,
        )
        if status != "Optimal" or y is None:
            break  # keep the last solution: its breaches are reported
        x = y
    return x


# Why an asset is outside its band, in the order they are tested.
OUT = "it is out of service, so its energy cannot move"
CROWDED = "its reserves hold more energy than its derated range"
TOO_FAST = "its band moves faster than its power can follow"
CYCLING = "keeping it would charge and discharge it at once, which a setpoint cannot do"
UNSOLVED = "the plan was not optimised (the solver stopped early)"


def breach_reasons(
    day: FleetDay, k: np.ndarray, t: np.ndarray, otherwise: str = CYCLING
) -> list[str]:
    """Why asset ``k`` leaves its band in MTU ``t`` (arrays of breaches); ``otherwise``
    where the band could have been kept."""
    lo, hi = day.lo[k, t], day.hi[k, t]
    tol = 1e-6 * np.maximum(1.0, np.maximum(np.abs(lo), np.abs(hi)))
    widened = (day.soc_min[k, t] < lo - tol) | (day.soc_max[k, t] > hi + tol)
    chosen = np.select(
        [day.available[k, t] == 0, lo > hi, widened], [OUT, CROWDED, TOO_FAST], otherwise
    )
    return [str(r) for r in chosen]
