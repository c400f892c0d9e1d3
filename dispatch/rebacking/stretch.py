"""One stretch: the LP around the current backing, solved and made whole kW.

``build_stretch_lp`` writes the LP of the package docstring for one stretch as arrays
(``StretchLp``); ``solve_stretch`` solves it with HiGHS (through clearing.highs) and
returns whole kW per group and asset: the LP's answer rounded so that no room is
exceeded (``round_stretch``), and only where that loses more than the LP rounded up, the
small integer search next to the LP optimum (``_whole_kw``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from clearing.highs import solve_arrays
from dispatch.rebacking.situation import KINDS, TOL_KW, Situation

# Objective weights (package docstring): a kW lost outweighs a chain of LOST / (2·MOVE)
# kW of moves that would save it; TIE·rank (below TIE) never buys a move but stays far
# above HiGHS' dual tolerance (1e-7), so it really decides among equal moves.
LOST_COST = 1e4
MOVE_COST = 1.0
TIE_COST = 1e-2
# The integer search next to the LP optimum (``_whole_kw``): the kW each group may move
# on an asset where the LP split a kW, tried in turn, and the nodes of one search. On the
# reference day 8 kW reach the bound in 11 stretches of 12, 32 in the last.
WIDTHS = (8.0, 32.0)
MAX_NODES = 2_000


@dataclass(frozen=True, slots=True)
class StretchLp:
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


def build_stretch_lp(sit: Situation, s: int) -> StretchLp:
    """The LP of the package docstring for stretch ``s``, as arrays."""
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
    return StretchLp(
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


def solve_stretch(sit: Situation, s: int, lp: StretchLp) -> np.ndarray:
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
    lp: StretchLp,
    cost: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    *,
    integer: bool = False,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Minimise ``cost`` with HiGHS (through clearing.highs, the one module that imports
    highspy).

    An integer search (to within one kW moved, at most ``MAX_NODES`` nodes) returns no
    values if it found no integer point; ``start`` is a feasible point to begin from.
    """
    status, x = solve_arrays(
        cost,
        lb,
        ub,
        lp.A,
        lp.row_lb,
        lp.row_ub,
        sense="minimise",
        integrality=np.ones(cost.size, dtype=np.int32) if integer else None,
        options={"mip_max_nodes": MAX_NODES, "mip_abs_gap": MOVE_COST} if integer else None,
        start=start,
    )
    if integer:
        return np.zeros(0) if x is None else x
    if status != "Optimal" or x is None:
        raise RuntimeError(
            f"HiGHS did not solve the re-backing LP ({lp.A.shape[1]:,} columns, "
            f"{lp.A.shape[0]:,} rows): model status {status!r}. The LP is feasible by "
            "construction (everything may be lost), so this is a solver failure."
        )
    return x


def _change(lp: StretchLp, x: np.ndarray) -> np.ndarray:
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


def _whole_kw(lp: StretchLp, x: np.ndarray) -> np.ndarray | None:
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


def _lost(lp: StretchLp, x: np.ndarray) -> float:
    return float(x[lp.first_lost :].sum())


def _near(lp: StretchLp, x: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
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
