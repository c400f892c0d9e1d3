"""The checker's own clearing model: the straightforward MILP of docs/clearing.md.

This module shares no code with ``clearing.model`` or ``clearing.solve``: it is written
from docs/clearing.md alone and solved with ``scipy.optimize.milp``, so that an error in the
production model is not repeated here. It is deliberately plain: one integer and one
binary per eligible bid, one continuous ``w`` per (product, market, asset) and one
capacity row per asset, MTU and kind, with no merging of MTUs. It also serves as the
baseline formulation of the benchmarks.

What it reads of the archive, as arrays (the grid, the bids in integer units and their
eligibility), comes from ``clearing.reference_arrays``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from auction.book import MARKETS
from auction.errors import InfeasibleAllocation, Problem
from auction.model import Archive
from auction.units import CENTS_PER_EUR, KW_PER_MW
from clearing.reference_arrays import (
    KINDS,
    BoolArray,
    FloatArray,
    Grid,
    IntArray,
    bid_units,
    build_grid,
    eligible_bids,
)

# scipy's milp status codes.
_MILP_OPTIMAL, _MILP_LIMIT, _MILP_INFEASIBLE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ReferenceSolution:
    """What the reference model found: status, revenue and awards in kW."""

    status: Literal["optimal", "time_limit", "infeasible"]
    objective_eur: float | None
    awarded_kw: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Rows:
    """A block of constraint rows in coordinate form, rows numbered from 0."""

    row: IntArray
    col: IntArray
    val: FloatArray
    lo: FloatArray
    hi: FloatArray


def _rows(
    row: npt.ArrayLike, col: npt.ArrayLike, val: npt.ArrayLike, lo: npt.ArrayLike, hi: npt.ArrayLike
) -> _Rows:
    return _Rows(
        np.asarray(row, dtype=np.int64),
        np.asarray(col, dtype=np.int64),
        np.asarray(val, dtype=np.float64),
        np.asarray(lo, dtype=np.float64),
        np.asarray(hi, dtype=np.float64),
    )


@dataclass(frozen=True, slots=True)
class ReferenceMilp:
    """The reference model as arrays: minimise ``c·v`` s.t. ``lo ≤ A v ≤ hi``, bounds, integrality.

    Variables are ``[n_b (eligible bids), y_b (eligible bids), w_{p,m,k}]``.
    """

    c: FloatArray
    integrality: IntArray
    lb: FloatArray
    ub: FloatArray
    a: sp.csr_matrix
    lo: FloatArray
    hi: FloatArray
    bid_ids: list[str]
    inc_kw: IntArray
    price_cents: IntArray


def build_reference(archive: Archive) -> ReferenceMilp:
    """Assemble the reference MILP from the archive's frames."""
    grid = build_grid(archive)
    units = bid_units(archive)
    keep = np.flatnonzero(eligible_bids(archive))
    bid_p = np.asarray(units["p_index"][keep], dtype=np.int64)
    inc_mw = units["inc_kw"][keep] / KW_PER_MW
    n_bids = keep.size
    w_p, w_m, w_k = _w_index(grid)
    fixed = _fixed_mw(archive, grid)
    blocks = [
        _rows_quantity(units, keep, inc_mw),
        _rows_exclusive(archive, keep),
        _rows_link(archive, keep),
        _rows_supply(archive, bid_p, inc_mw, fixed),
        _rows_coupling(grid, bid_p, inc_mw, fixed, (w_p, w_m), 2 * n_bids),
        _rows_capacity(grid, (w_p, w_m, w_k), 2 * n_bids),
    ]
    a, lo, hi = _stack(blocks, 2 * n_bids + w_p.size)
    price_cents = np.asarray(units["price_cents"][keep], dtype=np.int64)
    n_max = units["q_kw"][keep] // np.maximum(units["inc_kw"][keep], 1)
    objective = -(price_cents / CENTS_PER_EUR) * inc_mw
    return ReferenceMilp(
        c=np.concatenate([objective, np.zeros(n_bids + w_p.size)]),
        integrality=np.concatenate(
            [np.ones(2 * n_bids, dtype=np.int64), np.zeros(w_p.size, dtype=np.int64)]
        ),
        lb=np.zeros(2 * n_bids + w_p.size),
        ub=np.concatenate([n_max.astype(np.float64), np.ones(n_bids), np.full(w_p.size, np.inf)]),
        a=a,
        lo=lo,
        hi=hi,
        bid_ids=[archive.bids["bid_id"][int(i)] for i in keep],
        inc_kw=np.asarray(units["inc_kw"][keep], dtype=np.int64),
        price_cents=price_cents,
    )


def _w_index(grid: Grid) -> tuple[IntArray, IntArray, IntArray]:
    """(p, m, k) of every ``w`` variable: factor > 0 and the asset may back the market."""
    usable = (grid.factors > 0)[:, :, None] & grid.may_back.T[None, :, :]
    p, m, k = np.nonzero(usable)
    return p.astype(np.int64), m.astype(np.int64), k.astype(np.int64)


def _fixed_mw(archive: Archive, grid: Grid) -> FloatArray:
    """``A_p``: MW of fixed allocations per product."""
    totals = archive.allocations.group_by("product_id").agg(pl.col("quantity_mw").sum())
    by_product = dict(
        zip(totals["product_id"].to_list(), totals["quantity_mw"].to_list(), strict=True)
    )
    return np.array([by_product.get(p, 0.0) for p in grid.product_ids], dtype=np.float64)


def _rows_quantity(
    units: dict[str, npt.NDArray[np.int64] | BoolArray], keep: IntArray, inc_mw: FloatArray
) -> _Rows:
    """``min_b·y_b ≤ inc·n_b ≤ q_b·y_b``, as ``inc·n - q·y ≤ 0`` and ``inc·n - min·y ≥ 0``."""
    n = keep.size
    i = np.arange(n)
    q_mw = units["q_kw"][keep] / KW_PER_MW
    min_mw = units["min_kw"][keep] / KW_PER_MW
    return _rows(
        row=np.concatenate([i, i, n + i, n + i]),
        col=np.concatenate([i, n + i, i, n + i]),
        val=np.concatenate([inc_mw, -q_mw, inc_mw, -min_mw]),
        lo=np.concatenate([np.full(n, -np.inf), np.zeros(n)]),
        hi=np.concatenate([np.zeros(n), np.full(n, np.inf)]),
    )


def _rows_exclusive(archive: Archive, keep: IntArray) -> _Rows:
    """``Σ_{b∈g} y_b ≤ 1`` for every (org, exclusive group) with two or more eligible bids."""
    kept = pl.DataFrame({"i": keep, "j": np.arange(keep.size, dtype=np.int64)})
    bids = archive.bids.with_row_index("i").with_columns(pl.col("i").cast(pl.Int64))
    groups = (
        bids.join(kept, on="i", how="inner")
        .filter(pl.col("exclusive_group").is_not_null())
        .group_by("org_id", "exclusive_group")
        .agg(pl.col("j"))
        .filter(pl.col("j").list.len() > 1)
        .sort("org_id", "exclusive_group")
        .with_row_index("g")
        .explode("j")
    )
    g = groups["g"].to_numpy()
    n_groups = int(g.max()) + 1 if g.size else 0
    return _rows(
        row=g,
        col=keep.size + groups["j"].to_numpy(),
        val=np.ones(g.size),
        lo=np.full(n_groups, -np.inf),
        hi=np.ones(n_groups),
    )


def _rows_link(archive: Archive, keep: IntArray) -> _Rows:
    """``y_child - y_parent ≤ 0``; both are eligible, else the child was dropped already."""
    ids = [archive.bids["bid_id"][int(i)] for i in keep]
    position = {bid: j for j, bid in enumerate(ids)}
    parents = [archive.bids["linked_to"][int(i)] for i in keep]
    pairs = np.array(
        [(j, position[p]) for j, p in enumerate(parents) if p is not None], dtype=np.int64
    ).reshape(-1, 2)
    r = np.arange(pairs.shape[0])
    n = keep.size
    return _rows(
        row=np.concatenate([r, r]),
        col=n + np.concatenate([pairs[:, 0], pairs[:, 1]]),
        val=np.concatenate([np.ones(r.size), -np.ones(r.size)]),
        lo=np.full(r.size, -np.inf),
        hi=np.zeros(r.size),
    )


def _rows_supply(archive: Archive, bid_p: IntArray, inc_mw: FloatArray, fixed: FloatArray) -> _Rows:
    """``Σ_{b∈p} inc·n_b ≤ max_mw_p - A_p`` for products with a cap."""
    max_mw = archive.products["max_mw"].to_numpy().astype(np.float64)
    capped = np.flatnonzero(~np.isnan(max_mw))
    row_of = np.full(max_mw.size, -1)
    row_of[capped] = np.arange(capped.size)
    in_capped = row_of[bid_p] >= 0
    return _rows(
        row=row_of[bid_p][in_capped],
        col=np.flatnonzero(in_capped),
        val=inc_mw[in_capped],
        lo=np.full(capped.size, -np.inf),
        hi=max_mw[capped] - fixed[capped],
    )


def _rows_coupling(
    grid: Grid,
    bid_p: IntArray,
    inc_mw: FloatArray,
    fixed: FloatArray,
    w_pm: tuple[IntArray, IntArray],
    w_offset: int,
) -> _Rows:
    """``Σ_k w_{p,m,k} - Σ_{b∈p} inc·n_b = A_p`` for every (p, m) with ``f_{p,m} > 0``."""
    n_markets = len(MARKETS)
    pm = np.flatnonzero(grid.factors.ravel() > 0)  # p * M + m of every coupled pair
    row_of = np.full(grid.factors.size, -1)
    row_of[pm] = np.arange(pm.size)
    w_p, w_m = w_pm
    # Each bid enters the row of every coupled market of its product.
    bid_rows = row_of.reshape(-1, n_markets)[bid_p]  # (B, M)
    b, m = np.nonzero(bid_rows >= 0)
    rhs = fixed[pm // n_markets]
    return _rows(
        row=np.concatenate([row_of[w_p * n_markets + w_m], bid_rows[b, m]]),
        col=np.concatenate([w_offset + np.arange(w_p.size), b]),
        val=np.concatenate([np.ones(w_p.size), -inc_mw[b]]),
        lo=rhs,
        hi=rhs,
    )


def _rows_capacity(grid: Grid, w_pmk: tuple[IntArray, IntArray, IntArray], w_offset: int) -> _Rows:
    """``Σ_p coef[c,p,m]·w_{p,m,k} ≤ capacity[c,k,t]`` for every kind, asset and MTU.

    Results are whole kW, so a row whose coefficients are fractions ``n/d`` can only be
    filled in steps of ``1/d`` kW: its capacity counts down to the last such step
    (``_whole_kw_limit``).
    """
    w_p, w_m, w_k = w_pmk
    n_assets, n_mtus = grid.capacity.shape[1:]
    rows, cols, vals = [], [], []
    for c in range(len(KINDS)):
        coef = grid.coef[c, w_p, w_m]
        used = np.flatnonzero(coef > 0)
        j, t = np.nonzero(grid.active[w_p[used]])
        rows.append((c * n_assets + w_k[used][j]) * n_mtus + t)
        cols.append(w_offset + used[j])
        vals.append(coef[used][j])
    row, val = np.concatenate(rows), np.concatenate(vals)
    return _rows(
        row=row,
        col=np.concatenate(cols),
        val=val,
        lo=np.full(grid.capacity.size, -np.inf),
        hi=_whole_kw_limit(grid.capacity.ravel(), row, val),
    )


def _whole_kw_limit(capacity_mw: FloatArray, row: IntArray, coef: FloatArray) -> FloatArray:
    """Each row's capacity down to what whole kW can use of it.

    With ``d`` the least common denominator of the row's coefficients (as fractions, up to
    10**6), ``Σ coef·w`` over whole kW moves in steps of ``1/d`` kW; a row with a
    coefficient that is no such fraction keeps its capacity.
    """
    values, which = np.unique(coef, return_inverse=True)
    denominators = np.zeros(values.size, dtype=np.int64)
    for i, value in enumerate(values.tolist()):  # a handful of distinct coefficients
        fraction = Fraction(value).limit_denominator(10**6)
        if abs(float(fraction) - value) <= 1e-12 * max(1.0, abs(value)):
            denominators[i] = fraction.denominator
    d = np.ones(capacity_mw.size, dtype=np.int64)
    np.lcm.at(d, row, denominators[which])  # lcm with 0 is 0: no such fraction
    usable = (d > 0) & (d <= 10**6)
    steps = np.where(usable, d, 1) * 1000.0
    floored = np.floor(capacity_mw * steps + 1e-6) / steps
    out: FloatArray = np.where(usable, np.minimum(floored, capacity_mw), capacity_mw)
    return out


def _stack(blocks: list[_Rows], n_vars: int) -> tuple[sp.csr_matrix, FloatArray, FloatArray]:
    """Concatenate row blocks into one CSR matrix, dropping rows without entries.

    An empty row constrains nothing unless its bounds exclude 0; that case (a fixed
    allocation no asset may carry) is an infeasibility, kept as a row that cannot hold.
    """
    offsets = np.cumsum([0] + [b.lo.size for b in blocks])
    row = np.concatenate([b.row + off for b, off in zip(blocks, offsets, strict=False)])
    col = np.concatenate([b.col for b in blocks])
    val = np.concatenate([b.val for b in blocks])
    lo = np.concatenate([b.lo for b in blocks])
    hi = np.concatenate([b.hi for b in blocks])
    has_entry = np.zeros(lo.size, dtype=bool)
    has_entry[row] = True
    violated = ~has_entry & ((lo > 1e-9) | (hi < -1e-9))
    kept = np.flatnonzero(has_entry | violated)
    new_row = np.full(lo.size, -1)
    new_row[kept] = np.arange(kept.size)
    a = sp.csr_matrix((val, (new_row[row], col)), shape=(kept.size, n_vars))
    return a, lo[kept], hi[kept]


def solve_reference(archive: Archive, time_limit_s: float = 60.0) -> ReferenceSolution:
    """Solve the reference model exactly (``mip_rel_gap = 0``) with scipy's HiGHS.

    Returns the revenue of the best solution found, recomputed exactly from the rounded
    integer awards, and whether optimality was proven.
    """
    model = build_reference(archive)
    if _empty_row_violated(model):
        return ReferenceSolution("infeasible", None, {})
    if model.c.size == 0:
        return ReferenceSolution("optimal", 0.0, {})
    result = milp(
        c=model.c,
        integrality=model.integrality,
        bounds=Bounds(model.lb, model.ub),
        constraints=[LinearConstraint(model.a, model.lo, model.hi)] if model.lo.size else [],
        options={"mip_rel_gap": 0.0, "time_limit": time_limit_s, "disp": False},
    )
    if result.status == _MILP_INFEASIBLE:
        return ReferenceSolution("infeasible", None, {})
    if result.x is None:
        # Out of time before any solution: say so, without a revenue.
        return ReferenceSolution("time_limit", None, {})
    n = np.rint(result.x[: len(model.bid_ids)]).astype(np.int64)
    awarded_kw = n * model.inc_kw
    # kW x cents is exact; one unit is 1e-5 EUR.
    units = int(np.sum(awarded_kw * model.price_cents))
    status: Literal["optimal", "time_limit"] = (
        "optimal" if result.status == _MILP_OPTIMAL else "time_limit"
    )
    return ReferenceSolution(
        status=status,
        objective_eur=units / (KW_PER_MW * CENTS_PER_EUR),
        awarded_kw=dict(zip(model.bid_ids, awarded_kw.tolist(), strict=True)),
    )


def _empty_row_violated(model: ReferenceMilp) -> bool:
    """Whether a row without entries (kept by ``_stack``) has bounds that exclude 0."""
    empty = np.diff(model.a.indptr) == 0
    return bool(np.any(empty & ((model.lo > 1e-9) | (model.hi < -1e-9))))


def reference_optimum(archive: Archive, time_limit_s: float = 60.0) -> float:
    """Revenue in EUR of the reference formulation's optimum.

    Raises
    ------
    InfeasibleAllocation
        When the fixed allocations cannot be served by the fleet.
    TimeoutError
        When no solution is found within ``time_limit_s``.
    """
    solution = solve_reference(archive, time_limit_s)
    if solution.status == "time_limit" and solution.objective_eur is None:
        raise TimeoutError(f"reference model found no solution within {time_limit_s} s")
    if solution.objective_eur is None:
        raise InfeasibleAllocation(
            [
                Problem(
                    file="allocations.csv",
                    row=None,
                    column=None,
                    value=None,
                    rule="the fleet cannot serve the fixed allocations (reference infeasible)",
                )
            ]
        )
    return solution.objective_eur
