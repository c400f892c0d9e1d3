"""A feasible answer in milliseconds: bids filled in merit order within given product caps.

The clearing must never publish nothing because the solver has not yet found its first
solution. Given caps on the product totals that the fleet can back (from the fleet LP),
``Greedy.fill`` hands out volume bid by bid, highest price first (then time priority),
keeping every rule of the book: minimum quantities, exclusive groups, links, supply caps.
The answer is a point of the master MILP that the fleet can back, so it is a valid
starting solution for HiGHS and a valid result on its own.

Pure: arrays in, arrays out; no solver here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from clearing.model import MilpArrays

LEVEL, COMPLEX = 0, 1


@dataclass(frozen=True)
class Greedy:
    """The book in merit order, as plain lists (the fill is a loop over bids)."""

    kind: list[int]  # LEVEL or COMPLEX
    index: list[int]  # row in levels or complex_bids
    product: list[int]  # product row (arrays.products)
    q_kw: list[int]
    lo_kw: list[int]  # least an accepted bid takes (0 for a level)
    group: list[int]
    parent: list[int]
    inc_kw: list[int]  # per product
    n_cols: int
    level_col: np.ndarray
    x_col: np.ndarray
    y_col: np.ndarray
    t_col: np.ndarray

    @classmethod
    def of(cls, arrays: MilpArrays) -> Greedy:
        p_index = {p: i for i, p in enumerate(arrays.products["product_id"])}
        levels = arrays.levels.select(
            kind=pl.lit(LEVEL),
            index=pl.int_range(pl.len(), dtype=pl.Int64),
            product="product_id",
            price_cents="price_cents",
            rank=pl.col("first_rank").cast(pl.Int64),
            q_kw="q_kw",
            lo_kw=pl.lit(0, pl.Int64),
            group=pl.lit(-1, pl.Int64),
            parent=pl.lit(-1, pl.Int64),
        )
        cx = arrays.complex_bids.select(
            kind=pl.lit(COMPLEX),
            index=pl.int_range(pl.len(), dtype=pl.Int64),
            product="product_id",
            price_cents="price_cents",
            rank=pl.col("rank").cast(pl.Int64),
            q_kw="q_kw",
            lo_kw="lo_kw",
            group="group",
            parent="parent",
        )
        # Merit order: price first, then time priority; the kind and row make it total.
        items = pl.concat([levels, cx]).sort(
            ["price_cents", "rank", "kind", "index"], descending=[True, False, False, False]
        )
        return cls(
            kind=items["kind"].to_list(),
            index=items["index"].to_list(),
            product=items["product"].replace_strict(p_index, return_dtype=pl.Int64).to_list(),
            q_kw=items["q_kw"].to_list(),
            lo_kw=items["lo_kw"].to_list(),
            group=items["group"].to_list(),
            parent=items["parent"].to_list(),
            inc_kw=arrays.products["inc_kw"].to_list(),
            n_cols=arrays.first_w,
            level_col=arrays.levels["col"].to_numpy(),
            x_col=arrays.complex_bids["x_col"].to_numpy(),
            y_col=arrays.complex_bids["y_col"].to_numpy(),
            t_col=arrays.products["col"].to_numpy(),
        )

    def fill(self, caps: np.ndarray, preferred: np.ndarray | None = None) -> np.ndarray:
        """Master values (MW; ``T_p`` in increments) filling bids within ``caps`` increments.

        A bid with a minimum takes at least that or nothing; of an exclusive group only one
        member is accepted; a linked bid only with its parent. ``preferred`` (a flag per
        row of ``complex_bids``, say the bids a master solution accepted) are accepted
        first where their minimums fit, in merit order; then every bid takes what is left
        in merit order, the others of an exclusive group only if no member is accepted yet,
        a child met before its parent once the parent is decided.
        """
        room = [int(c) * inc for c, inc in zip(caps.tolist(), self.inc_kw, strict=True)]
        taken_kw = [0] * len(self.kind)
        accepted: dict[int, bool] = {}  # complex row -> accepted
        groups: set[int] = set()
        if preferred is not None:
            self._reserve(preferred, room, taken_kw, accepted, groups)
        waiting: list[int] = []
        for item in range(len(self.kind)):
            if self.kind[item] == COMPLEX and self.parent[item] >= 0:
                decided = accepted.get(self.parent[item])
                if decided is None:
                    waiting.append(item)
                    continue
                if not decided and self.index[item] not in accepted:
                    accepted[self.index[item]] = False
                    continue
            self._take(item, room, taken_kw, accepted, groups)
        for item in waiting:  # children whose parent came later in merit order
            if accepted.get(self.parent[item]):
                self._take(item, room, taken_kw, accepted, groups)
        return self._values(taken_kw)

    def _reserve(
        self,
        preferred: np.ndarray,
        room: list[int],
        taken_kw: list[int],
        accepted: dict[int, bool],
        groups: set[int],
    ) -> None:
        """Accept the preferred bids at their minimums, in merit order, where they fit.

        A preferred child whose parent did not fit is released again (down the chain).
        """
        chosen: list[int] = []
        for item in range(len(self.kind)):
            row = self.index[item]
            if self.kind[item] != COMPLEX or not preferred[row]:
                continue
            p, lo, group = self.product[item], self.lo_kw[item], self.group[item]
            if lo <= room[p] and (group < 0 or group not in groups):
                room[p] -= lo
                taken_kw[item] = lo
                accepted[row] = True
                chosen.append(item)
                if group >= 0:
                    groups.add(group)
        released = True
        while released:
            released = False
            for item in chosen:
                row = self.index[item]
                parent = self.parent[item]
                if accepted.get(row) and parent >= 0 and not accepted.get(parent):
                    accepted.pop(row)
                    room[self.product[item]] += taken_kw[item]
                    taken_kw[item] = 0
                    if self.group[item] >= 0:
                        groups.discard(self.group[item])
                    released = True

    def _take(
        self,
        item: int,
        room: list[int],
        taken_kw: list[int],
        accepted: dict[int, bool],
        groups: set[int],
    ) -> None:
        p = self.product[item]
        inc = self.inc_kw[p]
        if self.kind[item] == LEVEL:
            kw = min(self.q_kw[item], room[p] // inc * inc)
            taken_kw[item] = kw
            room[p] -= kw
            return
        row = self.index[item]
        if accepted.get(row):  # reserved at its minimum: top it up
            more = min(self.q_kw[item] - taken_kw[item], room[p] // inc * inc)
            taken_kw[item] += more
            room[p] -= more
            return
        if row in accepted:  # decided against already
            return
        kw = min(self.q_kw[item], room[p] // inc * inc)
        group = self.group[item]
        ok = kw >= self.lo_kw[item] and kw > 0 and (group < 0 or group not in groups)
        accepted[row] = ok
        if ok:
            taken_kw[item] = kw
            room[p] -= kw
            if group >= 0:
                groups.add(group)

    def _values(self, taken_kw: list[int]) -> np.ndarray:
        values = np.zeros(self.n_cols)
        kind = np.asarray(self.kind, dtype=np.int64)
        index = np.asarray(self.index, dtype=np.int64)
        kw = np.asarray(taken_kw, dtype=np.int64)
        product = np.asarray(self.product, dtype=np.int64)
        is_level = kind == LEVEL
        values[self.level_col[index[is_level]]] = kw[is_level] / 1000
        cx = ~is_level
        values[self.x_col[index[cx]]] = kw[cx] / 1000
        values[self.y_col[index[cx]]] = (kw[cx] > 0).astype(np.float64)
        per_product = np.bincount(product, weights=kw, minlength=len(self.inc_kw))
        values[self.t_col] = np.rint(per_product / np.asarray(self.inc_kw))
        return values
