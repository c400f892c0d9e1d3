"""HiGHS, and nothing else: the only module that imports highspy.

The clearing MILP (``clearing.model``) is solved by Benders decomposition into

- a master MILP over the bid columns only (product totals, price levels, bids and their
  binaries), where the fleet appears as cuts on the product totals ``X_p``; and
- a fleet LP that, for given totals, finds the backing ``w`` or proves that none exists,
  and then yields a cut ``Σ_p π_p·X_p <= π_0`` that every backable vector of totals obeys.

Why: with the fleet's continuous ``w`` inside the MILP, HiGHS spends nearly all its time
in root cut separation (path aggregation over ``w``) and hardly branches (measured with
py-spy: ~80 % in HighsPathSeparator on the 10,000-bid day). Without ``w`` the master is a
small knapsack-like MILP that HiGHS proves in seconds.

Cuts first come from the LP relaxation (Kelley's loop: cheap LP re-solves until the LP
optimum is backable), then from integer master solutions until one is backable: that one
is optimal for the full problem, since the master is a relaxation of it.

Every option that can change the answer is set here and recorded with the result.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from clearing.model import MilpArrays

# HiGHS' default relative gap (1e-4) would allow 100 EUR on a 1 MEUR auction: money needs an
# absolute gap below one cent, and no relative slack at all.
OPTIONS: dict[str, Any] = {
    "mip_rel_gap": 0.0,
    "mip_abs_gap": 0.005,
    "threads": 1,
    "random_seed": 0,
    "presolve": "on",
    # HiGHS' root rounding heuristics (line search with conflict propagation) took the
    # whole minute on the 100,000-bid master without improving; the Kelley LP gives the
    # master a tight bound, and without them the proof completes.
    "mip_heuristic_effort": 0.0,
    "output_flag": False,
}
HIGHSPY_VERSION = importlib.metadata.version("highspy")
# A master solution is backable when the fleet LP misses less than this (MW, summed).
SHORTFALL_TOL = 1e-6
MAX_ROUNDS = 500


@dataclass(frozen=True)
class Cuts:
    """Fleet cuts ``pi @ X <= pi0`` on product totals in MW (rows of ``pi``)."""

    pi: np.ndarray
    pi0: np.ndarray

    def add(self, pi: np.ndarray, pi0: float) -> Cuts:
        return Cuts(np.vstack([self.pi, pi]), np.append(self.pi0, pi0))


@dataclass(frozen=True)
class Solution:
    """What came back from HiGHS, over all columns of the model."""

    status: str  # optimal | time_limit | infeasible | error
    values: np.ndarray
    objective: float
    dual_bound: float
    mip_gap: float
    solve_s: float
    cuts: Cuts
    rounds: int = 0
    options: dict[str, object] = field(default_factory=dict)


def solve(
    arrays: MilpArrays,
    time_limit_s: float,
    objective: np.ndarray | None = None,
    extra_row: tuple[np.ndarray, float] | None = None,
    start: np.ndarray | None = None,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    cuts: Cuts | None = None,
    warm_up: bool = True,
    fleet: FleetLP | None = None,
) -> Solution:
    """Maximise ``objective`` (default ``arrays.c``) over the model.

    ``extra_row`` = (coefficients, lower bound) adds ``a·v >= lb`` over bid columns (the
    revenue floor of the tie-break stage); ``start`` is a feasible point to begin from;
    ``bounds`` replaces the column bounds; ``cuts`` are fleet cuts known from before;
    ``warm_up`` runs Kelley's loop on the LP relaxation first (not needed when ``cuts``
    already describe the fleet near the answer); ``fleet`` is the fleet LP of an earlier
    solve of the same model, reused so that its basis stays warm.
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    fw = arrays.first_w
    lb, ub = (arrays.lb, arrays.ub) if bounds is None else bounds
    cost = (arrays.c if objective is None else objective)[:fw]
    fleet = fleet if fleet is not None else FleetLP(arrays)
    cuts = cuts if cuts is not None else fleet.aggregate_cuts()
    master = _Master(arrays, cost, lb[:fw], ub[:fw], extra_row, cuts)
    options: dict[str, object] = {**OPTIONS, "time_limit": float(time_limit_s)}

    # Kelley's loop on the LP relaxation: cheap, and it finds most of the cuts that matter.
    rounds = 0
    master.relax(True)
    while warm_up and rounds < MAX_ROUNDS and time.perf_counter() < deadline:
        rounds += 1
        status, values = master.run(deadline)
        if status != "optimal" or values is None or not fleet.add_cut_if_short(master, values):
            break
    master.relax(False)
    if start is not None:
        master.set_start(start[:fw])

    best: np.ndarray | None = None
    status = "time_limit"
    while rounds < 2 * MAX_ROUNDS and time.perf_counter() < deadline:
        rounds += 1
        status, values = master.run(deadline)
        if status not in ("optimal", "time_limit") or values is None:
            break
        if fleet.add_cut_if_short(master, values):
            status = "time_limit"
            continue
        best = values
        break

    info = master.info()
    if best is None:
        status = "infeasible" if status == "infeasible" else status
        if status != "infeasible":
            status = "time_limit" if time.perf_counter() >= deadline else "error"
        return Solution(
            status=status,
            values=np.zeros(arrays.c.size),
            objective=0.0,
            dual_bound=info[1],
            mip_gap=float("inf"),
            solve_s=time.perf_counter() - t0,
            cuts=master.cuts,
            rounds=rounds,
            options={**options, "highspy": HIGHSPY_VERSION},
        )
    return Solution(
        status=status,
        values=np.concatenate([best, fleet.backing]),
        objective=float(cost @ best),
        dual_bound=info[1],
        mip_gap=info[2],
        solve_s=time.perf_counter() - t0,
        cuts=master.cuts,
        rounds=rounds,
        options={**options, "highspy": HIGHSPY_VERSION},
    )


class _Master:
    """The bid part of the model plus fleet cuts, kept in one HiGHS instance."""

    def __init__(
        self,
        arrays: MilpArrays,
        cost: np.ndarray,
        lb: np.ndarray,
        ub: np.ndarray,
        extra_row: tuple[np.ndarray, float] | None,
        cuts: Cuts,
    ) -> None:
        fw, fc = arrays.first_w, arrays.first_coupling
        # In the master, bid volumes count increments and are integer: then every column
        # with a cost is integer, HiGHS finds the objective integral (in cents) and can
        # round its bound down to the next cent, which is what proves optimality fast.
        self.scale = np.ones(fw)
        integrality = arrays.integrality[:fw].copy()
        for frame, col in ((arrays.levels, "col"), (arrays.complex_bids, "x_col")):
            inc = frame.join(arrays.products, on="product_id", how="left")["inc_kw"]
            self.scale[frame[col].to_numpy()] = inc.to_numpy() / 1000
            integrality[frame[col].to_numpy()] = 1
        A = arrays.A[:fc, :fw] @ sp.diags(self.scale)
        row_lb, row_ub = arrays.row_lb[:fc], arrays.row_ub[:fc]
        if extra_row is not None:
            coef, floor = extra_row
            row = sp.csc_matrix((coef[:fw] * self.scale).reshape(1, -1))
            A = sp.vstack([A, row], format="csc")
            row_lb, row_ub = np.append(row_lb, floor), np.append(row_ub, np.inf)
        cost, lb, ub = cost * self.scale, lb / self.scale, ub / self.scale
        self.t_cols = arrays.products["col"].to_numpy()
        self.inc_mw = arrays.products["inc_kw"].to_numpy() / 1000
        self.alloc_mw = arrays.products["alloc_kw"].to_numpy() / 1000
        self.integer = np.flatnonzero(integrality).astype(np.int32)
        self.cuts = Cuts(np.zeros((0, len(self.t_cols))), np.zeros(0))
        self.h = new_highs()
        pass_model(self.h, cost, lb, ub, A.tocsc(), row_lb, row_ub, integrality)
        for pi, pi0 in zip(cuts.pi, cuts.pi0, strict=True):
            self.add_cut(pi, float(pi0))

    def totals(self, values: np.ndarray) -> np.ndarray:
        """X_p in MW of a master solution."""
        totals: np.ndarray = self.inc_mw * values[self.t_cols] + self.alloc_mw
        return totals

    def add_cut(self, pi: np.ndarray, pi0: float) -> None:
        """Σ π_p (inc_p T_p + A_p) <= π_0, as a row over the T columns."""
        self.cuts = self.cuts.add(pi, pi0)
        keep = np.flatnonzero(pi != 0)
        self.h.addRow(
            -np.inf,
            pi0 - float(pi @ self.alloc_mw),
            len(keep),
            self.t_cols[keep].astype(np.int32),
            (pi * self.inc_mw)[keep],
        )

    def relax(self, relaxed: bool) -> None:
        kind = highspy.HighsVarType.kContinuous if relaxed else highspy.HighsVarType.kInteger
        n = len(self.integer)
        self.h.changeColsIntegrality(n, self.integer, np.full(n, kind))
        if not relaxed:
            # Forget the LP relaxation's solution and basis: with them kept, HiGHS 1.16
            # returned a non-optimal MIP answer as optimal (a 2-asset case in
            # tests/golden: 10 EUR instead of 12).
            self.h.clearSolver()

    def set_start(self, values: np.ndarray) -> None:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.round(values / self.scale, 9))
        sol.value_valid = True
        self.h.setSolution(sol)

    def run(self, deadline: float) -> tuple[str, np.ndarray | None]:
        self.h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
        self.h.run()
        status = _status(self.h)
        has_value = self.h.getInfo().primal_solution_status == 2  # feasible
        if not has_value:
            return status, None
        return status, np.asarray(self.h.getSolution().col_value) * self.scale

    def info(self) -> tuple[float, float, float]:
        info = self.h.getInfo()
        gap = float(info.mip_gap) if np.isfinite(info.mip_gap) else 0.0
        return float(info.objective_function_value), float(info.mip_dual_bound), gap


class FleetLP:
    """The fleet LP for given totals: ``Σ_k w_pmk + u_pm = X_p``, capacity rows, min Σ u."""

    def __init__(self, arrays: MilpArrays) -> None:
        fw, fc, fk = arrays.first_w, arrays.first_coupling, arrays.first_capacity
        A = arrays.A.tocsr()
        coupling = A[fc:fk, fw:]
        self.capacity = A[fk:, fw:].tocsc()
        self.rhs = arrays.row_ub[fk:]
        self.group = arrays.capacity_group
        n_pairs, n_w = coupling.shape
        # Each coupling row names one (product, market): its product is where T enters.
        t_of_row = A[fc:fk, : arrays.first_w].tocsr()
        p_index = {int(c): i for i, c in enumerate(arrays.products["col"].to_numpy())}
        self.pair_product = np.array(
            [p_index[int(t_of_row.indices[t_of_row.indptr[r]])] for r in range(n_pairs)],
            dtype=np.int64,
        )
        self.w_pair = (
            np.asarray(coupling.argmax(axis=0)).ravel() if n_pairs else np.zeros(0, np.int64)
        )
        self.n_products = arrays.products.height
        self.n_pairs = n_pairs
        self.backing = np.zeros(n_w)
        self.h = new_highs()
        # The first solve starts cold on a large, degenerate LP: interior point (with
        # crossover, for a basis) is 3-6x faster there than dual simplex; later solves
        # change only the totals and warm-start the simplex from that basis.
        self.h.setOptionValue("solver", "ipm")
        self.cold = True
        A_sub = sp.vstack(
            [
                sp.hstack([coupling, sp.identity(n_pairs, format="csr")]),
                sp.hstack([self.capacity, sp.csr_matrix((self.capacity.shape[0], n_pairs))]),
            ],
            format="csc",
        )
        cost = np.concatenate([np.zeros(n_w), -np.ones(n_pairs)])
        pass_model(
            self.h,
            cost,
            np.zeros(n_w + n_pairs),
            np.full(n_w + n_pairs, np.inf),
            A_sub,
            np.concatenate([np.zeros(n_pairs), np.full(len(self.rhs), -np.inf)]),
            np.concatenate([np.zeros(n_pairs), self.rhs]),
            None,
        )

    def cut_from(self, lam: np.ndarray) -> tuple[np.ndarray, float]:
        """The strongest cut that weights ``lam >= 0`` on the capacity rows give.

        For any backable totals, Σ_pm μ_pm X_p = Σ μ_pm Σ_k w_pmk <= λ·(A w) <= λ·rhs as
        long as μ_pm <= (Aᵀλ) of every column of (p, m); so μ_pm is that minimum. Valid
        for any λ >= 0, whatever sign convention the LP's duals follow.
        """
        lam = np.clip(lam, 0.0, None)
        per_column = self.capacity.T @ lam
        mu = np.full(self.n_pairs, np.inf)
        np.minimum.at(mu, self.w_pair, per_column)
        mu[~np.isfinite(mu)] = 0.0
        pi = np.zeros(self.n_products)
        np.add.at(pi, self.pair_product, mu)
        return pi, float(lam @ self.rhs)

    def aggregate_cuts(self) -> Cuts:
        """One cut per time segment and capacity kind: the whole zone's capacity, summed."""
        groups = np.unique(self.group)
        cuts = [self.cut_from((self.group == g).astype(np.float64)) for g in groups]
        if not cuts:
            return Cuts(np.zeros((0, self.n_products)), np.zeros(0))
        return Cuts(np.array([c[0] for c in cuts]), np.array([c[1] for c in cuts]))

    def add_cut_if_short(self, master: _Master, values: np.ndarray) -> bool:
        """Back the master's totals; if the fleet falls short, add a cut and say so."""
        if self.n_pairs == 0:
            return False
        x = master.totals(values)[self.pair_product]
        rows = np.arange(self.n_pairs, dtype=np.int32)
        self.h.changeRowsBounds(self.n_pairs, rows, x, x)  # type: ignore[attr-defined]
        self.h.run()
        if self.cold:
            self.h.setOptionValue("solver", "simplex")
            self.cold = False
        solution = self.h.getSolution()
        shortfall = -float(self.h.getInfo().objective_function_value)
        lam = np.asarray(solution.row_dual)[self.n_pairs :]
        pi, pi0 = self.cut_from(lam)
        # A shortfall within LP tolerances, or one whose cut would not separate these
        # totals (numerical noise), counts as backed; anything else becomes a cut.
        separates = float(pi @ master.totals(values)) - pi0 > SHORTFALL_TOL * (1 + abs(pi0))
        if shortfall <= SHORTFALL_TOL or not separates:
            self.backing = np.asarray(solution.col_value)[: self.capacity.shape[1]]
            return False
        master.add_cut(pi, pi0)
        # The same weights, one time segment at a time, give more cuts from the same LP:
        # each is valid on its own (any λ >= 0 is), and together they cut deeper.
        segment = self.group // 3
        for s in np.unique(segment[lam > 0]):
            pi_s, pi0_s = self.cut_from(np.where(segment == s, lam, 0.0))
            if float(pi_s @ master.totals(values)) - pi0_s > SHORTFALL_TOL * (1 + abs(pi0_s)):
                master.add_cut(pi_s, pi0_s)
        return True


def new_highs() -> highspy.Highs:
    """A silent HiGHS with the engine's options: for every model, the dispatch LPs too."""
    with _stdout_silenced():
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    for name, value in OPTIONS.items():
        h.setOptionValue(name, value)
    return h


def pass_model(
    h: highspy.Highs,
    cost: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    A: sp.csc_matrix,
    row_lb: np.ndarray,
    row_ub: np.ndarray,
    integrality: np.ndarray | None,
) -> None:
    """Hand HiGHS a whole model as arrays, column-wise, in one call."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lb, ub
    lp.row_lower_, lp.row_upper_ = row_lb, row_ub
    if integrality is not None and integrality.any():
        lp.integrality_ = [highspy.HighsVarType(int(v)) for v in integrality]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h.passModel(lp)


def _status(h: highspy.Highs) -> str:
    return {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
        # The master is bounded (every bid column has finite bounds).
        highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    }.get(h.getModelStatus(), "error")


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """HiGHS prints a banner from C on its first construction; keep the terminal for humans."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # pytest capture or a StringIO
        yield
        return
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(devnull)
        os.close(saved)
