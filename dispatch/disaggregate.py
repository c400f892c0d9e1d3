"""Disaggregation: the virtual wholesale schedules of a day, split onto the physical fleet.

Every wholesale block's schedule is split over the assets that back it, in proportion to
the power of their backing slices (the *target*). The assets then follow the target as
closely as their power, their state of charge and the reserves they carry allow, and
make up among themselves for what one of them cannot do. One LP over the day, per asset
``k`` and MTU ``t`` (powers kW, energies kWh, ``Δt`` in hours)::

    min  BIG·Σ_t (σ⁺_t + σ⁻_t) + Σ_kt (u_kt + v_kt) + ε·Σ_kt (c_kt + d_kt)
    s.t. s_kt = s_k,t−1 + (η_c·c_kt − d_kt/η_d)·Δt          (state of charge, end of t)
         d_kt − c_kt − u_kt + v_kt = target_kt               (deviation from the split)
         Σ_k (d_kt − c_kt) + σ⁺_t − σ⁻_t = P_t               (the virtual total)
         0 <= d_kt <= a_kt·p_dis_k − up_kt,  0 <= c_kt <= a_kt·p_ch_k − down_kt
         lo_kt <= s_kt <= hi_kt,  u, v, σ⁺, σ⁻ >= 0

``build_disaggregation_lp`` writes ``u`` and ``v`` as pieces of ``d`` and ``c`` (half the
rows; the same objective wherever an asset does not charge and discharge at once). Where
the split itself is feasible it is the optimum, and no LP is solved (``split_holds``).

Reserve blocks occupy the assets that back them (docs/clearing.md's capacity rows, per
MTU): ``up = fcr + afrr_pos`` and ``down = fcr + afrr_neg`` kW of headroom stay free, and
the SoC stays in ``lo = e_min + fcr_e/2 + afrr_pos_e``, ``hi = e_min + a·(e_max − e_min) −
fcr_e/2 − afrr_neg_e`` (an FCR block's energy is symmetric, aFRR up must stay stored,
aFRR down must stay free; availability scales power and the usable energy range). An asset
that is out altogether keeps its SoC: only ``[e_min, e_max]`` binds it then.

The initial physical SoC is the middle of the first MTU's band plus, for every wholesale
slice active in the first MTU, ``slice_energy·(initial_soc/energy − 0.5)``: with the
blocks' energies laid side by side in the band, each around its middle, that is the state
every block of the first MTU expects to start from.

Where no SoC path can stay in the band (a derate faster than the power allows, reserves
holding more energy than a derated asset has), the band is widened just enough to keep the
LP feasible, and the MTUs outside it are reported. Built as arrays (scipy.sparse) and
handed to HiGHS in one call, through clearing.highs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import polars as pl
import scipy.sparse as sp

from auction.book import UTC_TIME, numbered
from auction.errors import DomainError, Problem
from auction.timegrid import Grid, availability_matrix, mtu_index_expr, whole_mtus
from clearing.highs import HIGHSPY_VERSION, Option, solve_arrays

# Shortfall first, then the deviation from the split: covering 1 kW of shortfall costs
# a few kW-MTUs of deviation at most (shift energy earlier or later), far below BIG.
BIG = 1_000.0
# Throughput. Below 1, so that following the split always pays. Not small: an asset may
# also shed energy by charging and discharging at once (a net setpoint cannot do that)
# at 2ε per kW cycled, which sheds (1 − η_c·η_d)/η_d·Δt kWh; deviating, with another
# asset covering, costs 2 per kW and sheds Δt/η_d kWh. At 0.5 cycling is the dearer way
# for any round-trip efficiency above 50 % (with ε = 1e-3 the LP cycled assets of the
# benchmark day rather than redistribute).
EPSILON = 0.5
# Dual simplex, pinned: HiGHS' "choose" picks it too, but the solver decides which of
# equally good redistributions comes back. 0.4-0.65 s on the benchmark day, against
# 0.85-1.3 s for interior point and 4 s for primal simplex (benchmarks/bench_disaggregate.py).
OPTIONS: dict[str, Option] = {"solver": "simplex", "time_limit": 60.0}
TOLERANCE_KW = 1e-6
FILE = "disaggregate"
RESERVES = ("fcr", "afrr_pos", "afrr_neg")


@dataclass(frozen=True)
class FleetDay:
    """What the LP needs, as arrays over the assets (rows, by asset_id) and MTUs (columns).

    ``lo``/``hi`` are the SoC band as the reserves and availability ask for it (``lo > hi``
    where a derate leaves too little energy); ``soc_min``/``soc_max`` the band the LP
    uses, the former clamped and widened just enough that the SoC can stay in it (see
    ``_reachable_band``).
    """

    grid: Grid
    asset_ids: list[str]
    n_blocks: int  # wholesale blocks delivering in the day
    d_max: np.ndarray  # kW, discharge, net of the upward reserve headroom
    c_max: np.ndarray  # kW, charge, net of the downward reserve headroom
    lo: np.ndarray
    hi: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    eta_charge: np.ndarray  # per asset
    eta_discharge: np.ndarray
    initial_soc: np.ndarray  # per asset, kWh, at the start of the day
    target: np.ndarray  # kW, the proportional split
    virtual: np.ndarray  # kW per MTU, the sum of all schedules


@dataclass(frozen=True)
class DisaggregationLp:
    """min c·x  s.t.  row_lb <= A x <= row_ub,  lb <= x <= ub.

    Columns: ``d_f, d_b, c_f, c_b, s`` (each asset-major, ``k·T + t``; discharge and
    charge following the split and beyond it, SoC), then ``σ⁺, σ⁻`` per MTU.
    """

    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    A: sp.csc_matrix
    row_lb: np.ndarray
    row_ub: np.ndarray


@dataclass(frozen=True)
class Disaggregation:
    """Setpoints of the physical assets for one day, and what they fail to deliver.

    ``setpoints``: asset_id, start (MTU start, UTC), power_kw (positive discharges),
    soc_kwh (the SoC these setpoints leave at the end of the MTU), for every asset that
    backs a wholesale block in the day and every MTU, sorted. ``shortfall``: start,
    virtual_kw, physical_kw, shortfall_kw (virtual − physical), only MTUs where it exceeds
    1e-6 kW. ``soc_breaches``: asset_id, start, soc_kwh, lo_kwh, hi_kwh where that SoC is
    outside its band: no setpoints could keep it in (a derate faster than the power
    allows, reserves holding more energy than a derated asset has), or only by charging
    and discharging an asset at once, which a setpoint cannot do.
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
        if self.soc_breaches.height:
            n = self.soc_breaches["asset_id"].n_unique()
            tail += f"; {n} {_plural(n, 'asset')} cannot keep the SoC band in some MTUs"
        return f"{head}; {tail}"


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
) -> Disaggregation:
    """Setpoints of the physical fleet that follow the wholesale schedules of ``[start, end)``.

    ``fleet`` and ``availability`` have the schemas of ``auction.book``; ``blocks``,
    ``backing`` and ``schedules`` those of ``dispatch.frames`` (the blocks of every market
    delivering in the day, their effective backing slices, the wholesale schedules).
    ``options`` override HiGHS options of ``OPTIONS`` (benchmarks).

    Raises
    ------
    DomainError
        The day is not a whole number of MTUs, a schedule names an unknown or non-wholesale
        block or an instant off the MTU grid, or a slice names an asset not in the fleet.
    RuntimeError
        HiGHS did not solve the LP. The LP is feasible by construction (slack on the
        total, band widened where it cannot be kept), so this is a solver failure, not
        a fault of the input, and not a DomainError.
    """
    day = prepare(fleet, availability, blocks, backing, schedules, start, end, mtu_minutes)
    if not np.any(day.virtual) and not np.any(day.target):
        return _result(day, np.zeros_like(day.target), "no schedules", 0.0, {})
    if split_holds(day):
        return _result(day, day.target, "split followed", 0.0, {})
    used = {**OPTIONS, **(options or {})}
    t0 = time.perf_counter()
    status, x = solve_lp(build_disaggregation_lp(day), used)
    solve_s = time.perf_counter() - t0
    return _result(day, net_power(day, x), status, solve_s, {**used, "highspy": HIGHSPY_VERSION})


# --------------------------------------------------------------------------- the day as arrays


def prepare(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    blocks: pl.DataFrame,
    backing: pl.DataFrame,
    schedules: pl.DataFrame,
    start: datetime,
    end: datetime,
    mtu_minutes: int = 15,
) -> FleetDay:
    """The limits, band, initial SoC and target of every asset that backs a wholesale block.

    Every frame is sorted canonically first, so the arrays (and the LP) do not depend on
    the order of the input rows.
    """
    grid = _grid(start, end, mtu_minutes)
    slices = _slices(blocks, backing, grid)
    is_wholesale = pl.col("market") == "wholesale"
    asset_ids = slices.filter(is_wholesale)["asset_id"].unique().sort().to_list()
    assets = (
        pl.DataFrame({"asset_id": asset_ids}, schema={"asset_id": pl.String})
        .join(fleet, on="asset_id", how="left")
        .sort("asset_id")
    )
    missing = assets.filter(pl.col("p_discharge_mw").is_null())["asset_id"].to_list()
    if missing:
        rule = "a backing slice names an asset that is not in the fleet"
        raise DomainError([Problem(FILE, None, "asset_id", a, rule) for a in missing])
    asset_k = numbered(asset_ids, "asset_id", "k")
    slices = slices.join(asset_k, on="asset_id", how="inner", maintain_order="left")
    wholesale = slices.filter(is_wholesale)
    n_k, n_t = len(asset_ids), grid.n_mtu

    def per_asset(market: str, column: str) -> np.ndarray:
        """Σ ``column`` of the market's slices on each asset in each MTU (integers: exact)."""
        rows = slices.filter(pl.col("market") == market)
        diff = np.zeros((n_k, n_t + 1))
        k = rows["k"].to_numpy()
        np.add.at(diff, (k, rows["t0"].to_numpy()), rows[column].to_numpy())
        np.add.at(diff, (k, rows["t1"].to_numpy()), -rows[column].to_numpy())
        return np.cumsum(diff, axis=1)[:, :n_t]

    a = availability_matrix(availability, asset_ids, grid)
    p_dis = assets["p_discharge_mw"].to_numpy()[:, None] * 1000
    p_ch = assets["p_charge_mw"].to_numpy()[:, None] * 1000
    e_min = assets["e_min_mwh"].to_numpy()[:, None] * 1000
    e_max = assets["e_max_mwh"].to_numpy()[:, None] * 1000
    fcr_kw, pos_kw, neg_kw = (per_asset(m, "power_kw") for m in RESERVES)
    fcr_e, pos_e, neg_e = (per_asset(m, "energy_kwh") for m in RESERVES)
    # Reserves beyond a derated power leave nothing for wholesale, not a negative bound.
    d_max = np.maximum(a * p_dis - fcr_kw - pos_kw, 0.0)
    c_max = np.maximum(a * p_ch - fcr_kw - neg_kw, 0.0)
    top = e_min + a * (e_max - e_min)
    lo = e_min + fcr_e / 2 + pos_e
    hi = top - fcr_e / 2 - neg_e
    # lo > hi: the reserves hold more energy than a derated asset has. Then aim for the
    # middle of the two (both reserve directions fail alike), inside the physical range:
    # the LP stays feasible and the breach is reported.
    mid = np.clip((lo + hi) / 2, e_min, top)
    band_lo, band_hi = np.where(lo > hi, mid, lo), np.where(lo > hi, mid, hi)
    # An asset that is out (a = 0) has no power: its SoC stays where it was, whatever
    # band its derated energy would give. Only the physical range binds then.
    out = a == 0
    band_lo, band_hi = np.where(out, e_min, band_lo), np.where(out, e_max, band_hi)

    eta_c = assets["eta_charge"].fill_null(0.95).to_numpy()
    eta_d = assets["eta_discharge"].fill_null(0.95).to_numpy()
    target, virtual, n_blocks = _targets(wholesale, schedules, blocks, grid, n_k)
    first = wholesale.filter((pl.col("t0") == 0) & (pl.col("block_energy_kwh") > 0))
    offset = np.zeros(n_k)
    expected = pl.col("initial_soc_kwh") / pl.col("block_energy_kwh") - 0.5
    np.add.at(
        offset,
        first["k"].to_numpy(),
        first.select(pl.col("energy_kwh") * expected).to_series().to_numpy(),
    )
    initial = (band_lo[:, 0] + band_hi[:, 0]) / 2 + offset
    soc_min, soc_max = _reachable_band(
        band_lo,
        band_hi,
        initial,
        eta_c[:, None] * c_max * grid.dt_h,
        d_max * grid.dt_h / eta_d[:, None],
    )
    return FleetDay(
        grid=grid,
        asset_ids=asset_ids,
        n_blocks=n_blocks,
        d_max=d_max,
        c_max=c_max,
        lo=lo,
        hi=hi,
        soc_min=soc_min,
        soc_max=soc_max,
        eta_charge=eta_c,
        eta_discharge=eta_d,
        initial_soc=initial,
        target=target,
        virtual=virtual,
    )


def _grid(start: datetime, end: datetime, mtu_minutes: int) -> Grid:
    problems = [
        Problem(FILE, None, name, str(value), "must carry a UTC offset")
        for name, value in (("start", start), ("end", end))
        if value.tzinfo is None
    ]
    if problems:
        raise DomainError(problems)
    n_mtu = whole_mtus(start, end, mtu_minutes)
    if n_mtu is None:
        rule = f"the day [start, end) must be a positive whole number of {mtu_minutes}-minute MTUs"
        raise DomainError([Problem(FILE, None, "end", end.isoformat(), rule)])
    return Grid(start.astimezone(UTC), n_mtu, mtu_minutes)


def _slices(blocks: pl.DataFrame, backing: pl.DataFrame, grid: Grid) -> pl.DataFrame:
    """Backing slices with their block's terms and the MTUs ``[t0, t1)`` they are active in.

    A slice is active where both it and its block's window are. Wholesale: in the MTUs
    whose start it covers (the slice that holds at an MTU's start carries that MTU, so
    consecutive slices never count twice). Reserves: in every MTU it touches, as a row
    of availability does, since their capacity must hold all through the MTU.
    """
    terms = blocks.select(
        "block_id",
        "market",
        block_power_kw="power_kw",
        block_energy_kwh="energy_kwh",
        initial_soc_kwh="initial_soc_kwh",
        block_start="start",
        block_end="end",
    )
    joined = backing.join(terms, on="block_id", how="inner").with_columns(
        on=pl.max_horizontal("start", "block_start"),
        off=pl.min_horizontal("end", "block_end"),
    )
    wholesale = pl.col("market") == "wholesale"
    return (
        joined.with_columns(
            t0=pl.when(wholesale)
            .then(grid.index("on", ceil=True))
            .otherwise(grid.index("on", ceil=False)),
            t1=grid.index("off", ceil=True),
        )
        .filter((pl.col("t1") > pl.col("t0")) & (pl.col("off") > pl.col("on")))
        .select(
            "block_id",
            "asset_id",
            "market",
            "power_kw",
            "energy_kwh",
            "block_power_kw",
            "block_energy_kwh",
            pl.col("initial_soc_kwh").fill_null(0.0),
            "t0",
            "t1",
        )
        .sort("block_id", "asset_id", "t0", "t1", "power_kw", "energy_kwh")
    )


def _targets(
    wholesale: pl.DataFrame,
    schedules: pl.DataFrame,
    blocks: pl.DataFrame,
    grid: Grid,
    n_k: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The proportional split per asset and MTU, the virtual total per MTU, the blocks.

    Each slice takes ``power_kw / block_power_kw`` of its block's schedule: over the
    block's full power, so the part of a block that nobody backs is not aimed at.
    """
    in_day = blocks.filter(
        (pl.col("market") == "wholesale")
        & (pl.col("start") < grid.end)
        & (pl.col("end") > grid.start)
    )
    in_day = in_day.unique("block_id").sort("block_id").with_row_index("b")
    points = _schedule_points(schedules, in_day, grid)
    q = np.zeros((in_day.height, grid.n_mtu))
    q[points["b"].to_numpy(), points["t"].to_numpy()] = points["power_kw"].to_numpy()
    virtual = q.sum(axis=0)

    rows = wholesale.filter(pl.col("block_power_kw") > 0).join(
        in_day.select("block_id", "b"), on="block_id", how="inner", maintain_order="left"
    )
    b = rows["b"].to_numpy()
    t = np.arange(grid.n_mtu)
    active = (rows["t0"].to_numpy()[:, None] <= t) & (t < rows["t1"].to_numpy()[:, None])
    share = (rows["power_kw"] / rows["block_power_kw"]).to_numpy()[:, None]
    per_slice = np.where(active, q[b] * share, 0.0)
    # Σ over the slices of each asset, as one sparse product (summed in slice order).
    owner = sp.csr_matrix(
        (np.ones(rows.height), (rows["k"].to_numpy(), np.arange(rows.height))),
        shape=(n_k, rows.height),
    )
    target = np.asarray(owner @ per_slice) if rows.height else np.zeros((n_k, grid.n_mtu))
    return target, virtual, in_day.height


def _schedule_points(schedules: pl.DataFrame, blocks: pl.DataFrame, grid: Grid) -> pl.DataFrame:
    """The schedule points of the day as (block row ``b``, MTU ``t``, power_kw); checked.

    ``blocks``: the wholesale blocks of the day with their row ``b``, start and end.
    """
    windows = blocks.select(
        "block_id", pl.col("b").cast(pl.Int64), block_start="start", block_end="end"
    )
    points = (
        schedules.filter((pl.col("start") >= grid.start) & (pl.col("start") < grid.end))
        .join(windows, on="block_id", how="left")
        .with_columns(
            t=mtu_index_expr(pl.col("start"), grid.start, grid.mtu_minutes),
            outside=(pl.col("start") < pl.col("block_start"))
            | (pl.col("start") >= pl.col("block_end")),
            on_grid=grid.on_grid("start"),
            twice=pl.struct("block_id", "start").is_duplicated(),
        )
        .sort("block_id", "start")
    )
    broken = (
        (pl.col("b").is_null(), "block_id", "a schedule names no wholesale block of the day"),
        (
            ~pl.col("on_grid"),
            "start",
            f"a schedule point must start an MTU: a whole number of {grid.mtu_minutes} "
            f"minutes after {grid.start.isoformat()}",
        ),
        (pl.col("outside"), "start", "a schedule point must lie in its block's window"),
        (pl.col("twice"), "start", "a block has two schedule points for this MTU"),
    )
    problems = [
        Problem(FILE, None, column, str(value), rule)
        for where, column, rule in broken
        for value in points.filter(where)[column].unique(maintain_order=True)
    ]
    if problems:
        raise DomainError(problems)
    return points.select("b", "t", "power_kw")


def _reachable_band(
    lo: np.ndarray, hi: np.ndarray, initial: np.ndarray, up: np.ndarray, down: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The band ``[lo, hi]`` widened just enough that some SoC path stays in it.

    Forward over the MTUs, all assets at once: the SoCs reachable at the end of MTU t
    are those of t−1 moved by at most ``up`` (charge) or ``down`` (discharge), inside the
    band. Where none is inside (a derate faster than the power allows, or an initial SoC
    outside the band), the reachable SoC nearest to the band is added to it. Every band
    then holds a reachable set, so the LP is feasible; an SoC outside ``[lo, hi]`` shows
    as a breach in the result.
    """
    soc_min, soc_max = lo.copy(), hi.copy()
    r_lo, r_hi = initial.copy(), initial.copy()
    for t in range(lo.shape[1]):
        move_lo, move_hi = r_lo - down[:, t], r_hi + up[:, t]
        r_lo, r_hi = np.maximum(move_lo, lo[:, t]), np.minimum(move_hi, hi[:, t])
        empty = r_lo > r_hi
        if empty.any():
            nearest = np.where(move_lo > hi[:, t], move_lo, move_hi)
            r_lo, r_hi = np.where(empty, nearest, r_lo), np.where(empty, nearest, r_hi)
            soc_min[:, t] = np.minimum(soc_min[:, t], r_lo)
            soc_max[:, t] = np.maximum(soc_max[:, t], r_hi)
    return soc_min, soc_max


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


# --------------------------------------------------------------------------- the LP


def build_disaggregation_lp(day: FleetDay) -> DisaggregationLp:
    """The LP of the module docstring as arrays: the rows of each family, stacked.

    The deviation is not a pair of columns with a row of its own: each direction's power
    is split at the target instead, ``d = d_f + d_b`` (following, up to the target, and
    beyond it), likewise ``c``, and the cost of ``|d − c − target| + ε·(c + d)`` is put
    on the pieces: ``ε − 1`` per kW following, ``1 + ε`` per kW beyond or against (plus
    the constant ``Σ|target|``). That is the same objective whenever an asset does not
    charge and discharge at once, with half the rows; measured 2-3x faster.
    """
    n = day.target.size
    n_t = day.grid.n_mtu
    target = day.target.ravel()
    d_max, c_max = day.d_max.ravel(), day.c_max.ravel()
    d_follow = np.clip(target, 0.0, d_max)
    c_follow = np.clip(-target, 0.0, c_max)
    parts = [_rows_soc(day), _rows_balance(day)]
    A = sp.vstack([p[0] for p in parts], format="csc")
    row_lb = np.concatenate([p[1] for p in parts])
    follow, beyond = np.full(n, EPSILON - 1.0), np.full(n, EPSILON + 1.0)
    cost = np.concatenate([follow, beyond, follow, beyond, np.zeros(n), np.full(2 * n_t, BIG)])
    lb = np.concatenate([np.zeros(4 * n), day.soc_min.ravel(), np.zeros(2 * n_t)])
    ub = np.concatenate(
        [
            d_follow,
            d_max - d_follow,
            c_follow,
            c_max - c_follow,
            day.soc_max.ravel(),
            np.full(2 * n_t, np.inf),
        ]
    )
    return DisaggregationLp(c=cost, lb=lb, ub=ub, A=A, row_lb=row_lb, row_ub=row_lb.copy())


def _rows_soc(day: FleetDay) -> tuple[sp.csr_matrix, np.ndarray]:
    """``s_kt − s_k,t−1 + Δt/η_d·d_kt − Δt·η_c·c_kt = 0`` (``= s_k,−1`` at t = 0)."""
    n_k, n_t = day.target.shape
    n, dt = n_k * n_t, day.grid.dt_h
    i = np.arange(n)
    k = i // n_t
    has_prev = i % n_t > 0
    out, into = dt / day.eta_discharge[k], -dt * day.eta_charge[k]
    rows = np.concatenate([i, i, i, i, i, i[has_prev]])
    cols = np.concatenate([i, n + i, 2 * n + i, 3 * n + i, 4 * n + i, 4 * n + i[has_prev] - 1])
    vals = np.concatenate([out, out, into, into, np.ones(n), -np.ones(has_prev.sum())])
    rhs = np.where(has_prev, 0.0, day.initial_soc[k])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, _n_cols(day))), rhs


def _rows_balance(day: FleetDay) -> tuple[sp.csr_matrix, np.ndarray]:
    """``Σ_k (d_kt − c_kt) + σ⁺_t − σ⁻_t = P_t``."""
    n_k, n_t = day.target.shape
    n = n_k * n_t
    i = np.arange(n)
    t = np.arange(n_t)
    rows = np.concatenate([np.tile(i % n_t, 4), t, t])
    cols = np.concatenate([np.arange(4 * n), 5 * n + t, 5 * n + n_t + t])
    vals = np.concatenate([np.repeat([1.0, 1.0, -1.0, -1.0], n), np.ones(n_t), -np.ones(n_t)])
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_t, _n_cols(day))), day.virtual


def _n_cols(day: FleetDay) -> int:
    return 5 * day.target.size + 2 * day.grid.n_mtu


def solve_lp(
    lp: DisaggregationLp, options: Mapping[str, Option] = OPTIONS
) -> tuple[str, np.ndarray]:
    """HiGHS' model status and the column values (through clearing.highs, the one module
    that imports highspy, for its options and its silenced banner)."""
    status, x = solve_arrays(
        lp.c, lp.lb, lp.ub, lp.A, lp.row_lb, lp.row_ub, sense="minimise", options=options
    )
    if status != "Optimal" or x is None:
        raise RuntimeError(
            f"HiGHS did not solve the disaggregation LP ({lp.A.shape[1]:,} columns, "
            f"{lp.A.shape[0]:,} rows): model status {status!r}. The LP is feasible by "
            "construction, so this is a solver failure; try other options (solver, "
            "time_limit)."
        )
    return status, x


def net_power(day: FleetDay, x: np.ndarray) -> np.ndarray:
    """The setpoints (K, T) of an LP solution: discharge minus charge, both pieces each."""
    n = day.target.size
    net: np.ndarray = x[:n] + x[n : 2 * n] - x[2 * n : 3 * n] - x[3 * n : 4 * n]
    return net.reshape(day.target.shape)


# --------------------------------------------------------------------------- results


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
    day: FleetDay, power: np.ndarray, status: str, solve_s: float, options: dict[str, object]
) -> Disaggregation:
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
    shortfall = pl.DataFrame(
        {
            "start": starts,
            "virtual_kw": day.virtual,
            "physical_kw": physical,
            "shortfall_kw": day.virtual - physical,
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
        },
        schema={
            "asset_id": pl.String,
            "start": UTC_TIME,
            "soc_kwh": pl.Float64,
            "lo_kwh": pl.Float64,
            "hi_kwh": pl.Float64,
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
    )


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
