"""The fleet LP's backing, rounded to whole kW without breaking any physical limit.

The fleet LP backs the product totals with continuous ``w``; allocation.csv and
backing.csv need whole kW, with every limit kept at the full capacity:

- allocation: ``w_pmk`` in kW of product, ``Σ_k w_pmk = X_p`` exactly, and every capacity
  row of docs/clearing.md ``Σ coef·w <= a·cap`` at the full capacity, exactly;
- backing: where a market's factor ``f`` is not 1, its blocks are not ``f·X_p`` long but
  the sum of their rounded powers ``B_pm``; each asset's share ``s_pmk`` of that line
  (``Σ_k s_pmk = B_pm``, ``|s - f·w| < 1``) is what it physically carries, and it keeps
  the same rows with the blocks' own coefficients (1 kW of power, and the market's hours
  of energy per kW).

First the plain rounding (largest remainder per product and market), then single kW
moved between assets. Where a row still breaks, the caller's fleet LP backs the same
totals again with room kept on the broken rows (``Reback``), and the rounding starts
over. Last, a small integer program (HiGHS, capped in nodes so that the answer does not
depend on the machine) moves whole kW among the assets the LP used and those with room
left. What even that cannot place is returned per product, with the rows that broke, and
the caller keeps room there and refills the answer (``clearing.clear``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from auction.book import MARKET_FACTOR
from clearing.highs import allow, new_highs, pass_model, run_mip, set_start
from clearing.model import MilpArrays

# Float noise allowed on a capacity row, in kW or kWh (the checker's: 1e-9 MW).
ROW_TOLERANCE = 1e-6
# The integer search is capped in nodes (as in dispatch.rebacking) and in seconds: it
# gets what is left of the clearing's time limit, at most MAX_SEARCH_S (it finds the
# backing of a fleet used to the last kW in 2-30 s; the rounding reserve is the cheaper
# answer beyond that), and is not started with less than MIN_SEARCH_S left. The local
# search is capped in moves.
MAX_NODES = 2_000
MIN_SEARCH_S = 0.2
MAX_SEARCH_S = 10.0
SEARCH_MARGIN_S = 1.5
MAX_MOVES = 500
# Times the fleet LP may re-back the same totals with room kept on the rows a rounding broke.
MAX_REBACKS = 6

# The fleet LP's backing of the same totals with ``reserve`` (MW or MWh per capacity row)
# kept free, in MW per backing column; None when the totals no longer fit.
Reback = Callable[[np.ndarray], "np.ndarray | None"]


@dataclass(frozen=True)
class Rounded:
    """Whole kW per backing column: of product (``w_kw``) and of block power (``share_kw``).

    ``short_kw`` is, per product, what the rounding could not back in whole kW: the caller
    must lower that product's total by at least as much.
    """

    w_kw: np.ndarray
    share_kw: np.ndarray
    short_kw: np.ndarray
    method: str  # largest_remainder | ... | integer_program | none in time
    room: np.ndarray | None = None  # when short: room to keep free per capacity row (MW, MWh)


@dataclass(frozen=True)
class _Lines:
    """Per backing column: its (product, market) pair, product and factor; per pair, its
    two lengths."""

    pair: np.ndarray
    product: np.ndarray
    factor: np.ndarray  # f of the column's market in its product
    total_kw: np.ndarray  # X_p per pair
    line_kw: np.ndarray  # B_pm per pair: the blocks' rounded powers, summed

    @property
    def split(self) -> np.ndarray:
        """Columns whose shares of block power are not their allocation (f != 1)."""
        return np.flatnonzero(self.factor != 1.0)


def round_backing(
    arrays: MilpArrays,
    w_mw: np.ndarray,
    totals_kw: pl.DataFrame,
    line_kw: pl.DataFrame,
    deadline: float,
    reback: Reback | None = None,
) -> Rounded:
    """Whole kW for every backing column that keep every limit and sum, as far as possible.

    ``w_mw`` is the LP's backing (one value per backing column), ``totals_kw`` has
    product_id and x_kw, ``line_kw`` product_id, market and block_kw. ``reback``, when
    given, lets the fleet LP back the same totals again with room kept on the rows a
    rounding broke. The integer search stops at ``deadline`` (a ``time.perf_counter()``
    instant).
    """
    lines = _lines(arrays, totals_kw, line_kw)
    C, cap = _capacity_rows_kw(arrays)
    target = np.clip(w_mw, 0.0, None) * 1000
    none_short = np.zeros(arrays.products.height, np.int64)
    reserve = np.zeros(len(cap))
    for attempt in range(MAX_REBACKS + 1):
        w = _largest_remainder(target, lines.pair, lines.total_kw)
        share = _largest_remainder(w.astype(np.float64), lines.pair, lines.line_kw)
        kept = f", room kept on {np.count_nonzero(reserve)} rows" if attempt else ""
        broken = _broken(C, cap, w, share, lines)
        if not broken.any():
            return Rounded(w, share, none_short, "largest_remainder" + kept)
        if len(lines.split) == 0:
            moved = _move_kw(C, cap, w, lines.pair)
            if moved is not None:
                return Rounded(
                    moved, moved.copy(), none_short, "largest_remainder, kW moved" + kept
                )
        # Keep a rounding's worth of room on the rows it broke (more each time they break
        # again) and let the LP back the same totals around it: on a fleet used to the
        # last kW this finds a whole-kW backing of the same answer in a few warm LPs.
        reserve[broken] += arrays.reserve[broken]
        if reback is None or attempt == MAX_REBACKS or time.perf_counter() > deadline:
            break
        again = reback(reserve)
        if again is None:
            break
        target = np.clip(again, 0.0, None) * 1000
    # HiGHS may run past its limit in root cut separation (1.7 s seen), and the fallback
    # (the rounding reserve) needs a moment too: the search keeps SEARCH_MARGIN_S back.
    left = deadline - time.perf_counter() - SEARCH_MARGIN_S
    if left < MIN_SEARCH_S:  # no time for a search: the floors, and what they miss
        floors = np.floor(target + 1e-9).astype(np.int64)
        missing = lines.total_kw - np.bincount(lines.pair, floors, len(lines.total_kw))
        short = _per_product(lines, missing, arrays.products.height)
        return Rounded(floors, floors.copy(), short, "none in time", reserve)
    limit = min(left, MAX_SEARCH_S)
    searched = _integer_program(C, cap, target, lines, arrays.products.height, limit)
    return dataclasses.replace(searched, room=reserve)


def _lines(arrays: MilpArrays, totals_kw: pl.DataFrame, line_kw: pl.DataFrame) -> _Lines:
    cols = arrays.backing
    pairs = cols.select("product_id", "market").unique(maintain_order=True).with_row_index("pair")
    factors = pl.concat(
        [
            arrays.products.select("product_id", market=pl.lit(m), factor=MARKET_FACTOR[m])
            for m in MARKET_FACTOR
        ]
    )
    framed = (
        pairs.join(factors, on=["product_id", "market"], how="left", maintain_order="left")
        .join(totals_kw, on="product_id", how="left", maintain_order="left")
        .join(line_kw, on=["product_id", "market"], how="left", maintain_order="left")
        .with_columns(pl.col("x_kw", "block_kw").fill_null(0))
    )
    pair = cols.join(pairs, on=["product_id", "market"], how="left", maintain_order="left")
    pair_of = pair["pair"].to_numpy().astype(np.int64)
    p_index = {p: i for i, p in enumerate(arrays.products["product_id"])}
    return _Lines(
        pair=pair_of,
        product=cols["product_id"].replace_strict(p_index, return_dtype=pl.Int64).to_numpy(),
        factor=framed["factor"].to_numpy()[pair_of],
        total_kw=framed["x_kw"].to_numpy().astype(np.int64),
        line_kw=framed["block_kw"].to_numpy().astype(np.int64),
    )


def _capacity_rows_kw(arrays: MilpArrays) -> tuple[sp.csr_matrix, np.ndarray]:
    """The model's capacity rows over ``w`` in kW: ``C·w_kw <= cap`` (kW or kWh)."""
    fw, fk = arrays.first_w, arrays.first_capacity
    C = arrays.A.tocsr()[fk:, fw:]
    return C, arrays.row_ub[fk:] * 1000


def _largest_remainder(target: np.ndarray, pair: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Integers near ``target`` summing to ``total`` per pair: floors, then the largest rests.

    ``target`` is first scaled to the pair's total (the LP meets it only to its tolerance).
    """
    n_pairs = len(total)
    sums = np.bincount(pair, weights=target, minlength=n_pairs)
    scale = np.divide(total, sums, out=np.zeros(n_pairs), where=sums > 0)
    exact = target * scale[pair]
    # A pair the LP left empty (a total above 0 only by noise) spreads evenly.
    empty = (sums <= 0)[pair]
    exact[empty] = (total / np.maximum(np.bincount(pair, minlength=n_pairs), 1))[pair][empty]
    floor = np.floor(exact + 1e-9)
    rest = exact - floor
    deficit = total - np.bincount(pair, weights=floor, minlength=n_pairs).astype(np.int64)
    # Rank within the pair by remainder (largest first), ties to the earlier column.
    order = np.lexsort((np.arange(len(rest)), -rest, pair))
    start = np.searchsorted(pair[order], np.arange(n_pairs))
    rank = np.empty(len(rest), dtype=np.int64)
    rank[order] = np.arange(len(rest)) - start[pair[order]]
    rounded: np.ndarray = floor.astype(np.int64) + (rank < deficit[pair]).astype(np.int64)
    return rounded


def _move_kw(
    C: sp.csr_matrix, cap: np.ndarray, w: np.ndarray, pair: np.ndarray
) -> np.ndarray | None:
    """Mend the rows a rounding broke by moving single kW between assets (a local search).

    Each step takes the most broken row and, of the moves that take a kW of some block
    type off its asset and put it on another asset backing the same product and market,
    makes the one that lowers the total excess most. The sums stay exact. None when no
    move helps any more (then the integer program decides); the steps are bounded.
    """
    w = w.copy()
    Ccsc, Ccsr = C.tocsc(), C.tocsr()
    col_of_nz = np.repeat(np.arange(C.shape[1]), np.diff(Ccsc.indptr))
    order = np.argsort(pair, kind="stable")
    starts = np.searchsorted(pair[order], np.arange(pair.max() + 1 if len(pair) else 0))
    ends = np.append(starts[1:], len(order))
    over = C @ w - cap
    for _ in range(MAX_MOVES):
        broken = np.flatnonzero(over > ROW_TOLERANCE)
        if len(broken) == 0:
            return w
        # Per column: the excess its kW less would remove, and a kW more would add.
        before = np.maximum(over[Ccsc.indices], 0.0)
        relief = np.bincount(
            col_of_nz, before - np.maximum(over[Ccsc.indices] - Ccsc.data, 0.0), C.shape[1]
        )
        burden = np.bincount(
            col_of_nz, np.maximum(over[Ccsc.indices] + Ccsc.data, 0.0) - before, C.shape[1]
        )
        best = (0.0, -1, -1)
        for row in broken[np.argsort(-over[broken], kind="stable")].tolist():
            taken = Ccsr.indices[Ccsr.indptr[row] : Ccsr.indptr[row + 1]]
            for j in taken[w[taken] >= 1].tolist():
                mates = order[starts[pair[j]] : ends[pair[j]]]
                mates = mates[mates != j]
                if len(mates) == 0:
                    continue
                k = int(mates[np.argmin(burden[mates])])
                gain = float(relief[j] - burden[k])
                if gain > best[0] + 1e-12:
                    best = (gain, j, k)
            if best[1] >= 0:
                break  # the most broken row that can be helped is helped first
        if best[1] < 0:
            return None
        _, j, k = best
        w[j] -= 1
        w[k] += 1
        over[Ccsc.indices[Ccsc.indptr[j] : Ccsc.indptr[j + 1]]] -= Ccsc.data[
            Ccsc.indptr[j] : Ccsc.indptr[j + 1]
        ]
        over[Ccsc.indices[Ccsc.indptr[k] : Ccsc.indptr[k + 1]]] += Ccsc.data[
            Ccsc.indptr[k] : Ccsc.indptr[k + 1]
        ]
    return None


def _broken(
    C: sp.csr_matrix, cap: np.ndarray, w: np.ndarray, share: np.ndarray, lines: _Lines
) -> np.ndarray:
    """The capacity rows the allocation or the physical shares break."""
    over: np.ndarray = (C @ w > cap + ROW_TOLERANCE) | (
        _physical(C, lines) @ share > cap + ROW_TOLERANCE
    )
    return over


def _physical(C: sp.csr_matrix, lines: _Lines) -> sp.csr_matrix:
    """The rows over shares of block power: the coefficients divided by the factor."""
    inverse = np.divide(1.0, lines.factor, out=np.zeros_like(lines.factor), where=lines.factor > 0)
    physical: sp.csr_matrix = (C @ sp.diags(inverse)).tocsr()
    return physical


def _integer_program(
    C: sp.csr_matrix,
    cap: np.ndarray,
    target: np.ndarray,
    lines: _Lines,
    n_products: int,
    time_limit_s: float,
) -> Rounded:
    """Whole kW keeping every row, missing as few kW of the sums as possible.

    Columns: ``w``, then ``s`` (shares of block power where ``f != 1``), then the kW each
    sum misses (``u`` per pair for ``w``, ``v`` per split pair for ``s``), which cost 1
    each. Free to move: the columns the LP used and those with room for a kW more after
    the floors; the others stay 0. The floors (which keep every row) with everything else
    missing are the start, so there is always an answer.
    """
    n, n_pairs, split = len(target), len(lines.total_kw), lines.split
    n_s = len(split)
    floors = np.floor(target + 1e-9)
    free = (target > 1e-6) | (_headroom(C, cap - C @ floors) >= 1)
    hi_w = np.where(free, lines.total_kw[lines.pair], 0).astype(np.float64)
    hi_s = np.where(free[split], lines.line_kw[lines.pair[split]], 0).astype(np.float64)
    split_pairs = np.unique(lines.pair[split])
    n_v = len(split_pairs)
    v_of_pair = np.full(n_pairs, -1)
    v_of_pair[split_pairs] = np.arange(n_v)
    # Σ_k w + u = X per pair; Σ_k s + v = B per split pair.
    sums_w = sp.csr_matrix((np.ones(n), (lines.pair, np.arange(n))), shape=(n_pairs, n))
    sums_s = sp.csr_matrix(
        (np.ones(n_s), (v_of_pair[lines.pair[split]], np.arange(n_s))), shape=(n_v, n_s)
    )
    # |s - f·w| < 1: a share stays within a kW of the allocation it comes from.
    link = sp.csr_matrix((-lines.factor[split], (np.arange(n_s), split)), shape=(n_s, n))
    physical = _physical(C, lines)
    not_split = np.ones(n)
    not_split[split] = 0.0
    touched = np.flatnonzero(np.asarray(abs(physical[:, split]).sum(axis=1)).ravel() > 0)
    heights = (n_pairs, n_v, C.shape[0], len(touched), n_s)
    blocks = [
        [sums_w, None, sp.identity(n_pairs), None],
        [None, sums_s, None, sp.identity(n_v)],
        [C, None, None, None],
        [(physical @ sp.diags(not_split))[touched], physical[touched][:, split], None, None],
        [link, sp.identity(n_s), None, None],
    ]
    A = sp.bmat(_filled(blocks, heights, (n, n_s, n_pairs, n_v)), format="csc")
    near_one = 1.0 - 1e-6
    # Whole kW often meet a limit exactly: allow half the checker's float noise; HiGHS'
    # own tolerance (1e-7) stays inside the other half.
    loose = ROW_TOLERANCE / 2
    totals, lengths = lines.total_kw.astype(np.float64), lines.line_kw[split_pairs].astype(float)
    h = new_highs()
    h.setOptionValue("mip_max_nodes", MAX_NODES)
    allow(h, time_limit_s)
    cost = np.concatenate([np.zeros(n + n_s), -np.ones(n_pairs + n_v)])  # maximise -Σ missing
    pass_model(
        h,
        cost,
        np.zeros(n + n_s + n_pairs + n_v),
        np.concatenate([hi_w, hi_s, totals, lengths]),
        A,
        np.concatenate(
            [totals, lengths, np.full(sum(heights[2:4]), -np.inf), -near_one * np.ones(n_s)]
        ),
        np.concatenate(
            [totals, lengths, cap + loose, cap[touched] + loose, near_one * np.ones(n_s)]
        ),
        np.ones(A.shape[1], dtype=np.int32),
        sense="maximise",
    )
    start_s = np.floor(floors[split] * lines.factor[split] + 1e-9)
    missing_w = totals - np.bincount(lines.pair, weights=floors, minlength=n_pairs)
    missing_s = lengths - np.bincount(v_of_pair[lines.pair[split]], weights=start_s, minlength=n_v)
    start = np.concatenate([floors, start_s, missing_w, missing_s])
    set_start(h, start)
    found = run_mip(h, cost)
    x = np.rint(start if found is None else found).astype(np.int64)
    w = x[:n]
    share = w.copy()
    share[split] = x[n : n + n_s]
    missing = x[n + n_s : n + n_s + n_pairs].copy()
    missing[split_pairs] = np.maximum(missing[split_pairs], x[n + n_s + n_pairs :])
    return Rounded(w, share, _per_product(lines, missing, n_products), "integer_program")


def _per_product(lines: _Lines, missing: np.ndarray, n_products: int) -> np.ndarray:
    """Per product, the most any of its pairs misses (kW)."""
    short = np.zeros(n_products, dtype=np.int64)
    product_of_pair = np.zeros(len(lines.total_kw), dtype=np.int64)
    product_of_pair[lines.pair] = lines.product
    np.maximum.at(short, product_of_pair, np.rint(missing).astype(np.int64))
    return short


def _headroom(C: sp.csr_matrix, slack: np.ndarray) -> np.ndarray:
    """Per column, the whole kW it could take more: the least ``slack / coef`` of its rows."""
    Cc = C.tocsc()
    ratio = np.floor(np.maximum(slack, 0.0)[Cc.indices] / Cc.data + 1e-9)
    headroom = np.full(C.shape[1], np.inf)
    loaded = np.diff(Cc.indptr) > 0
    headroom[loaded] = np.minimum.reduceat(ratio, Cc.indptr[:-1][loaded])
    return headroom


def _filled(
    blocks: list[list[sp.spmatrix | None]], heights: tuple[int, ...], widths: tuple[int, ...]
) -> list[list[sp.spmatrix]]:
    """``sp.bmat`` blocks with empty matrices of the right shape in place of None."""
    return [
        [
            block if block is not None else sp.csr_matrix((height, width))
            for block, width in zip(row, widths, strict=True)
        ]
        for row, height in zip(blocks, heights, strict=True)
    ]
