"""Disaggregation: the virtual wholesale schedules of a day, split onto the physical fleet.

Every wholesale block's schedule is split over the assets that back it, in proportion to
the power of their backing slices (the *target*). The assets then follow the target as
closely as their power, their state of charge and the reserves they carry allow, and
make up among themselves for what one of them cannot do: one LP over the day
(``dispatch.disaggregation_lp``) on the day's arrays (``dispatch.fleet_day``: limits,
reserve band, initial SoC, target). Where the split itself is feasible it is the optimum,
and no LP is solved (``split_holds``).

Where no SoC path can stay in the band (a derate faster than the power allows, reserves
holding more energy than a derated asset has), the band is widened just enough to keep the
LP feasible, and the MTUs outside it are reported with the reason.

With ``rebalance`` the operator's own trades close the gaps (``dispatch.rebalance``): the
plan is part of the setpoints, and the result lists the trades per MTU.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from auction.book import UTC_TIME
from clearing.highs import HIGHSPY_VERSION, Option
from dispatch.disaggregation_lp import (
    OPTIONS,
    LpNotSolved,
    build_disaggregation_lp,
    net_power,
    solve_lp,
)
from dispatch.fleet_day import FleetDay, prepare
from dispatch.rebalance import (
    CYCLING,
    UNSOLVED,
    breach_reasons,
    one_way,
    price_curve,
    trade_costs,
)

TOLERANCE_KW = 1e-6
TRADES = pl.Schema([("start", UTC_TIME), ("trade_kw", pl.Float64)])


@dataclass(frozen=True)
class Disaggregation:
    """Setpoints of the physical assets for one day, and what they fail to deliver.

    ``setpoints``: asset_id, start (MTU start, UTC), power_kw (positive discharges),
    soc_kwh (the SoC these setpoints leave at the end of the MTU), for every asset that
    backs a wholesale block in the day and every MTU, sorted. ``shortfall``: start,
    virtual_kw, physical_kw, shortfall_kw (virtual − physical), only MTUs where it exceeds
    1e-6 kW. ``soc_breaches``: asset_id, start, soc_kwh, lo_kwh, hi_kwh, reason where that
    SoC is outside its band: no setpoints could keep it in (an outage, a derate faster
    than the power allows, reserves holding more energy than a derated asset has), or
    only by charging and discharging an asset at once, which a setpoint cannot do.
    ``trades``: start, trade_kw (the rebalancing plan: positive sells, negative buys),
    only MTUs where it exceeds 1e-6 kW; empty without a plan. The setpoints then add up
    to the virtual total plus the trades.
    """

    setpoints: pl.DataFrame
    shortfall: pl.DataFrame
    soc_breaches: pl.DataFrame
    # HiGHS' model status ("Optimal"); or, without a solve, "no schedules" (all setpoints
    # 0) or "split followed" (the proportional split is feasible, hence optimal).
    status: str
    n_blocks: int
    n_mtu: int
    solve_s: float = 0.0
    options: dict[str, object] = field(default_factory=dict)
    trades: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=TRADES))
    rebalanced: bool = False
    mtu_minutes: int = 15

    @property
    def summary(self) -> str:
        """'200 assets follow 2,000 wholesale blocks over 96 MTUs; the fleet delivers every MTU'."""
        n_assets = self.setpoints["asset_id"].n_unique()
        head = (
            f"{n_assets:,} {_plural(n_assets, 'asset')} follow {self.n_blocks:,} wholesale "
            f"{_plural(self.n_blocks, 'block')} over {self.n_mtu} MTUs"
        )
        if self.shortfall.height == 0:
            tail = "the fleet delivers every MTU"
        else:
            worst = float(self.shortfall["shortfall_kw"].abs().max())  # type: ignore[arg-type]
            first = self.shortfall["start"][0].isoformat()
            tail = (
                f"the fleet is short by up to {worst:,.1f} kW in {self.shortfall.height} "
                f"{_plural(self.shortfall.height, 'MTU')} (first {first})"
            )
        if self.rebalanced:
            tail += "; " + self._plan_sentence()
        elif self.soc_breaches.height:
            n = self.soc_breaches["asset_id"].n_unique()
            tail += f"; {n} {_plural(n, 'asset')} cannot keep the SoC band in some MTUs"
        return f"{head}; {tail}"

    @property
    def traded_kwh(self) -> tuple[float, float]:
        """The plan's energy (kWh): sold, bought."""
        dt_h = self.mtu_minutes / 60
        kw = self.trades["trade_kw"]
        return float(kw.clip(0, None).sum()) * dt_h, float(-kw.clip(None, 0).sum()) * dt_h + 0.0

    def _plan_sentence(self) -> str:
        """'the operator's plan sells 120.0 kWh and buys 80.0 kWh in 14 MTUs; every asset
        keeps its reserve band', or names the assets that cannot, and why."""
        sold, bought = self.traded_kwh
        n = self.trades.height
        sides = [
            f"{verb} {kwh:,.1f} kWh" for verb, kwh in (("sells", sold), ("buys", bought)) if kwh
        ]
        plan = (
            f"the operator's plan {' and '.join(sides)} in {n} {_plural(n, 'MTU')}"
            if n
            else "the operator's plan trades nothing"
        )
        if self.soc_breaches.height == 0:
            return f"{plan}; every asset keeps its reserve band"
        first = (
            self.soc_breaches.sort("start", "asset_id")
            .group_by("asset_id", maintain_order=True)
            .agg(pl.col("start").first(), pl.col("reason").first(), pl.len())
        )
        named = [
            f"{r['asset_id']} from {r['start']:%H:%MZ} ({r['len']} {_plural(r['len'], 'MTU')}: "
            f"{r['reason']})"
            for r in first.head(3).iter_rows(named=True)
        ]
        more = f" and {first.height - 3} more" if first.height > 3 else ""
        k = first.height
        return (
            f"{plan}; {k} {_plural(k, 'asset')} cannot keep {_plural(k, 'its', 'their')} "
            f"reserve band: {', '.join(named)}{more}"
        )


def disaggregate(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    blocks: pl.DataFrame,
    backing: pl.DataFrame,
    schedules: pl.DataFrame,
    start: datetime,
    end: datetime,
    mtu_minutes: int = 15,
    options: Mapping[str, Option] | None = None,
    rebalance: bool = False,
    prices: pl.DataFrame | None = None,
) -> Disaggregation:
    """Setpoints of the physical fleet that follow the wholesale schedules of ``[start, end)``.

    ``rebalance``: add the operator's rebalancing plan (``dispatch.rebalance``), priced
    against ``prices`` (start, eur_per_mwh for every MTU) if given, else by traded energy.

    ``fleet`` and ``availability`` have the schemas of ``auction.book``; ``blocks``,
    ``backing`` and ``schedules`` those of ``dispatch.frames`` (the blocks of every market
    delivering in the day, their effective backing slices, the wholesale schedules).
    ``options`` override HiGHS options of ``OPTIONS`` (benchmarks).

    Raises
    ------
    DomainError
        The day is not a whole number of MTUs, a schedule names an unknown or non-wholesale
        block or an instant off the MTU grid, a slice names an asset not in the fleet, or
        the price curve misses an MTU.
    RuntimeError
        HiGHS did not solve the LP (without a plan; a plan falls back to the split within
        each asset's power, and says so in its status). The LP is feasible by
        construction (slack on the total, band widened where it cannot be kept), so this
        is a solver failure or its time limit, not a fault of the input.
    """
    day = prepare(fleet, availability, blocks, backing, schedules, start, end, mtu_minutes)
    curve = price_curve(prices, day.grid) if rebalance and prices is not None else None
    idle = not np.any(day.virtual) and not np.any(day.target)
    # Idle, the split leaves every SoC where it was; only a plan may move it into its band.
    if idle and not rebalance:
        return _result(day, np.zeros_like(day.target), "no schedules", 0.0, {}, rebalance)
    if split_holds(day):
        status = "no schedules" if idle else "split followed"
        return _result(day, day.target, status, 0.0, {}, rebalance)
    used = {**OPTIONS, **(options or {})}
    costs = trade_costs(day, curve) if rebalance else None
    t0 = time.perf_counter()
    lp = build_disaggregation_lp(day, costs)
    options_used: dict[str, object] = {**used, "highspy": HIGHSPY_VERSION}
    try:
        status, x = solve_lp(lp, used)
    except LpNotSolved as failed:
        if not rebalance:
            raise
        # A plan is useful at any limit: the split within each asset's power is valid, the
        # trades balance it, and whatever band it leaves is reported as a breach.
        power = np.clip(day.target, -day.c_max, day.d_max)
        status = f"{failed.status}: the split within each asset's power, not optimised"
        elapsed = time.perf_counter() - t0
        return _result(day, power, status, elapsed, options_used, rebalance, UNSOLVED)
    if rebalance:
        x = one_way(day, lp, x, used)
    solve_s = time.perf_counter() - t0
    return _result(day, net_power(day, x), status, solve_s, options_used, rebalance)


def split_holds(day: FleetDay) -> bool:
    """Whether every asset can follow its share of the split and nothing is lost.

    Then the split is the LP's unique optimum: each (asset, MTU) term of the separable
    objective is at its own minimum (following fully, nothing beyond, nothing against)
    and no slack is needed. So the LP need not be solved; most days are such days.
    """
    if np.any(np.abs(day.target.sum(axis=0) - day.virtual) > TOLERANCE_KW):
        return False  # a block is partly lost: others may make up for it
    if np.any(day.target > day.d_max + _tolerance(day.d_max)):
        return False
    if np.any(-day.target > day.c_max + _tolerance(day.c_max)):
        return False
    soc = planned_soc(day, day.target)
    return bool(np.all((soc >= day.lo - _tolerance(day.lo)) & (soc <= day.hi + _tolerance(day.hi))))


def _tolerance(bound: np.ndarray) -> np.ndarray:
    """1e-6, relative above 1: HiGHS keeps bounds to ~1e-7 of their size."""
    tol: np.ndarray = TOLERANCE_KW * np.maximum(1.0, np.abs(bound))
    return tol


def planned_soc(day: FleetDay, power: np.ndarray) -> np.ndarray:
    """The SoC at the end of every MTU that the net setpoints ``power`` (K, T) lead to.

    Not the LP's own SoC column: where nothing else could take an asset's energy, the LP
    may charge and discharge it at once to shed energy through its losses, which a net
    setpoint cannot do. The SoC of the setpoints is what will happen; a band it leaves
    is reported as a breach.
    """
    discharge, charge = np.maximum(power, 0.0), np.maximum(-power, 0.0)
    eta_c, eta_d = day.eta_charge[:, None], day.eta_discharge[:, None]
    step = (eta_c * charge - discharge / eta_d) * day.grid.dt_h
    soc: np.ndarray = day.initial_soc[:, None] + np.cumsum(step, axis=1)
    return soc


def _result(
    day: FleetDay,
    power: np.ndarray,
    status: str,
    solve_s: float,
    options: dict[str, object],
    rebalance: bool,
    otherwise: str = CYCLING,
) -> Disaggregation:
    """``otherwise``: the reason of a breach that a solved LP would not have left."""
    n_k, n_t = day.target.shape
    soc = planned_soc(day, power)
    starts = day.grid.starts()
    setpoints = pl.DataFrame(
        {
            "asset_id": np.repeat(np.array(day.asset_ids, dtype=object), n_t),
            "start": pl.concat([starts] * n_k) if n_k else starts.clear(),
            "power_kw": power.ravel(),
            "soc_kwh": soc.ravel(),
        },
        schema={
            "asset_id": pl.String,
            "start": UTC_TIME,
            "power_kw": pl.Float64,
            "soc_kwh": pl.Float64,
        },
    )
    physical = power.sum(axis=0)
    # The plan trades whatever the fleet delivers beyond (sells) or short of (buys) the
    # customers' total: nothing is left short.
    trade = physical - day.virtual if rebalance else np.zeros(n_t)
    trades = pl.DataFrame({"start": starts, "trade_kw": trade}, schema=TRADES).filter(
        pl.col("trade_kw").abs() > TOLERANCE_KW
    )
    shortfall = pl.DataFrame(
        {
            "start": starts,
            "virtual_kw": day.virtual,
            "physical_kw": physical,
            "shortfall_kw": day.virtual + trade - physical,
        },
        schema={
            "start": UTC_TIME,
            "virtual_kw": pl.Float64,
            "physical_kw": pl.Float64,
            "shortfall_kw": pl.Float64,
        },
    ).filter(pl.col("shortfall_kw").abs() > TOLERANCE_KW)
    out = (soc < day.lo - _tolerance(day.lo)) | (soc > day.hi + _tolerance(day.hi))
    k, t = np.nonzero(out)
    breaches = pl.DataFrame(
        {
            "asset_id": [day.asset_ids[i] for i in k.tolist()],
            "start": starts.gather(t),
            "soc_kwh": soc[k, t],
            "lo_kwh": day.lo[k, t],
            "hi_kwh": day.hi[k, t],
            "reason": breach_reasons(day, k, t, otherwise),
        },
        schema={
            "asset_id": pl.String,
            "start": UTC_TIME,
            "soc_kwh": pl.Float64,
            "lo_kwh": pl.Float64,
            "hi_kwh": pl.Float64,
            "reason": pl.String,
        },
    )
    return Disaggregation(
        setpoints=setpoints,
        shortfall=shortfall,
        soc_breaches=breaches,
        status=status,
        n_blocks=day.n_blocks,
        n_mtu=n_t,
        solve_s=solve_s,
        options=options,
        trades=trades,
        rebalanced=rebalance,
        mtu_minutes=day.grid.mtu_minutes,
    )


def _plural(n: int, word: str, many: str | None = None) -> str:
    return word if n == 1 else many or word + "s"
