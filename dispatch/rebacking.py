"""Re-backing after an outage: keep virtual assets whole on what is left of the fleet.

An outage (a new availability row) may leave assets carrying more blocks than they can.
``reback`` re-solves the backing of the blocks delivering in the affected interval,
keeping all other backing as it is where possible; only what the remaining fleet cannot
carry is lost, in the MTUs where it cannot.

The interval is cut into *stretches*: maximal runs of MTUs in which nothing changes (the
availability of every asset, the blocks delivering, their current backing). Blocks of one
product and market (a *group* ``g``, one line of the clearing, see clearing/assets.py) are
interchangeable, so each stretch's LP decides kW per group and asset ``k`` around the
current backing ``B_gk`` (kW; ``c`` the capacity coefficients of spec/clearing.md: 1 for
power, the group's kWh per kW for energy)::

    min  LOST·Σ_g L_g + Σ_gk ((MOVE + TIE·rank_k)·u_gk + MOVE·d_gk)
    s.t. Σ_k (u_gk − d_gk) + L_g = P_g − Σ_k B_gk                     (whole, or lost)
         Σ_g c_g·(u_gk − d_gk) <= room_k − Σ_g c_g·B_gk      (discharge, charge, energy)
         0 <= d_gk <= B_gk,  u_gk >= 0 on allowed assets only,  0 <= L_g <= P_g

``room_k = a_k·cap_k`` plus a *grace*: an excess already there and no larger than the
clearing's own rounding (1 kW per group on the asset, times ``c``; the checker allows it)
may stay, anything larger must come down. A kW lost costs far more than a chain of moves
that saves it (so a reserve block gets a prequalified asset even if wholesale has to make
room on it); a move costs per kW taken off or put on (``|β_new − β_old|``). ``rank_k``
orders the assets by the power they have to spare through the whole interval (most
first, then asset_id): among equally cheap moves every stretch prefers the same assets,
so that a block keeps its new backing from one stretch to the next where it can. (One LP
over all stretches with a penalty on such changes was 12 times slower on the reference
day: 75,000 columns instead of 12 LPs of 2,800.) Stretches with the same data share one
solve, so identical inputs give identical answers.

The answer is made whole kW that exceed no room: floors, then the missing kW handed out
where all three rows of the asset still hold. Only where that loses more than the LP's
loss rounded up (a vertex may split kW so that no single asset has room for the whole
kW), an integer search next to the LP optimum finds the least loss, then the fewest
moves (``_whole_kw``). The group's kW are then laid back onto its blocks with as few
changes as possible (``relay``): kW come off the blocks on assets that lost share, last
blocks of the line first, and the freed kW go to the blocks short of backing, first
blocks first. A loss thus falls on the blocks at the END of the group's line among those
the outage touched; the line is the order of the rows of ``blocks`` within a product and
market (the clearing's: fixed allocations, then bids in award order). Everything else is
sorted first, so no other row order matters. A group's energy per kW is ``ΣE / ΣP`` of
its blocks (they differ only by the rounding of energy to 1 kWh).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import scipy.sparse as sp

from auction.book import MARKETS, UTC_TIME
from auction.errors import DomainError, Problem
from auction.model import Archive
from auction.timegrid import DEFAULT_TIME_ZONE
from clearing.result import ClearingResult
from clearing.solve import HIGHSPY_VERSION, _highs, _pass_model
from dispatch.frames import BACKING_SLICES, BLOCKS
from dispatch.grid import Grid, availability_matrix
from dispatch.slices import LOST, replace_stretches, whole_window

# Objective weights (module docstring): a kW lost outweighs a chain of LOST / (2·MOVE)
# kW of moves that would save it; TIE·rank (below TIE) never buys a move but stays far
# above HiGHS' dual tolerance (1e-7), so it really decides among equal moves.
LOST_COST = 1e4
MOVE_COST = 1.0
TIE_COST = 1e-2
# kW (kWh): float noise of the LP and of a·cap; below this nothing counts as exceeded.
TOL_KW = 1e-6
# The integer search next to the LP optimum (``_whole_kw``): the kW each group may move
# on an asset where the LP split a kW, tried in turn, and the nodes of one search. On the
# reference day 8 kW reach the bound in 11 stretches of 12, 32 in the last.
WIDTHS = (8.0, 32.0)
MAX_NODES = 2_000
FILE = "rebacking"
KINDS = ("discharge", "charge", "energy")
# Which markets load each power row (spec/clearing.md); energy is loaded by all.
KIND_MARKETS = {
    "discharge": ("wholesale", "fcr", "afrr_pos"),
    "charge": ("wholesale", "fcr", "afrr_neg"),
    "energy": MARKETS,
}
GROUP = ["product_id", "market", "tso_zone", "start", "end"]


@dataclass(frozen=True, slots=True)
class Rebacking:
    """What an outage changed, and a sentence for the operator.

    ``slices``: block_id, start, end, lost_kw, one row per block and stretch whose backing
    changed (lost_kw 0 when the block stays whole). ``backing``: the BACKING_SLICES rows
    that replace the backing of exactly those (block, stretch) pairs. ``moved_kw`` and
    ``lost_kw`` are the largest over the MTUs; ``to_assets`` counts the assets that took
    on backing; ``lost_windows`` are the UTC stretches where some block is short.
    """

    slices: pl.DataFrame
    backing: pl.DataFrame
    blocks_touched: int
    moved_kw: int
    to_assets: int
    lost_kw: int
    lost_blocks: int
    lost_windows: tuple[tuple[datetime, datetime], ...]
    summary: str
    solver: dict[str, object] = field(default_factory=dict)

    def applied_to(self, current: pl.DataFrame) -> pl.DataFrame:
        """``current`` BACKING_SLICES with the changed (block, stretch) pairs replaced."""
        return replace_stretches(current, self.slices, self.backing)


@dataclass(frozen=True, slots=True)
class Situation:
    """The interval as arrays: groups ``g``, assets ``k`` (by asset_id), stretches ``s``."""

    start: datetime
    mtu: timedelta
    edges: np.ndarray  # MTU index of each stretch edge, S + 1
    asset_ids: list[str]
    blocks: pl.DataFrame  # block_id, g, power_kw, energy_kwh, in (g, line) order
    old: pl.DataFrame  # the current backing per block: b, k, s, kw
    power: np.ndarray  # (G,) kW of each group
    active: np.ndarray  # (G, S) the group delivers in the stretch
    allowed: np.ndarray  # (G, K) zone and prequalification
    backed: np.ndarray  # (G, K, S) current kW
    coef: np.ndarray  # (3, G)
    room: np.ndarray  # (3, K, S) capacity + grace: the most a row may hold
    rank: np.ndarray  # (K,) in [0, 1): the order in which assets are preferred

    def usage(self, backed: np.ndarray) -> np.ndarray:
        """The load of every capacity row: (3, K, S) from (G, K, S), (3, K) from (G, K)."""
        usage: np.ndarray = np.tensordot(self.coef, backed, axes=1)
        return usage

    def needs_work(self) -> np.ndarray:
        """(S,) stretches where a row is over its room, or some group is short of backing."""
        over = (self.usage(self.backed) > self.room + TOL_KW).any(axis=(0, 1))
        carried = self.backed.sum(axis=1)
        short = (self.active & (carried < self.power[:, None] - TOL_KW)).any(axis=0)
        work: np.ndarray = over | short
        return work


@dataclass(frozen=True, slots=True)
class LpArrays:
    """min c·x  s.t.  row_lb <= A x <= row_ub,  lb <= x <= ub; columns u, d, then L.

    ``up`` and ``down`` give the column of ``u_gk`` / ``d_gk`` (-1 where there is none).
    """

    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    A: sp.csc_matrix
    row_lb: np.ndarray
    row_ub: np.ndarray
    up: np.ndarray
    down: np.ndarray
    first_lost: int


def reback(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    blocks: pl.DataFrame,
    backing: pl.DataFrame,
    start: datetime,
    end: datetime,
    mtu_minutes: int = 15,
    *,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> Rebacking:
    """Re-back the blocks delivering in ``[start, end)`` on the fleet as it now is.

    Parameters
    ----------
    fleet, availability
        ``auction.book.FLEET`` and ``AVAILABILITY``, the latter including the new outage.
    blocks, backing
        ``dispatch.frames.BLOCKS`` (the order of a product and market's rows is its line:
        a loss falls on the last blocks) and the current ``BACKING_SLICES``.
    start, end
        The interval the outage affects, UTC, on the MTU grid.
    time_zone
        For the times in ``summary`` only.

    Raises
    ------
    DomainError
        An interval or a window off the MTU grid, backing naming an unknown block or asset.
    """
    t0 = time.perf_counter()
    sit = situation(fleet, availability, blocks, backing, start, end, mtu_minutes)
    backed = sit.backed.copy()
    solved: dict[bytes, np.ndarray] = {}
    n_cols = n_rows = 0
    solve_s = 0.0
    for s in np.flatnonzero(sit.needs_work()).tolist():
        key = b"".join(
            a.tobytes() for a in (sit.active[:, s], sit.backed[:, :, s], sit.room[:, :, s])
        )
        if key not in solved:
            t_solve = time.perf_counter()
            lp = build_lp(sit, s)
            solved[key] = solve_stretch(sit, s, lp)
            solve_s += time.perf_counter() - t_solve
            n_cols, n_rows = n_cols + lp.c.size, n_rows + lp.row_lb.size
        backed[:, :, s] = solved[key]
    laid = relay_all(sit, backed)
    slices, rows = slice_frames(sit, laid)
    solver: dict[str, object] = {
        "stretches": int(sit.edges.size - 1),
        "solves": len(solved),
        "n_cols": n_cols,
        "n_rows": n_rows,
        "solve_s": solve_s,
        "total_s": time.perf_counter() - t0,
        "highspy": HIGHSPY_VERSION,
    }
    return _result(slices, rows, laid, solver, time_zone)


# --------------------------------------------------------------------------- the situation


def situation(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    blocks: pl.DataFrame,
    backing: pl.DataFrame,
    start: datetime,
    end: datetime,
    mtu_minutes: int = 15,
) -> Situation:
    """Cut ``[start, end)`` into stretches and gather what the LP needs as arrays."""
    mtu = timedelta(minutes=mtu_minutes)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if not start < end or (end - start) % mtu:
        rule = f"the interval must be a positive whole number of {mtu_minutes}-minute MTUs"
        raise DomainError([Problem(FILE, None, "end", end.isoformat(), rule)])
    n = (end - start) // mtu
    fleet = fleet.sort("asset_id")
    asset_ids = fleet["asset_id"].to_list()
    avail = availability_matrix(availability, asset_ids, Grid(start, n, mtu_minutes))

    blk = _in_window(blocks.select(BLOCKS.names()).with_row_index("line"), start, n, mtu)
    groups = (
        blk.group_by(GROUP)
        .agg(power=pl.col("power_kw").sum(), energy=pl.col("energy_kwh").sum())
        .sort(GROUP)
        .with_row_index("g")
    )
    blk = blk.join(groups.select([*GROUP, "g"]), on=GROUP).sort("g", "line").with_row_index("b")
    slc = _in_window(backing.select(BACKING_SLICES.names()), start, n, mtu)
    slc = _known(slc, blk, {a: i for i, a in enumerate(asset_ids)})
    # Stretch edges: the interval's, the windows' and wherever an availability changes.
    changes = np.flatnonzero((avail[:, 1:] != avail[:, :-1]).any(axis=0)) + 1
    windows = [f[c].to_numpy() for f in (blk, slc) for c in ("t0", "t1")]
    edges = np.unique(np.concatenate([[0, n], changes, *windows])).astype(np.int64)
    old = _current(slc, edges)
    backed = np.zeros((groups.height, len(asset_ids), edges.size - 1))
    np.add.at(
        backed,
        (old["g"].to_numpy(), old["k"].to_numpy(), old["s"].to_numpy()),
        old["kw"].to_numpy(),
    )
    span = blk.group_by("g").agg(pl.col("t0").first(), pl.col("t1").first()).sort("g")
    s_lo = edges[:-1]
    active = (span["t0"].to_numpy()[:, None] <= s_lo) & (span["t1"].to_numpy()[:, None] > s_lo)
    power = groups["power"].to_numpy().astype(np.float64)
    coef = _coefficients(groups)
    room, free = _room(fleet, avail[:, s_lo], coef, backed)
    return Situation(
        start=start,
        mtu=mtu,
        edges=edges,
        asset_ids=asset_ids,
        blocks=blk.select("block_id", "g", "power_kw", "energy_kwh", "t0", "t1"),
        old=old.select("b", "k", "s", "kw"),
        power=power,
        active=active,
        allowed=_allowed(groups, fleet),
        backed=backed,
        coef=coef,
        room=room,
        rank=_preference(free),
    )


def _current(slc: pl.DataFrame, edges: np.ndarray) -> pl.DataFrame:
    """kW per block, asset and stretch of the current backing: b, g, k, s, kw."""
    return (
        slc.with_columns(
            s0=pl.Series(np.searchsorted(edges, slc["t0"].to_numpy()), dtype=pl.Int64),
            s1=pl.Series(np.searchsorted(edges, slc["t1"].to_numpy()), dtype=pl.Int64),
        )
        .with_columns(s=pl.int_ranges("s0", "s1"))
        .explode("s")
        .group_by("b", "g", "k", "s")
        .agg(kw=pl.col("power_kw").sum())
        .sort("b", "k", "s")
    )


def _coefficients(groups: pl.DataFrame) -> np.ndarray:
    """(3, G): what a kW of each group loads in the discharge, charge and energy rows."""
    power = groups["power"].to_numpy().astype(np.float64)
    kwh_per_kw = np.where(power > 0, groups["energy"].to_numpy() / np.maximum(power, 1), 0.0)
    market = groups["market"].to_numpy()
    loads = [np.isin(market, KIND_MARKETS[kind]).astype(np.float64) for kind in KINDS[:2]]
    return np.vstack([*loads, kwh_per_kw])


def _allowed(groups: pl.DataFrame, fleet: pl.DataFrame) -> np.ndarray:
    """(G, K): the asset lies in the group's zone and is prequalified for its market."""
    n_k = fleet.height
    prequalified = {"wholesale": np.ones(n_k, dtype=bool)} | {
        m: fleet[m].fill_null(False).to_numpy().astype(bool) for m in MARKETS[1:]
    }
    markets = groups["market"].to_list()
    allowed = np.stack([prequalified[m] for m in markets]) if markets else np.zeros((0, n_k))
    zone = groups["tso_zone"].to_numpy()[:, None] == fleet["tso_zone"].to_numpy()[None, :]
    result: np.ndarray = allowed.astype(bool) & zone
    return result


def _room(
    fleet: pl.DataFrame, avail: np.ndarray, coef: np.ndarray, backed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(3, K, S) the most each row may hold, and what is free of it now."""
    base = np.stack(
        [
            fleet["p_discharge_mw"].to_numpy(),
            fleet["p_charge_mw"].to_numpy(),
            (fleet["e_max_mwh"] - fleet["e_min_mwh"]).to_numpy(),
        ]
    ).astype(np.float64)
    capacity = base[:, :, None] * avail[None, :, :] * 1000
    usage = np.tensordot(coef, backed, axes=1)
    # The clearing rounds each share to 1 kW: an excess within that is the clearing's
    # (the checker allows it) and stays; a larger one is the outage's and must go.
    rounding = np.tensordot(coef, (backed > 0).astype(np.float64), axes=1)
    excess = usage - capacity
    room = capacity + np.where(excess <= rounding + TOL_KW, np.clip(excess, 0, None), 0.0)
    return room, room - usage


def _preference(free: np.ndarray) -> np.ndarray:
    """(K,) in [0, 1): 0 for the asset with the most power to spare through the interval,
    then less and less; ties by asset_id."""
    spare = free[:2].min(axis=(0, 2)) if free.shape[2] else np.zeros(free.shape[1])
    order = np.lexsort((np.arange(spare.size), -spare))
    rank = np.empty(spare.size)
    rank[order] = np.arange(spare.size) / max(spare.size, 1)
    return rank


def _mtus(frame: pl.DataFrame, start: datetime, n: int, mtu_minutes: int) -> pl.DataFrame:
    """``t0``/``t1``: the MTUs a row's [start, end) touches, clipped to the interval."""
    mtu_us = mtu_minutes * 60_000_000

    def offset(col: str) -> pl.Expr:
        return (pl.col(col) - pl.lit(start, dtype=UTC_TIME)).dt.total_microseconds()

    return frame.with_columns(
        t0=(offset("start") // mtu_us).clip(0, n),
        t1=(-(-offset("end") // mtu_us)).clip(0, n),
        on_grid=((offset("start") % mtu_us) == 0) & ((offset("end") % mtu_us) == 0),
    )


def _in_window(frame: pl.DataFrame, start: datetime, n: int, mtu: timedelta) -> pl.DataFrame:
    """Rows delivering in the interval, with their MTU range; they must lie on the grid."""
    rows = _mtus(frame, start, n, mtu // timedelta(minutes=1)).filter(pl.col("t1") > pl.col("t0"))
    off = rows.filter(~pl.col("on_grid"))
    if off.height:
        rule = f"block and backing windows must lie on the MTU grid ({mtu}) of the interval"
        raise DomainError(
            [
                Problem(FILE, None, "start", f"{lo.isoformat()} to {hi.isoformat()}", rule)
                for lo, hi in off.head(10).select("start", "end").iter_rows()
            ]
        )
    return rows.drop("on_grid")


def _known(slc: pl.DataFrame, blk: pl.DataFrame, k_of: dict[str, int]) -> pl.DataFrame:
    """Backing rows with their block, group and asset, cut to the block's window.

    Unknown blocks or assets are an error.
    """
    problems = [
        Problem(FILE, None, "block_id", b, "backing names a block that is not in blocks")
        for b in sorted(set(slc["block_id"]) - set(blk["block_id"]))
    ] + [
        Problem(FILE, None, "asset_id", a, "backing names an asset that is not in the fleet")
        for a in sorted(set(slc["asset_id"]) - set(k_of))
    ]
    if problems:
        raise DomainError(problems)
    return (
        slc.with_columns(k=pl.col("asset_id").replace_strict(k_of, return_dtype=pl.Int64))
        .join(blk.select("block_id", "b", "g", bt0="t0", bt1="t1"), on="block_id")
        .with_columns(t0=pl.max_horizontal("t0", "bt0"), t1=pl.min_horizontal("t1", "bt1"))
        .filter(pl.col("t1") > pl.col("t0"))
    )


# --------------------------------------------------------------------------- one stretch


def build_lp(sit: Situation, s: int) -> LpArrays:
    """The LP of the module docstring for stretch ``s``, as arrays."""
    backed, live = sit.backed[:, :, s], sit.active[:, s]
    room = sit.room[:, :, s]
    # An asset may take kW of a group only where every row the group loads has room.
    fits = ((sit.coef[:, :, None] == 0) | (room[:, None, :] > TOL_KW)).all(axis=0)
    up_mask = live[:, None] & sit.allowed & fits
    down_mask = live[:, None] & (backed > 0)
    n_up, n_down, n_lost = int(up_mask.sum()), int(down_mask.sum()), int(live.sum())
    up = np.full(backed.shape, -1, dtype=np.int64)
    down = np.full(backed.shape, -1, dtype=np.int64)
    up[up_mask] = np.arange(n_up)
    down[down_mask] = n_up + np.arange(n_down)
    ug, uk = np.nonzero(up_mask)
    dg, dk = np.nonzero(down_mask)
    lg = np.flatnonzero(live)

    whole = _rows_whole(sit, s, ug, dg, lg, up[ug, uk], down[dg, dk], n_up + n_down)
    capacity = _rows_capacity(sit, s, ug, uk, dg, dk, up[ug, uk], down[dg, dk])
    parts = (whole, capacity)
    offsets = np.cumsum([0, whole[3].size])
    A = sp.csc_matrix(
        (
            np.concatenate([p[2] for p in parts]),
            (
                np.concatenate([p[0] + o for p, o in zip(parts, offsets, strict=True)]),
                np.concatenate([p[1] for p in parts]),
            ),
        ),
        shape=(int(offsets[-1] + capacity[3].size), n_up + n_down + n_lost),
    )
    return LpArrays(
        c=np.concatenate(
            [
                MOVE_COST + TIE_COST * sit.rank[uk],
                np.full(n_down, MOVE_COST),
                np.full(n_lost, LOST_COST),
            ]
        ),
        lb=np.zeros(n_up + n_down + n_lost),
        ub=np.concatenate([np.full(n_up, np.inf), backed[dg, dk], sit.power[lg]]),
        A=A,
        row_lb=np.concatenate([whole[3], capacity[3]]),
        row_ub=np.concatenate([whole[4], capacity[4]]),
        up=up,
        down=down,
        first_lost=n_up + n_down,
    )


Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _rows_whole(
    sit: Situation,
    s: int,
    ug: np.ndarray,
    dg: np.ndarray,
    lg: np.ndarray,
    up_cols: np.ndarray,
    down_cols: np.ndarray,
    first_lost: int,
) -> Rows:
    """``Σ_k (u_gk − d_gk) + L_g = P_g − Σ_k B_gk``: every live group whole, or lost."""
    row_of = np.full(sit.power.size, -1, dtype=np.int64)
    row_of[lg] = np.arange(lg.size)
    rows = np.concatenate([row_of[ug], row_of[dg], np.arange(lg.size)])
    cols = np.concatenate([up_cols, down_cols, first_lost + np.arange(lg.size)])
    vals = np.concatenate([np.ones(ug.size), -np.ones(dg.size), np.ones(lg.size)])
    short = sit.power[lg] - sit.backed[lg, :, s].sum(axis=1)
    return rows, cols, vals, short, short


def _rows_capacity(
    sit: Situation,
    s: int,
    ug: np.ndarray,
    uk: np.ndarray,
    dg: np.ndarray,
    dk: np.ndarray,
    up_cols: np.ndarray,
    down_cols: np.ndarray,
) -> Rows:
    """``Σ_g c_g·(u_gk − d_gk) <= room_k − Σ_g c_g·B_gk`` per asset and kind."""
    n_k = sit.room.shape[1]
    free = sit.room[:, :, s] - sit.usage(sit.backed[:, :, s])
    rows, cols, vals = [], [], []
    for kind in range(len(KINDS)):
        for g, k, c, sign in ((ug, uk, up_cols, 1.0), (dg, dk, down_cols, -1.0)):
            loads = sit.coef[kind, g] > 0
            rows.append(kind * n_k + k[loads])
            cols.append(c[loads])
            vals.append(sign * sit.coef[kind, g[loads]])
    used, local = np.unique(np.concatenate(rows), return_inverse=True)
    hi = free[used // n_k, used % n_k]
    return (
        local.astype(np.int64),
        np.concatenate(cols),
        np.concatenate(vals),
        -np.inf * np.ones(hi.size),
        hi,
    )


def solve_stretch(sit: Situation, s: int, lp: LpArrays) -> np.ndarray:
    """(G, K) whole kW for stretch ``s``: the LP, rounded (``round_stretch``), and only if
    that loses more than the LP rounded up, the integer search of ``_whole_kw``."""
    x = _run(lp, lp.c, lp.lb, lp.ub)
    backed = round_stretch(sit, s, sit.backed[:, :, s] + _change(lp, x))
    bound = np.ceil(_lost(lp, x) - TOL_KW)
    if _short(sit, s, backed) > bound + TOL_KW:
        found = _whole_kw(lp, x)
        if found is not None:
            other = round_stretch(sit, s, sit.backed[:, :, s] + _change(lp, found))
            if _short(sit, s, other) < _short(sit, s, backed):
                backed = other
    return backed


def _short(sit: Situation, s: int, backed: np.ndarray) -> float:
    """kW lost in stretch ``s`` over all groups."""
    live = sit.active[:, s]
    return float((sit.power[live] - backed[live].sum(axis=1)).sum())


def _run(
    lp: LpArrays,
    cost: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    *,
    integer: bool = False,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Solve with HiGHS through clearing.solve (the one module that imports highspy).

    An integer search (to within one kW moved, at most ``MAX_NODES`` nodes) returns no
    values if it found no integer point; ``start`` is a feasible point to begin from.
    """
    h = _highs()
    if integer:
        h.setOptionValue("mip_max_nodes", MAX_NODES)
        h.setOptionValue("mip_abs_gap", MOVE_COST)
    integrality = np.ones(cost.size, dtype=np.int32) if integer else None
    # clearing.solve passes maximisation models: maximise −c.
    _pass_model(h, -cost, lb, ub, lp.A, lp.row_lb, lp.row_ub, integrality)
    if start is not None:
        # HiGHS' own solution type, so that only clearing.solve imports highspy.
        solution = h.getSolution()
        solution.col_value = list(start)
        solution.value_valid = True
        h.setSolution(solution)
    h.run()
    if integer:
        found = h.getInfo().primal_solution_status == 2  # feasible
        return np.asarray(h.getSolution().col_value) if found else np.zeros(0)
    status = h.modelStatusToString(h.getModelStatus())
    if status != "Optimal":
        raise RuntimeError(
            f"HiGHS did not solve the re-backing LP ({lp.A.shape[1]:,} columns, "
            f"{lp.A.shape[0]:,} rows): model status {status!r}. The LP is feasible by "
            "construction (everything may be lost), so this is a solver failure."
        )
    return np.asarray(h.getSolution().col_value)


def _change(lp: LpArrays, x: np.ndarray) -> np.ndarray:
    """(G, K) ``u − d`` of the LP answer."""
    change = np.zeros(lp.up.shape)
    change[lp.up >= 0] += x[lp.up[lp.up >= 0]]
    change[lp.down >= 0] -= x[lp.down[lp.down >= 0]]
    return change


def round_stretch(sit: Situation, s: int, lp_backed: np.ndarray) -> np.ndarray:
    """Integer kW per group and asset that exceed no room and lose no more than the LP
    (up to rounding): floors first, then the missing kW where every row still holds.

    The kW go first where the LP took kW off (giving them back moves nothing), then where
    the LP had a fraction (largest first), then to any allowed asset with room left in
    preference order: a loss that only rounding caused cannot remain while room exists.
    """
    old, live = sit.backed[:, :, s], sit.active[:, s]
    room = sit.room[:, :, s]
    floor = np.floor(np.clip(lp_backed, 0, None) + TOL_KW)
    backed = np.where(live[:, None], floor, old)
    usage = sit.usage(backed)
    for kind, k in zip(*np.nonzero(usage > room + TOL_KW), strict=True):
        _trim(sit, old, backed, usage, room, int(kind), int(k))
    fraction = np.where(live[:, None], lp_backed - floor, 0.0)
    short = sit.power - backed.sum(axis=1)
    for g in np.flatnonzero(live & (short > TOL_KW)).tolist():
        _hand_out(sit, old, backed, usage, room, fraction, g, round(short[g]))
    return backed


def _trim(
    sit: Situation,
    old: np.ndarray,
    backed: np.ndarray,
    usage: np.ndarray,
    room: np.ndarray,
    kind: int,
    k: int,
) -> None:
    """Take kW off a row the floors left over its room (LP tolerance): what grew first."""
    for g in np.argsort(old[:, k] - backed[:, k], kind="stable").tolist():
        excess = usage[kind, k] - room[kind, k]
        if excess <= TOL_KW:
            return
        if sit.coef[kind, g] > 0 and backed[g, k] > 0:
            cut = min(backed[g, k], np.ceil(excess / sit.coef[kind, g] - TOL_KW))
            backed[g, k] -= cut
            usage[:, k] -= sit.coef[:, g] * cut


def _hand_out(
    sit: Situation,
    old: np.ndarray,
    backed: np.ndarray,
    usage: np.ndarray,
    room: np.ndarray,
    fraction: np.ndarray,
    g: int,
    short: int,
) -> None:
    """Give group ``g`` up to ``short`` kW where every row it loads keeps within its room."""
    coef = sit.coef[:, g]
    loads = coef > 0
    free = (room[loads] - usage[loads] + TOL_KW) / coef[loads, None]
    headroom = np.floor(free.min(axis=0)) if loads.any() else np.full(room.shape[1], np.inf)
    headroom = np.where(sit.allowed[g], np.clip(headroom, 0, None), 0)
    order = np.lexsort((sit.rank, -fraction[g], backed[g] >= old[g]))
    for k in order.tolist():
        give = min(short, headroom[k])
        if give > 0:
            backed[g, k] += give
            usage[:, k] += coef * give
            short -= int(give)
        if short <= 0:
            return


def _whole_kw(lp: LpArrays, x: np.ndarray) -> np.ndarray | None:
    """Whole kW next to the LP optimum ``x`` that lose as little as whole kW can.

    An LP vertex often splits a kW (a 2 h block on an asset with an odd kWh left) in a
    way that floors cannot mend without another group making room. So: first the least
    loss in an ever wider box around ``x`` (``_near``; loss only, which HiGHS finds fast)
    until it reaches the LP's loss rounded up (no integer backing loses less); then the
    fewest moves among the kW that search changed, no group losing more. Searches are
    capped in nodes, not seconds, so the answer does not depend on the machine.
    """
    bound = np.ceil(_lost(lp, x) - TOL_KW)
    loss_only = np.where(np.arange(lp.c.size) >= lp.first_lost, lp.c, 0.0)
    best = np.zeros(0)
    for width in WIDTHS:
        found = _run(lp, loss_only, *_near(lp, x, width), integer=True)
        if found.size and (best.size == 0 or _lost(lp, found) < _lost(lp, best)):
            best = found
        if best.size and _lost(lp, best) <= bound + TOL_KW:
            break
    if best.size == 0:
        return None
    moved = np.abs(best - x) > TOL_KW
    lb = np.where(moved, np.minimum(best, np.floor(x)), best)
    ub = np.where(moved, np.maximum(best, np.ceil(x)), best)
    lb[lp.first_lost :] = lp.lb[lp.first_lost :]
    fewest = _run(lp, lp.c, np.maximum(lb, lp.lb), np.minimum(ub, lp.ub), integer=True, start=best)
    return fewest if fewest.size else best


def _lost(lp: LpArrays, x: np.ndarray) -> float:
    return float(x[lp.first_lost :].sum())


def _near(lp: LpArrays, x: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of an integer search next to the LP optimum ``x``.

    Whole kW may need another group to make room (a 2 h block needs 2 kWh where a 1 h
    block left 1), so on every asset where the LP split a kW every group may move up to
    ``width`` kW; elsewhere the values stay; a group may lose more, never less.
    """
    split = np.abs(x - np.rint(x)) > TOL_KW
    g_up, k_up = np.nonzero(lp.up >= 0)
    g_down, k_down = np.nonzero(lp.down >= 0)
    cols = np.concatenate([lp.up[g_up, k_up], lp.down[g_down, k_down]])
    assets = np.concatenate([k_up, k_down])
    free = np.zeros(lp.c.size, dtype=bool)
    free[cols] = np.isin(assets, assets[split[cols]])
    lb = np.where(free, np.floor(x) - width, np.rint(x))
    ub = np.where(free, np.ceil(x) + width, np.rint(x))
    lb[lp.first_lost :] = np.floor(x[lp.first_lost :] + TOL_KW)
    ub[lp.first_lost :] = lp.ub[lp.first_lost :]
    return np.maximum(lb, lp.lb), np.minimum(ub, lp.ub)


# --------------------------------------------------------------------------- onto blocks


def relay(power: np.ndarray, old: np.ndarray, target: np.ndarray) -> np.ndarray:
    """New (blocks × assets) kW from ``old`` with column sums ``target``, few changes.

    Blocks are in line order. Assets over their target shed kW, from the last blocks of
    the line first; the blocks then short of backing (and any short from before) get the
    room of the assets under their target, first blocks first, laid end to end against
    the assets (as clearing.assets lays a line) so that each gains one or two assets.
    What no asset has room for stays lost, on the last of the blocks the outage touched.
    """
    new = old.copy()
    over = new.sum(axis=0) - target
    last_first = np.arange(new.shape[0])[::-1]
    for k in np.flatnonzero(over > 0).tolist():
        have = new[last_first, k]
        cum = np.cumsum(have)
        new[last_first, k] -= np.clip(np.minimum(cum, over[k]) - (cum - have), 0, None)
    short = np.clip(power - new.sum(axis=1), 0, None)
    room = np.clip(target - new.sum(axis=0), 0, None)
    b_hi, k_hi = np.cumsum(short), np.cumsum(room)
    points = np.unique(np.concatenate([[0], b_hi, k_hi]))
    lo, hi = points[:-1], points[1:]
    bi = np.searchsorted(b_hi, lo, side="right")
    ki = np.searchsorted(k_hi, lo, side="right")
    ok = (bi < short.size) & (ki < room.size)
    np.add.at(new, (bi[ok], ki[ok]), hi[ok] - lo[ok])
    return new


@dataclass(frozen=True, slots=True)
class Laid:
    """The changed (block, stretch) pairs: their new pieces and their loss, and the moves."""

    pieces: pl.DataFrame  # b, s, k, kw
    changed: pl.DataFrame  # b, s, lost_kw
    moved_kw: int  # the most kW, over the stretches, that went onto other assets
    to_assets: int  # how many assets took on backing


def relay_all(sit: Situation, backed: np.ndarray) -> Laid:
    """Lay every (group, stretch) whose backing changed onto its blocks (``relay``)."""
    new = np.rint(backed).astype(np.int64)
    old = np.rint(sit.backed).astype(np.int64)
    gained = np.clip(new - old, 0, None)
    changed = sit.active & (new != old).any(axis=1)
    cg, cs = np.nonzero(changed)

    blk = sit.blocks.with_row_index("b")
    members = {
        int(g): (f["b"].to_numpy(), f["power_kw"].to_numpy())
        for (g,), f in blk.partition_by("g", as_dict=True).items()
    }
    wanted = pl.DataFrame({"g": cg, "s": cs}, schema={"g": pl.UInt32, "s": pl.Int64})
    before_of = {
        (int(g), int(s)): f
        for (g, s), f in sit.old.join(blk.select("b", "g"), on="b")
        .join(wanted, on=["g", "s"])
        .partition_by("g", "s", as_dict=True)
        .items()
    }
    pieces: dict[str, list[np.ndarray]] = {"b": [], "k": [], "s": [], "kw": []}
    lost: dict[str, list[np.ndarray]] = {"b": [], "s": [], "lost_kw": []}
    cache: dict[tuple[object, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for g, s in zip(cg.tolist(), cs.tolist(), strict=True):
        b, power = members[g]
        assets = np.flatnonzero((old[g, :, s] > 0) | (new[g, :, s] > 0))
        before = np.zeros((b.size, assets.size), dtype=np.int64)
        frame = before_of.get((g, s))
        if frame is not None:
            at = (np.searchsorted(b, frame["b"].to_numpy()), np.searchsorted(assets, frame["k"]))
            np.add.at(before, at, frame["kw"].to_numpy())
        target = new[g, assets, s]
        # Stretches of a group that differ only in other groups lay out the same way.
        key = (g, assets.tobytes(), before.tobytes(), target.tobytes())
        if key not in cache:
            after = relay(power, before, target)
            rows = np.flatnonzero((after != before).any(axis=1))
            cache[key] = (rows, after[rows], power[rows] - after[rows].sum(axis=1))
        rows, after, short = cache[key]
        r, c = np.nonzero(after)
        for name, values in (("b", b[rows[r]]), ("k", assets[c]), ("kw", after[r, c])):
            pieces[name].append(values)
        pieces["s"].append(np.full(r.size, s))
        lost["b"].append(b[rows])
        lost["s"].append(np.full(rows.size, s))
        lost["lost_kw"].append(short)

    def frame_of(columns: dict[str, list[np.ndarray]]) -> pl.DataFrame:
        return pl.DataFrame(
            {c: np.concatenate(v) if v else np.zeros(0, np.int64) for c, v in columns.items()},
            schema=dict.fromkeys(columns, pl.Int64),
        )

    gained_s = (gained * changed[:, None, :]).sum(axis=(0, 1))
    return Laid(
        pieces=frame_of(pieces),
        changed=frame_of(lost),
        moved_kw=int(gained_s.max(initial=0)),
        to_assets=int(((gained * changed[:, None, :]).sum(axis=(0, 2)) > 0).sum()),
    )


def slice_frames(sit: Situation, laid: Laid) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``slices`` and ``backing`` of the result: each block's changed stretches merged
    where they follow each other with the same backing and loss, energies added."""
    blk = sit.blocks.with_row_index("b").with_columns(pl.col("b").cast(pl.Int64))
    shape = (
        laid.pieces.sort("b", "s", "k")
        .group_by("b", "s", maintain_order=True)
        .agg(shape=pl.format("{}:{}", "k", "kw").str.join(","))
    )
    runs = (
        laid.changed.join(shape, on=["b", "s"], how="left")
        .with_columns(pl.col("shape").fill_null(""))
        .sort("b", "s")
        .with_columns(
            new=(
                (pl.col("b") != pl.col("b").shift(1))
                | (pl.col("s") != pl.col("s").shift(1) + 1)
                | (pl.col("shape") != pl.col("shape").shift(1))
                | (pl.col("lost_kw") != pl.col("lost_kw").shift(1))
            ).fill_null(True)
        )
        .with_columns(run=pl.col("new").cum_sum())
    )
    merged = runs.group_by("run", maintain_order=True).agg(
        pl.col("b").first(), pl.col("lost_kw").first(), s0=pl.col("s").min(), s1=pl.col("s").max()
    )
    mtu_us = sit.mtu // timedelta(microseconds=1)
    at = [
        pl.Series(c, sit.edges[merged[src].to_numpy() + shift] * mtu_us, dtype=pl.Int64)
        for c, src, shift in (("t_start", "s0", 0), ("t_end", "s1", 1))
    ]
    origin = pl.lit(sit.start, dtype=UTC_TIME)
    merged = merged.with_columns(*at).with_columns(
        start=origin + pl.duration(microseconds="t_start"),
        end=origin + pl.duration(microseconds="t_end"),
    )
    named = merged.join(blk.select("b", "block_id", "power_kw", "energy_kwh"), on="b")
    slices = named.select(LOST.names()).sort("block_id", "start")

    first = runs.filter(pl.col("new")).select("b", "s", "run")
    rows = (
        laid.pieces.join(first, on=["b", "s"])
        .join(named.select("run", "block_id", "start", "end", "power_kw", "energy_kwh"), on="run")
        .sort("run", "k")
    )
    rows = rows.with_columns(
        asset_id=pl.Series(sit.asset_ids, dtype=pl.String).gather(rows["k"].to_numpy())
    )
    # Energy in proportion to power, laid along the block as clearing.assets does: the
    # pieces of a whole block sum to its energy exactly.
    hi = pl.col("kw").cum_sum().over("run")
    e, p = pl.col("energy_kwh"), pl.col("power_kw")
    rows = rows.with_columns(
        energy_kwh=(e * hi * 2 + p) // (2 * p) - (e * (hi - pl.col("kw")) * 2 + p) // (2 * p)
    )
    backing = rows.select(
        "block_id", "asset_id", "start", "end", power_kw="kw", energy_kwh="energy_kwh"
    )
    return (
        slices.cast(LOST),
        backing.cast(BACKING_SLICES).sort("block_id", "start", "asset_id"),
    )


# --------------------------------------------------------------------------- summary


def _result(
    slices: pl.DataFrame,
    rows: pl.DataFrame,
    laid: Laid,
    solver: dict[str, object],
    time_zone: str,
) -> Rebacking:
    """The figures of ``Rebacking`` and its sentence."""
    short = slices.filter(pl.col("lost_kw") > 0)
    # The total loss over time: +kW at each start, -kW at each end.
    steps = (
        pl.concat(
            [short.select(t="start", kw="lost_kw"), short.select(t="end", kw=-pl.col("lost_kw"))]
        )
        .group_by("t")
        .agg(pl.col("kw").sum())
        .sort("t")
        .with_columns(level=pl.col("kw").cum_sum())
    )
    windows: list[tuple[datetime, datetime]] = []
    opened: datetime | None = None
    for t, level in steps.select("t", "level").iter_rows():
        if level > 0 and opened is None:
            opened = t
        elif level == 0 and opened is not None:
            windows.append((opened, t))
            opened = None
    lost_kw = int(steps["level"].to_numpy().max(initial=0))
    n_blocks, n_lost = slices["block_id"].n_unique(), short["block_id"].n_unique()
    return Rebacking(
        slices=slices,
        backing=rows,
        blocks_touched=n_blocks,
        moved_kw=laid.moved_kw,
        to_assets=laid.to_assets,
        lost_kw=lost_kw,
        lost_blocks=n_lost,
        lost_windows=tuple(windows),
        summary=_sentence(
            n_blocks, laid.moved_kw, laid.to_assets, lost_kw, n_lost, windows, time_zone
        ),
        solver=solver,
    )


def _sentence(
    n_blocks: int,
    moved_kw: int,
    to_assets: int,
    lost_kw: int,
    n_lost: int,
    windows: list[tuple[datetime, datetime]],
    time_zone: str,
) -> str:
    """'Outage re-backed 14 blocks: 3,200 kW moved to 5 other assets; every block stays whole.'"""
    if n_blocks == 0:
        return "Outage touches no block: the fleet still carries every block as it is."
    moved = (
        f"{moved_kw:,} kW moved to {to_assets} other {_plural(to_assets, 'asset')}"
        if moved_kw
        else "no other asset can take any of it"
    )
    head = f"Outage re-backed {n_blocks} {_plural(n_blocks, 'block')}: {moved}"
    if n_lost == 0:
        return f"{head}; every block stays whole."
    short = f"{lost_kw:,} kW of {n_lost} {_plural(n_lost, 'block')}"
    return f"{head}; {short} unavailable {_when(windows, time_zone)}."


def _when(windows: list[tuple[datetime, datetime]], time_zone: str) -> str:
    """'from 14:00 to 16:00', two such joined by 'and', or 'in 5 stretches between ...'.

    Local wall-clock times of the first window's day; its next midnight reads 24:00;
    anything later carries its date.
    """
    tz = ZoneInfo(time_zone)
    day = windows[0][0].astimezone(tz).date()

    def clock(t: datetime) -> str:
        local = t.astimezone(tz)
        if local.date() == day:
            return local.strftime("%H:%M")
        if local.date() == day + timedelta(days=1) and local.time() == datetime.min.time():
            return "24:00"
        return local.strftime("%Y-%m-%d %H:%M")

    if len(windows) > 2:
        first, last = clock(windows[0][0]), clock(windows[-1][1])
        return f"in {len(windows)} stretches between {first} and {last}"
    return " and ".join(f"from {clock(a)} to {clock(b)}" for a, b in windows)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


# --------------------------------------------------------------------------- from a clearing


def clearing_frames(archive: Archive, result: ClearingResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    """BLOCKS and BACKING_SLICES of a cleared auction, in the clearing's (line) order."""
    cfg = archive.config
    blocks = result.blocks.select(
        "block_id",
        "product_id",
        "market",
        "power_kw",
        "energy_kwh",
        "start",
        "end",
        tso_zone=pl.lit(cfg.tso_zone),
        initial_soc_kwh=pl.when(pl.col("market") == "wholesale")
        .then(cfg.initial_soc_fraction * pl.col("energy_kwh"))
        .otherwise(0.0),
    ).cast(BLOCKS)
    return blocks, whole_window(result.backing, blocks).cast(BACKING_SLICES)
