"""HiGHS, and nothing else: the only module that imports highspy.

The engine's options (every one that can change an answer is set here and recorded with
the result), a model handed over as arrays in one call (``pass_model``, minimised or
maximised: every LP and MILP of the engine goes through it), a one-shot solve of such a
model (``solve_arrays``, the dispatch LPs), and the master MILP of the clearing's Benders
decomposition (``clearing.solve``) with the callback that lets the clearing watch every
solution HiGHS finds and stop it once the proof is complete.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

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
    # master a tight bound and the clearing its own incumbent, so without them the proof
    # completes.
    "mip_heuristic_effort": 0.0,
    "output_flag": False,
}
HIGHSPY_VERSION = importlib.metadata.version("highspy")

Option = bool | int | float | str
Sense = Literal["minimise", "maximise"]
_SENSE = {"minimise": highspy.ObjSense.kMinimize, "maximise": highspy.ObjSense.kMaximize}

# A master solution found by HiGHS: the values of its columns (unscaled, MW).
OnSolution = Callable[[np.ndarray], None]
# Asked with HiGHS' dual bound now and then during a MIP: True stops the search.
ShouldStop = Callable[[float], bool]


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
    A: sp.spmatrix | sp.sparray,
    row_lb: np.ndarray,
    row_ub: np.ndarray,
    integrality: np.ndarray | None,
    *,
    sense: Sense,
) -> None:
    """Hand HiGHS a whole model as arrays, column-wise, in one call: ``sense`` ``cost·x``
    s.t. ``row_lb <= A x <= row_ub``, ``lb <= x <= ub``, integer where ``integrality``."""
    A = A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.sense_ = _SENSE[sense]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lb, ub
    lp.row_lower_, lp.row_upper_ = row_lb, row_ub
    if integrality is not None and integrality.any():
        lp.integrality_ = [highspy.HighsVarType(int(v)) for v in integrality]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h.passModel(lp)


def solve_arrays(
    cost: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    A: sp.spmatrix | sp.sparray,
    row_lb: np.ndarray,
    row_ub: np.ndarray,
    *,
    sense: Sense,
    integrality: np.ndarray | None = None,
    options: Mapping[str, Option] | None = None,
    start: np.ndarray | None = None,
) -> tuple[str, np.ndarray | None]:
    """Solve one model (as ``pass_model``) in a fresh HiGHS with the engine's options plus
    ``options``, from the feasible point ``start`` if given.

    HiGHS' model status in its own words ("Optimal", "Time limit reached", ...) and the
    column values, or None when HiGHS has no feasible point.
    """
    h = new_highs()
    for name, value in (options or {}).items():
        h.setOptionValue(name, value)
    pass_model(h, cost, lb, ub, A, row_lb, row_ub, integrality, sense=sense)
    if start is not None:
        set_start(h, start)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if h.getInfo().primal_solution_status != 2:  # no feasible point
        return status, None
    return status, np.asarray(h.getSolution().col_value)


def model_status(h: highspy.Highs) -> str:
    """optimal | time_limit | infeasible | interrupted | error."""
    return {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
        # The master is bounded (every bid column has finite bounds).
        highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
        highspy.HighsModelStatus.kInterrupt: "interrupted",
    }.get(h.getModelStatus(), "error")


def allow(h: highspy.Highs, seconds: float) -> None:
    """Let the next run of ``h`` take at most ``seconds`` (``inf``: no limit).

    HiGHS compares its ``time_limit`` with the run time accumulated over every run of the
    instance, not with the next run's: a reused instance (the master, the fleet LP) would
    otherwise stop early, or at once.
    """
    h.setOptionValue("time_limit", float(h.getRunTime() + max(seconds, 0.0)))


def set_start(h: highspy.Highs, values: np.ndarray) -> None:
    """Hand HiGHS a feasible point to start its MIP search from."""
    start = highspy.HighsSolution()
    start.col_value = list(values)
    start.value_valid = True
    h.setSolution(start)


def run_mip(h: highspy.Highs, cost: np.ndarray) -> np.ndarray | None:
    """Run a MIP; the values of its best solution, or None without one.

    HiGHS 1.16 can report the optimum's value but hand back the start it was given (seen
    on a 6-column master solved in presolve): then it solves again without the start.
    """
    h.run()
    if _stale(h, cost):
        h.clearSolver()
        h.run()
    if h.getInfo().primal_solution_status != 2:  # no feasible point
        return None
    return np.asarray(h.getSolution().col_value)


def _stale(h: highspy.Highs, cost: np.ndarray) -> bool:
    """Whether the solution HiGHS hands back is not worth what it reports."""
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return False
    reported = float(info.objective_function_value)
    held = float(cost @ np.asarray(h.getSolution().col_value))
    return abs(held - reported) > 1e-7 * (1.0 + abs(reported))


class MasterMilp:
    """The bid part of the clearing model plus fleet cuts, kept in one HiGHS instance."""

    def __init__(
        self,
        arrays: MilpArrays,
        cost: np.ndarray,
        lb: np.ndarray,
        ub: np.ndarray,
        extra_row: tuple[np.ndarray, float] | None,
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
        self.t_cols = arrays.products["col"].to_numpy()
        self.inc_mw = arrays.products["inc_kw"].to_numpy() / 1000
        self.alloc_mw = arrays.products["alloc_kw"].to_numpy() / 1000
        self.integer = np.flatnonzero(integrality).astype(np.int32)
        self.cost = cost * self.scale
        self.h = new_highs()
        pass_model(
            self.h,
            self.cost,
            lb / self.scale,
            ub / self.scale,
            A.tocsc(),
            row_lb,
            row_ub,
            integrality,
            sense="maximise",
        )
        self._on_solution: OnSolution | None = None
        self._should_stop: ShouldStop | None = None
        self.h.cbMipImprovingSolution += self._improving
        self.h.cbMipInterrupt += self._interrupt

    def totals(self, values: np.ndarray) -> np.ndarray:
        """X_p in MW of a master solution."""
        totals: np.ndarray = self.inc_mw * values[self.t_cols] + self.alloc_mw
        return totals

    def add_cut(self, pi: np.ndarray, pi0: float) -> None:
        """Σ π_p (inc_p T_p + A_p) <= π_0, as a row over the T columns."""
        keep = np.flatnonzero(pi != 0)
        self.h.addRow(
            -np.inf,
            pi0 - float(pi @ self.alloc_mw),
            len(keep),
            self.t_cols[keep].astype(np.int32),
            (pi * self.inc_mw)[keep],
        )

    @contextlib.contextmanager
    def narrowed(
        self, fix: np.ndarray, at: np.ndarray, integer: np.ndarray, max_nodes: int
    ) -> Iterator[None]:
        """For a while: columns ``fix`` fixed ``at`` values, only ``integer`` integer, and
        the search capped at ``max_nodes``."""
        fix = fix.astype(np.int32)
        lp = self.h.getLp()
        lower, upper = np.asarray(lp.col_lower_)[fix], np.asarray(lp.col_upper_)[fix]
        loose = np.setdiff1d(self.integer, integer).astype(np.int32)
        self.h.changeColsBounds(len(fix), fix, at, at)
        self.h.changeColsIntegrality(
            len(loose), loose, np.full(len(loose), highspy.HighsVarType.kContinuous)
        )
        self.h.setOptionValue("mip_max_nodes", max_nodes)
        try:
            yield
        finally:
            self.h.setOptionValue("mip_max_nodes", 2**31 - 1)  # HiGHS' default
            self.h.changeColsBounds(len(fix), fix, lower, upper)
            self.h.changeColsIntegrality(
                len(loose), loose, np.full(len(loose), highspy.HighsVarType.kInteger)
            )
            self.h.clearSolver()

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
        set_start(self.h, np.round(values / self.scale, 9))

    def run(
        self,
        deadline: float,
        on_solution: OnSolution | None = None,
        should_stop: ShouldStop | None = None,
    ) -> tuple[str, np.ndarray | None]:
        """Solve until optimal, ``deadline`` or ``should_stop``; the status and values.

        During a MIP, ``on_solution`` sees every improving solution HiGHS finds.
        """
        self._on_solution, self._should_stop = on_solution, should_stop
        allow(self.h, max(deadline - time.perf_counter(), 0.01))
        try:
            values = run_mip(self.h, self.cost)
        finally:
            self._on_solution = self._should_stop = None
        return model_status(self.h), None if values is None else values * self.scale

    def objective(self) -> float:
        return float(self.h.getInfo().objective_function_value)

    def dual_bound(self) -> float:
        """The MIP's proven upper bound; ``inf`` when the search stopped before it had one.

        A MIP solved in presolve reports no dual bound: its optimum is the bound.
        """
        info = self.h.getInfo()
        bound = float(info.mip_dual_bound)
        if np.isfinite(bound):
            return bound
        if model_status(self.h) == "optimal":
            return float(info.objective_function_value)
        return np.inf

    def _improving(self, event: Any) -> None:
        if self._on_solution is not None:
            self._on_solution(np.asarray(event.data_out.mip_solution) * self.scale)

    def _interrupt(self, event: Any) -> None:
        # Always set the flag: HiGHS keeps it from one run to the next, so a stop asked
        # for in one run would otherwise end the next one at once.
        stop = self._should_stop is not None and self._should_stop(event.data_out.mip_dual_bound)
        event.interrupt(stop)


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
