"""HiGHS, and nothing else: the only module that imports highspy.

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

import highspy
import numpy as np
import scipy.sparse as sp

from clearing.model import MilpArrays

# HiGHS' default relative gap (1e-4) would allow 100 EUR on a 1 MEUR auction: money needs an
# absolute gap below one cent, and no relative slack at all.
OPTIONS: dict[str, object] = {
    "mip_rel_gap": 0.0,
    "mip_abs_gap": 0.005,
    "threads": 1,
    "random_seed": 0,
    "presolve": "on",
    "output_flag": False,
}


@dataclass(frozen=True)
class Solution:
    """What came back from HiGHS."""

    status: str  # optimal | time_limit | infeasible | error
    values: np.ndarray
    objective: float
    dual_bound: float
    mip_gap: float
    solve_s: float
    options: dict[str, object] = field(default_factory=dict)


def solve(
    arrays: MilpArrays,
    time_limit_s: float,
    objective: np.ndarray | None = None,
    extra_row: tuple[np.ndarray, float] | None = None,
    start: np.ndarray | None = None,
) -> Solution:
    """Maximise ``objective`` (default ``arrays.c``) over the model.

    ``extra_row`` = (coefficients, lower bound) adds one dense-ish row ``a·v >= lb``
    (the revenue floor of the tie-break stage); ``start`` is a feasible point to begin from.
    """
    t0 = time.perf_counter()
    with _stdout_silenced():
        h = highspy.Highs()
    options = {**OPTIONS, "time_limit": float(time_limit_s)}
    for name, value in options.items():
        h.setOptionValue(name, value)

    A = arrays.A
    row_lb, row_ub = arrays.row_lb, arrays.row_ub
    if extra_row is not None:
        coef, floor = extra_row
        A = sp.vstack([A, sp.csc_matrix(coef.reshape(1, -1))], format="csc")
        row_lb = np.append(row_lb, floor)
        row_ub = np.append(row_ub, np.inf)

    lp = highspy.HighsLp()
    lp.num_col_ = A.shape[1]
    lp.num_row_ = A.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = arrays.c if objective is None else objective
    lp.col_lower_ = arrays.lb
    lp.col_upper_ = arrays.ub
    lp.row_lower_ = row_lb
    lp.row_upper_ = row_ub
    lp.integrality_ = [highspy.HighsVarType(int(v)) for v in arrays.integrality]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(start)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()

    model_status = h.getModelStatus()
    info = h.getInfo()
    status = {
        highspy.HighsModelStatus.kOptimal: "optimal",
        highspy.HighsModelStatus.kTimeLimit: "time_limit",
        highspy.HighsModelStatus.kInfeasible: "infeasible",
        # The model is bounded (every column has finite bounds or is capped by capacity).
        highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible",
    }.get(model_status, "error")
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = np.asarray(h.getSolution().col_value) if has_solution else np.zeros(A.shape[1])
    if status == "time_limit" and not has_solution:
        values = np.zeros(A.shape[1])
    return Solution(
        status=status if (has_solution or status == "infeasible") else "error",
        values=values,
        objective=float(info.objective_function_value) if has_solution else 0.0,
        dual_bound=float(info.mip_dual_bound),
        mip_gap=float(info.mip_gap) if has_solution else float("inf"),
        solve_s=time.perf_counter() - t0,
        options={**options, "highspy": HIGHSPY_VERSION},
    )


HIGHSPY_VERSION = importlib.metadata.version("highspy")


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
