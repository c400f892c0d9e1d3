"""The day as arrays: what the disaggregation LP needs, per asset and MTU.

``prepare`` reads the fleet, availability, blocks, backing and schedules of a day into a
``FleetDay``: each asset's power limits, SoC band, efficiencies and initial SoC, the
proportional split of the wholesale schedules (the *target*) and their virtual total.

Reserve blocks occupy the assets that back them (docs/clearing.md's capacity rows, per
MTU): ``up = fcr + afrr_pos`` and ``down = fcr + afrr_neg`` kW of headroom stay free, and
the SoC stays in ``lo = e_min + fcr_e/2 + afrr_pos_e``, ``hi = e_min + a·(e_max − e_min) −
fcr_e/2 − afrr_neg_e`` (an FCR block's energy is symmetric, aFRR up must stay stored,
aFRR down must stay free; availability scales power and the usable energy range). An asset
that is out altogether keeps its SoC: only ``[e_min, e_max]`` binds it then, and it is
outside its band only if reserve blocks are still on it.

The initial physical SoC is the middle of the first MTU's band plus, for every wholesale
slice active in the first MTU, ``slice_energy·(initial_soc/energy − 0.5)``: with the
blocks' energies laid side by side in the band, each around its middle, that is the state
every block of the first MTU expects to start from.

Where no SoC path can stay in the band (a derate faster than the power allows, reserves
holding more energy than a derated asset has), the band is widened just enough to keep the
LP feasible (``_reachable_band``); the disaggregation reports the MTUs outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
import scipy.sparse as sp

from auction.book import numbered
from auction.errors import DomainError, Problem
from auction.timegrid import Grid, availability_matrix, mtu_index_expr, whole_mtus

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
    available: np.ndarray  # the fraction of each asset available in each MTU


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
    # An asset that is out and carries no reserve has no band to keep: its SoC stays
    # where it was. One that is out with reserves on it cannot hold them: lo > hi.
    idle_out = (a == 0) & (fcr_kw + pos_kw + neg_kw == 0)
    lo = np.where(idle_out, e_min, e_min + fcr_e / 2 + pos_e)
    hi = np.where(idle_out, e_max, top - fcr_e / 2 - neg_e)
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
        available=a,
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
