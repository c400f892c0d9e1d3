"""The clearing MILP by Benders decomposition, with an answer at any time limit.

The model of ``clearing.model`` is split into

- a master MILP over the bid columns only (product totals, price levels, bids and their
  binaries), where the fleet appears as cuts on the product totals ``X_p``; and
- the fleet LP (``clearing.fleet``) that, for given totals, finds the backing ``w`` or
  proves that none exists and yields a cut that every backable vector of totals obeys.

Why: with the fleet's continuous ``w`` inside the MILP, HiGHS spends nearly all its time
in root cut separation (path aggregation over ``w``) and hardly branches (measured with
py-spy: ~80 % in HighsPathSeparator on the 10,000-bid day). Without ``w`` the master is a
small knapsack-like MILP.

The order of work (docs/clearing.md tells it for people):

1. Kelley's loop on the master's LP relaxation: cheap LP re-solves, each adding the cuts
   of a totals vector the fleet cannot back, until the LP optimum is backable.
2. Answers from the start: every master point the fleet cannot back is *repaired*: the
   backable part of its totals (from the fleet LP's answer), floored to whole increments,
   refilled with ``clearing.incumbent`` in merit order, its own accepted bids first. The
   first LP is repaired at once (finished past the deadline when nothing else is known),
   the last one too; if nothing is awarded still, the greedy fill of the whole demand.
3. A small MILP next to the LP optimum (``around_the_lp``), for a near-optimal start.
4. The full master MILP from the best answer. HiGHS calls back with every improving
   solution (checked against the fleet at once) and with its dual bound: the search stops
   as soon as the bound is within the money tolerance of the best backable answer.

The master is a relaxation of the clearing, so its LP values and MIP dual bounds are
upper bounds on the revenue: the gap of the best answer is measured against the best of
them, and is unknown, not 0, when nothing was proven.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from clearing.fleet import Backing, Cuts, FleetLP, scaled_backing
from clearing.highs import HIGHSPY_VERSION, OPTIONS, MasterMilp
from clearing.incumbent import Greedy
from clearing.model import MilpArrays

MAX_ROUNDS = 500
# Nodes of the small MILP next to the LP optimum (around_the_lp).
AROUND_THE_LP_NODES = 500
# No master MILP is started with less time left than this, nor than twice the first LP
# relaxation took: HiGHS' MIP presolve does not look at the clock. A search started 0.2 s
# before the deadline ran 1.2 s (10,000 bids on 200 assets); one started 3 s before it
# ran 5.4 s (100,000 bids on 1,000 assets, whose first LP takes 2 s).
MIN_MIP_S = 1.0
# Revenue is proven optimal when the bound is at most this above the answer (EUR), as
# HiGHS' own mip_abs_gap; a relative 1e-12 absorbs float noise on large objectives.
ABS_GAP_EUR = float(OPTIONS["mip_abs_gap"])


@dataclass(frozen=True)
class Solution:
    """The best answer found, over all columns of the model, and how good it is.

    ``bound`` is a proven upper bound on ``objective`` over all solutions (``inf`` when
    nothing bounds it); ``found_by`` says where the answer came from.
    """

    status: str  # optimal | time_limit | infeasible
    values: np.ndarray
    objective: float
    bound: float
    solve_s: float
    cuts: Cuts
    rounds: int = 0
    found_by: str = "none"
    options: dict[str, object] = field(default_factory=dict)


@dataclass
class _Best:
    """The best backable solution so far (master values + its backing ``w``)."""

    values: np.ndarray | None = None
    w: np.ndarray | None = None
    objective: float = -np.inf
    found_by: str = "none"

    def offer(self, values: np.ndarray, w: np.ndarray, objective: float, found_by: str) -> None:
        if objective > self.objective + 1e-9:
            self.values, self.w, self.objective, self.found_by = values, w, objective, found_by


class _Benders:
    """One solve: the master, the fleet LP, the best answer and the best bound."""

    def __init__(
        self,
        arrays: MilpArrays,
        fleet: FleetLP,
        master: MasterMilp,
        cost: np.ndarray,
        ub_t: np.ndarray,
        deadline: float,
        greedy: Greedy | None,
    ) -> None:
        self.arrays, self.fleet, self.master = arrays, fleet, master
        self.cost, self.ub_t, self.deadline, self.greedy = cost, ub_t, deadline, greedy
        self.best = _Best()
        # Every bid column at its upper bound: nothing can earn more.
        upper = np.where(cost > 0, cost * arrays.ub[: arrays.first_w], 0.0)
        self.bound = float(np.nansum(upper))
        self.cuts = Cuts.none(arrays.products.height)
        self.pending: list[tuple[np.ndarray, float]] = []
        self.rounds = 0
        self.y_cols = arrays.complex_bids["y_col"].to_numpy()
        self.t_cols = arrays.products["col"].to_numpy()
        self.lp_values: np.ndarray | None = None  # the LP optimum Kelley's loop ended with
        self.first_lp_s = 0.0

    # ---------------------------------------------------------------- bookkeeping

    def time_left(self) -> float:
        return self.deadline - time.perf_counter()

    def time_for_a_mip(self) -> bool:
        return self.time_left() > max(MIN_MIP_S, 2 * self.first_lp_s)

    def proven(self) -> bool:
        slack = ABS_GAP_EUR + 1e-12 * abs(self.bound)
        return self.best.values is not None and self.bound - self.best.objective <= slack

    def add_cut(self, pi: np.ndarray, pi0: float) -> None:
        self.cuts = self.cuts.add(pi, pi0)
        self.master.add_cut(pi, pi0)

    def add_cuts(self, cuts: Cuts) -> None:
        for pi, pi0 in zip(cuts.pi, cuts.pi0, strict=True):
            self.add_cut(pi, float(pi0))

    # ---------------------------------------------------------------- answers

    def check(self, values: np.ndarray, found_by: str) -> None:
        """Back a master point: keep it if backable, else keep its cuts and its repair."""
        totals = self.master.totals(values)
        backing = self.fleet.back(totals, self.deadline)
        if not backing.known:
            return
        cuts = [] if backing.backed else self.fleet.cuts_for(totals, backing)
        if backing.backed or not cuts:
            # Short only within LP noise when no cut separates: the rounding to whole kW
            # (clearing.rounding) makes the backing exact.
            self.best.offer(values, backing.w, float(self.cost @ values), found_by)
        else:
            self.pending.extend(cuts)
            self.repair(values, backing, found_by + "-repaired")

    def repair(self, values: np.ndarray, backing: Backing, found_by: str) -> None:
        """Refill a master point into the part of its totals ``backing`` (of the cut LP)
        backs: no LP solve of its own (stage 1 only)."""
        if self.greedy is None:
            return
        found = refill(self.arrays, self.greedy, self.fleet, values, backing)
        if found is not None:
            fw = self.arrays.first_w
            self.best.offer(found[:fw], found[fw:], float(self.cost @ found[:fw]), found_by)

    def flush_cuts(self) -> None:
        for pi, pi0 in self.pending:
            self.add_cut(pi, pi0)
        self.pending.clear()

    # ---------------------------------------------------------------- phases

    def from_demand(self) -> None:
        """The last resort: as much of the whole demand as the fleet backs, in merit order.

        Run only when nothing else awarded anything; not bound by the deadline, since an
        answer a little late beats none (it takes one fleet LP and a merit-order fill).
        """
        if self.greedy is None:
            return
        values = self.greedy.fill(self.ub_t)
        backing = self.fleet.back(self.master.totals(values))
        if backing.known:
            self.repair(values, backing, "greedy")

    def kelley(self) -> None:
        """Cuts from the LP relaxation until its optimum is backable; LP values bound."""
        self.master.relax(True)
        while self.rounds < MAX_ROUNDS and (self.time_left() > 0 or self.best.values is None):
            self.rounds += 1
            # Without an answer yet, this LP and its backing are worth finishing past the
            # deadline: their repair is the answer then (a fraction of a second at 10,000
            # bids, and far better than the greedy fill of the whole demand).
            first = self.best.values is None
            started = time.perf_counter()
            status, values = self.master.run(np.inf if first else self.deadline)
            if self.rounds == 1:
                self.first_lp_s = time.perf_counter() - started
            if status != "optimal" or values is None:
                break
            self.bound = min(self.bound, self.master.objective())
            totals = self.master.totals(values)
            backing = self.fleet.back(totals, None if first else self.deadline)
            if not backing.known:
                break
            cuts = [] if backing.backed else self.fleet.cuts_for(totals, backing)
            done = not cuts  # backable, or short only within LP noise
            if done or self.best.values is None:
                # An answer early, should time run out, and the LP's optimum rounded.
                self.repair(values, backing, "lp-rounded")
            if done:
                self.lp_values = values
                break
            for pi, pi0 in cuts:
                self.add_cut(pi, pi0)
        self.master.relax(False)

    def around_the_lp(self) -> None:
        """A small MILP next to the LP optimum, for a better answer to start the search from.

        Bids the LP accepted or rejected outright keep that decision; only the products'
        totals and the bids the LP split stay integer, the volumes are continuous (merit
        order makes them whole again, ``Greedy.fill``). On large days the LP is nearly
        integral, so this is a small MILP over a big LP: at 100,000 bids it found the
        optimum in 4 s, where HiGHS' own root heuristic on the full master took 20 s, and
        HiGHS' reduced-cost fixing then settles the full search at once. Capped in nodes,
        so the answer does not depend on the machine.
        """
        if self.lp_values is None or self.greedy is None or not self.time_for_a_mip():
            return
        y = self.lp_values[self.y_cols]
        settled = (y < 1e-6) | (y > 1 - 1e-6)
        integer = np.concatenate([self.t_cols, self.y_cols[~settled]])
        fixed, at = self.y_cols[settled], np.rint(y[settled])
        with self.master.narrowed(fixed, at, integer, AROUND_THE_LP_NODES):
            status, values = self.master.run(self.deadline)
        if values is None or status not in ("optimal", "time_limit", "interrupted"):
            return
        # Whole increments again: the totals it chose, its bids first, merit order.
        filled = self.greedy.fill(np.rint(values[self.t_cols]), values[self.y_cols] > 0.5)
        self.check(filled, "around the LP")
        self.flush_cuts()

    def branch(self) -> str:
        """Master MILPs until one's optimum is backable, the bound is met, or time is up."""
        while self.rounds < 2 * MAX_ROUNDS and self.time_for_a_mip() and not self.proven():
            self.rounds += 1
            if self.best.values is not None:
                self.master.set_start(self.best.values)
            status, values = self.master.run(
                self.deadline,
                on_solution=self._on_master_solution,
                should_stop=self._should_stop,
            )
            if status == "infeasible":
                # No master point at all: with a backable answer in hand this can only be
                # numerical trouble; without one, the fixed allocations cannot be served.
                return "infeasible" if self.best.values is None else "time_limit"
            if status in ("optimal", "interrupted", "time_limit"):
                self.bound = min(self.bound, self.master.dual_bound())
            if status == "optimal" and values is not None:
                self.check(values, "master")
            self.flush_cuts()
            if status not in ("optimal", "interrupted"):
                break
        return "optimal" if self.proven() else "time_limit"

    def _on_master_solution(self, values: np.ndarray) -> None:
        self.check(values, "master")

    def _should_stop(self, dual_bound: float) -> bool:
        if np.isfinite(dual_bound):
            self.bound = min(self.bound, dual_bound)
        return self.proven()


def solve(
    arrays: MilpArrays,
    deadline: float,
    fleet: FleetLP,
    *,
    objective: np.ndarray | None = None,
    extra_row: tuple[np.ndarray, float] | None = None,
    start: np.ndarray | None = None,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    cuts: Cuts | None = None,
    warm_up: bool = True,
) -> Solution:
    """Maximise ``objective`` (default ``arrays.c``, the revenue) over the model.

    ``deadline`` is a ``time.perf_counter()`` instant. ``extra_row`` = (coefficients,
    lower bound) adds ``a·v >= lb`` over bid columns (the revenue floor of the tie-break
    stage); ``start`` is a backable solution (all columns) to begin from; ``bounds``
    replaces the column bounds; ``cuts`` are fleet cuts known from before; ``warm_up``
    runs Kelley's loop on the LP relaxation first. Without ``objective`` (the revenue
    stage) the greedy incumbent and the repairs are on; with one they are off, as the
    greedy knows nothing of other objectives or of ``extra_row``.
    """
    t0 = time.perf_counter()
    fw = arrays.first_w
    lb, ub = (arrays.lb, arrays.ub) if bounds is None else bounds
    cost = (arrays.c if objective is None else objective)[:fw]
    master = MasterMilp(arrays, cost, lb[:fw], ub[:fw], extra_row)
    ub_t = np.floor(ub[arrays.products["col"].to_numpy()] + 1e-9)
    greedy = Greedy.of(arrays) if objective is None else None
    run = _Benders(arrays, fleet, master, cost, ub_t, deadline, greedy)
    run.add_cuts(cuts if cuts is not None else fleet.aggregate_cuts())
    if start is not None:
        run.best.offer(start[:fw], start[fw:], float(cost @ start[:fw]), "start")
    if warm_up and (run.time_left() > 0 or run.best.values is None):
        run.kelley()
    if not run.proven() and run.time_left() > 0:
        run.around_the_lp()
    status = "optimal" if run.proven() else run.branch()
    if run.best.objective <= 0 and status != "infeasible":
        # Nothing awarded yet (no answer, or the LP's rounded to nothing): the greedy fill
        # of the whole demand may still find something.
        run.from_demand()
        status = "optimal" if run.proven() else status
    options = {**OPTIONS, "time_limit": max(deadline - t0, 0.0), "highspy": HIGHSPY_VERSION}
    best = run.best
    if best.values is None or best.w is None:
        return Solution(
            status="infeasible" if status == "infeasible" else "time_limit",
            values=np.zeros(arrays.c.size),
            objective=0.0,
            bound=run.bound,
            solve_s=time.perf_counter() - t0,
            cuts=run.cuts,
            rounds=run.rounds,
            options=options,
        )
    return Solution(
        status=status,
        values=np.concatenate([best.values, best.w]),
        objective=best.objective,
        bound=max(run.bound, best.objective),
        solve_s=time.perf_counter() - t0,
        cuts=run.cuts,
        rounds=run.rounds,
        found_by=best.found_by,
        options=options,
    )


def refill(
    arrays: MilpArrays, greedy: Greedy, fleet: FleetLP, values: np.ndarray, backing: Backing
) -> np.ndarray | None:
    """``values`` (master columns) refilled into the part of their totals ``backing`` backs.

    ``backing`` is ``fleet``'s answer for these totals. The bids the point accepted are
    accepted again first where their minimums fit, then every bid takes what is left in
    merit order. All columns (with the backing, scaled down to the new totals), or None
    when not even the fixed allocations fit.
    """
    t_cols = arrays.products["col"].to_numpy()
    inc_mw = arrays.products["inc_kw"].to_numpy() / 1000
    alloc_mw = arrays.products["alloc_kw"].to_numpy() / 1000
    totals = inc_mw * values[t_cols] + alloc_mw
    backed = np.maximum(totals - backing.shortfall_mw, 0.0)
    if np.any(backed < alloc_mw - 1e-9):
        return None
    caps = np.floor((backed - alloc_mw) / inc_mw + 1e-9)
    ub_t = np.floor(arrays.ub[t_cols] + 1e-9)
    preferred = values[arrays.complex_bids["y_col"].to_numpy()] > 0.5
    filled = greedy.fill(np.minimum(caps, ub_t), preferred)
    w = scaled_backing(fleet, backing, totals, inc_mw * filled[t_cols] + alloc_mw)
    return np.concatenate([filled, w])


def with_reserve(
    arrays: MilpArrays,
    fleet: FleetLP,
    values: np.ndarray,
    value_per_mw: np.ndarray,
    reserve: np.ndarray,
    deadline: float,
) -> np.ndarray | None:
    """``values`` made backable with ``reserve`` (per capacity row) kept free.

    For an answer whose backing could not be rounded to whole kW: the fleet LP plans with
    the rounding reserve kept free on the rows that broke (or on all) and the shortfall
    weighed by price, and the answer is refilled into what it backs. With the reserve
    free, rounding the backing breaks no row in practice. None when the fleet LP does not
    finish by ``deadline``.
    """
    master = np.rint(values[: arrays.first_w])
    t_cols = arrays.products["col"].to_numpy()
    inc_kw = arrays.products["inc_kw"].to_numpy()
    totals = (inc_kw * master[t_cols] + arrays.products["alloc_kw"].to_numpy()) / 1000
    fleet.keep_free(reserve)
    fleet.weigh(value_per_mw)
    backing = fleet.back(totals, deadline)
    if not backing.known:
        return None
    return refill(arrays, Greedy.of(arrays), fleet, master, backing)


def lower_totals(arrays: MilpArrays, values: np.ndarray, short_kw: np.ndarray) -> np.ndarray:
    """``values`` with each product's total lowered by at least ``short_kw``, bids refilled.

    For the rare answer whose backing cannot be rounded to whole kW (``clearing.rounding``
    says by how much per product): the bids it accepted are accepted again first where
    they fit, and each (product, market)'s backing shrinks in proportion, which keeps
    every capacity row.
    """
    fw = arrays.first_w
    t_cols = arrays.products["col"].to_numpy()
    inc_kw = arrays.products["inc_kw"].to_numpy()
    alloc_kw = arrays.products["alloc_kw"].to_numpy()
    caps = values[t_cols] - np.ceil(short_kw / inc_kw)
    preferred = values[arrays.complex_bids["y_col"].to_numpy()] > 0.5
    filled = Greedy.of(arrays).fill(np.maximum(caps, 0), preferred)
    before = (inc_kw * np.rint(values[t_cols]) + alloc_kw) / 1000
    after = (inc_kw * filled[t_cols] + alloc_kw) / 1000
    ratio = np.divide(after, before, out=np.zeros_like(after), where=before > 0)
    product_of_w = (
        arrays.backing["product_id"]
        .replace_strict({p: i for i, p in enumerate(arrays.products["product_id"])})
        .to_numpy()
    )
    return np.concatenate([filled, values[fw:] * ratio[product_of_w]])
