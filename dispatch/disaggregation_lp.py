"""The disaggregation LP: one LP over the day, per asset ``k`` and MTU ``t``.

The assets follow the target (``dispatch.fleet_day``) as closely as their power, their
state of charge and the reserves they carry allow, and make up among themselves for what
one of them cannot do (powers kW, energies kWh, ``Δt`` in hours)::

    min  BIG·Σ_t (σ⁺_t + σ⁻_t) + Σ_kt (u_kt + v_kt) + ε·Σ_kt (c_kt + d_kt)
    s.t. s_kt = s_k,t−1 + (η_c·c_kt − d_kt/η_d)·Δt          (state of charge, end of t)
         d_kt − c_kt − u_kt + v_kt = target_kt               (deviation from the split)
         Σ_k (d_kt − c_kt) + σ⁺_t − σ⁻_t = P_t               (the virtual total)
         0 <= d_kt <= a_kt·p_dis_k − up_kt,  0 <= c_kt <= a_kt·p_ch_k − down_kt
         lo_kt <= s_kt <= hi_kt,  u, v, σ⁺, σ⁻ >= 0

``build_disaggregation_lp`` writes ``u`` and ``v`` as pieces of ``d`` and ``c`` (half the
rows; the same objective wherever an asset does not charge and discharge at once). Built
as arrays (scipy.sparse) and handed to HiGHS in one call, through clearing.highs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from clearing.highs import Option, solve_arrays
from dispatch.fleet_day import FleetDay

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


def build_disaggregation_lp(
    day: FleetDay, slack_cost: tuple[np.ndarray, np.ndarray] | None = None
) -> DisaggregationLp:
    """The LP of the module docstring as arrays: the rows of each family, stacked.

    ``slack_cost``: the cost per kW of ``σ⁺`` and ``σ⁻`` in each MTU, instead of ``BIG``
    (the rebalancing plan prices them as the operator's trades: ``dispatch.rebalance``).

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
    short, over = slack_cost or (np.full(n_t, BIG), np.full(n_t, BIG))
    cost = np.concatenate([follow, beyond, follow, beyond, np.zeros(n), short, over])
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


class LpNotSolved(RuntimeError):
    """HiGHS ended without an optimal solution (``status``: its model status)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def solve_lp(
    lp: DisaggregationLp, options: Mapping[str, Option] = OPTIONS
) -> tuple[str, np.ndarray]:
    """HiGHS' model status and the column values (through clearing.highs, the one module
    that imports highspy, for its options and its silenced banner)."""
    status, x = solve_arrays(
        lp.c, lp.lb, lp.ub, lp.A, lp.row_lb, lp.row_ub, sense="minimise", options=options
    )
    if status != "Optimal" or x is None:
        raise LpNotSolved(
            status,
            f"HiGHS did not solve the disaggregation LP ({lp.A.shape[1]:,} columns, "
            f"{lp.A.shape[0]:,} rows): model status {status!r}. The LP is feasible by "
            "construction, so this is a solver failure; try other options (solver, "
            "time_limit).",
        )
    return status, x


def net_power(day: FleetDay, x: np.ndarray) -> np.ndarray:
    """The setpoints (K, T) of an LP solution: discharge minus charge, both pieces each."""
    n = day.target.size
    net: np.ndarray = x[:n] + x[n : 2 * n] - x[2 * n : 3 * n] - x[3 * n : 4 * n]
    return net.reshape(day.target.shape)
