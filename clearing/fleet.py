"""The fleet LP: can the pooled fleet back these product totals, and if not, a cut.

For totals ``X_p`` (MW) of the master problem it solves

    min Σ_p v_p·u_p   s.t.   Σ_k w_pmk + u_p = X_p   for every (product, market),
                             capacity rows of every asset and time segment,  w, u >= 0,

where ``u_p`` is the part of product ``p`` the fleet cannot carry. ``u = 0`` means the
totals are backable and ``w`` is a backing; otherwise ``X - u`` is a backable vector of
smaller totals (a repair) and the capacity rows' duals give a cut ``π·X <= π0`` that every
backable vector obeys and these totals break. The shortfall falls on the products worth
least per MW (the weights ``v_p`` run from 1 to 2 with the best price of each product),
so a repair keeps the valuable products.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from clearing.highs import allow, model_status, new_highs, pass_model
from clearing.model import MilpArrays

# Totals are backable when the fleet LP misses less than this (MW, weighted sum).
SHORTFALL_TOL = 1e-6


@dataclass(frozen=True)
class Cuts:
    """Fleet cuts ``pi @ X <= pi0`` on product totals in MW (rows of ``pi``)."""

    pi: np.ndarray
    pi0: np.ndarray

    @classmethod
    def none(cls, n_products: int) -> Cuts:
        return cls(np.zeros((0, n_products)), np.zeros(0))

    def add(self, pi: np.ndarray, pi0: float) -> Cuts:
        return Cuts(np.vstack([self.pi, pi]), np.append(self.pi0, pi0))


@dataclass(frozen=True)
class Backing:
    """The fleet LP's answer for one vector of totals.

    ``known`` is False when the LP ran out of time: then nothing else may be used.
    """

    known: bool
    shortfall_mw: np.ndarray  # per product: the most any of its markets misses
    pair_shortfall_mw: np.ndarray  # u_pm
    w: np.ndarray  # backs X_p - u_pm in every (product, market)
    lam: np.ndarray  # duals of the capacity rows, for cuts

    @property
    def backed(self) -> bool:
        return self.known and float(self.shortfall_mw.sum()) <= SHORTFALL_TOL


class FleetLP:
    """One HiGHS LP kept warm across calls: only the totals (row bounds) change.

    ``min Σ v_pm·u_pm`` with ``Σ_k w_pmk + u_pm = X_p`` per (product, market). The
    weights ``v`` are 1: those duals make the master easiest to prove (weighting the
    shortfall by price gave cuts that left a 10,000-bid master unproven after a minute).
    Only the last repair of a clearing (``clearing.solve.with_reserve``) weighs them by
    price (``weigh``), so that the shortfall falls on the products worth least.
    """

    def __init__(self, arrays: MilpArrays) -> None:
        fw, fc, fk = arrays.first_w, arrays.first_coupling, arrays.first_capacity
        A = arrays.A.tocsr()
        coupling = A[fc:fk, fw:]
        self.capacity = A[fk:, fw:].tocsc()
        self.rhs = arrays.row_ub[fk:]
        self.group = arrays.capacity_group
        n_pairs, n_w = coupling.shape
        n_p = arrays.products.height
        # Each coupling row names one (product, market): its product is where T enters.
        t_of_row = A[fc:fk, :fw].tocsr()
        self.pair_product = t_of_row.indices[t_of_row.indptr[:-1]].astype(np.int64)
        self.w_pair = (
            np.asarray(coupling.argmax(axis=0)).ravel() if n_pairs else np.zeros(0, np.int64)
        )
        self.n_products, self.n_pairs, self.n_w = n_p, n_pairs, n_w
        self.alloc_mw = arrays.products["alloc_kw"].to_numpy() / 1000
        A_sub = sp.vstack(
            [
                sp.hstack([coupling, sp.identity(n_pairs, format="csr")]),
                sp.hstack([self.capacity, sp.csr_matrix((self.capacity.shape[0], n_pairs))]),
            ],
            format="csc",
        )
        self.h = new_highs()
        # The first solve starts cold on a large, degenerate LP: interior point (with
        # crossover, for a basis) is 3-6x faster there than dual simplex; later solves
        # change only the totals and warm-start the simplex from that basis.
        self.h.setOptionValue("solver", "ipm")
        self.cold = True
        pass_model(
            self.h,
            np.concatenate([np.zeros(n_w), -np.ones(n_pairs)]),  # maximise -Σ u
            np.zeros(n_w + n_pairs),
            np.full(n_w + n_pairs, np.inf),
            A_sub,
            np.concatenate([np.zeros(n_pairs), np.full(len(self.rhs), -np.inf)]),
            np.concatenate([np.zeros(n_pairs), self.rhs]),
            None,
            sense="maximise",
        )
        self.u_cols = (n_w + np.arange(n_pairs)).astype(np.int32)

    def weigh(self, value_per_mw: np.ndarray) -> None:
        """From now on, weigh each product's shortfall from 1 to 2 by its best price per MW."""
        best = np.maximum(value_per_mw, 0.0)
        if self.n_pairs == 0 or best.max() <= 0:
            return
        weight = 1.0 + best[self.pair_product] / best.max()
        self.h.changeColsCost(self.n_pairs, self.u_cols, -weight)

    def keep_free(self, reserve: np.ndarray) -> None:
        """Plan every capacity row with ``reserve`` of it kept free from now on."""
        rows = (self.n_pairs + np.arange(len(self.rhs))).astype(np.int32)
        lowered = np.maximum(self.rhs - reserve, 0.0)
        self.h.changeRowsBounds(len(rows), rows, np.full(len(rows), -np.inf), lowered)  # type: ignore[attr-defined]

    def back(self, totals_mw: np.ndarray, deadline: float | None = None) -> Backing:
        """Back ``totals_mw`` as far as the fleet can; the fixed allocations never fall short.

        When even the fixed allocations do not fit, the shortfall may fall on them too:
        the answer then still gives a cut, but no repair (``X - u`` is below them).
        """
        if self.n_pairs == 0:
            n_p = self.n_products
            nothing = np.zeros(0)
            return Backing(True, np.zeros(n_p), nothing, nothing, np.zeros(len(self.rhs)))
        x = totals_mw[self.pair_product]
        rows = np.arange(self.n_pairs, dtype=np.int32)
        self.h.changeRowsBounds(self.n_pairs, rows, x, x)  # type: ignore[attr-defined]
        room = np.maximum(totals_mw - self.alloc_mw, 0.0)[self.pair_product]
        status = self._run(room, deadline)
        if status == "infeasible":
            status = self._run(np.full(self.n_pairs, np.inf), deadline)
        if status != "optimal":
            empty = np.zeros(0)
            return Backing(False, empty, empty, empty, empty)
        solution = self.h.getSolution()
        values = np.asarray(solution.col_value)
        pair_short = np.clip(values[self.n_w :], 0.0, None)
        short = np.zeros(self.n_products)
        np.maximum.at(short, self.pair_product, pair_short)
        return Backing(
            known=True,
            shortfall_mw=short,
            pair_shortfall_mw=pair_short,
            w=np.clip(values[: self.n_w], 0.0, None),
            lam=np.asarray(solution.row_dual)[self.n_pairs :],
        )

    def _run(self, max_shortfall_mw: np.ndarray, deadline: float | None) -> str:
        self.h.changeColsBounds(self.n_pairs, self.u_cols, np.zeros(self.n_pairs), max_shortfall_mw)
        allow(self.h, np.inf if deadline is None else max(deadline - time.perf_counter(), 0.05))
        self.h.run()
        if self.cold:
            self.h.setOptionValue("solver", "simplex")
            self.cold = False
        return model_status(self.h)

    def cuts_for(self, totals_mw: np.ndarray, backing: Backing) -> list[tuple[np.ndarray, float]]:
        """Cuts from the duals of a short backing that these totals violate.

        One from all of ``λ``, and one per time segment from its part of ``λ``: each is
        valid on its own (any ``λ >= 0`` is), and together they cut deeper.
        """
        lam = backing.lam
        found = []
        whole = self.cut_from(lam)
        if self._violated(whole, totals_mw):
            found.append(whole)
        segment = self.group // 3
        for s in np.unique(segment[lam > 0]):
            cut = self.cut_from(np.where(segment == s, lam, 0.0))
            if self._violated(cut, totals_mw):
                found.append(cut)
        return found

    @staticmethod
    def _violated(cut: tuple[np.ndarray, float], totals_mw: np.ndarray) -> bool:
        pi, pi0 = cut
        return float(pi @ totals_mw) - pi0 > SHORTFALL_TOL * (1 + abs(pi0))

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
        cuts = Cuts.none(self.n_products)
        for g in np.unique(self.group):
            cuts = cuts.add(*self.cut_from((self.group == g).astype(np.float64)))
        return cuts


def scaled_backing(
    fleet: FleetLP, backing: Backing, asked_mw: np.ndarray, totals_mw: np.ndarray
) -> np.ndarray:
    """The backing of smaller totals: each (product, market)'s ``w`` scaled down to them.

    ``backing`` was asked for ``asked_mw`` and backs ``asked - u_pm`` in each pair; capacity
    rows have non-negative coefficients, so less of a product never breaks one.
    """
    if fleet.n_pairs == 0:
        return np.zeros(fleet.n_w)
    backed = asked_mw[fleet.pair_product] - backing.pair_shortfall_mw
    wanted = totals_mw[fleet.pair_product]
    ratio = np.divide(wanted, backed, out=np.zeros_like(wanted), where=backed > SHORTFALL_TOL)
    scaled: np.ndarray = backing.w * np.clip(ratio, 0.0, 1.0)[fleet.w_pair]
    return scaled
