"""The rows of the clearing MILP (``clearing.model``), family by family.

Each ``rows_*`` appends one family of constraints of docs/clearing.md to a ``Rows`` in
coordinate form: bid volume in whole increments, minimum quantities, exclusive groups,
links, the coupling of products to backing, and the capacity of every asset in every
time segment (with its whole-kW limit and rounding reserve).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl

from auction.book import MARKET_FACTOR, MARKETS
from auction.model import Archive
from auction.timegrid import Grid, availability_matrix, mtu_index_expr

INF = np.inf
# The rounding reserve: kW (times the row's largest coefficient) of a capacity row to keep
# free on the rows a rounding broke (clearing.rounding, clearing.clear). With it the plain
# rounding (largest remainder) keeps the row in practice. On a fleet used to the last kW
# the same totals usually still fit with it; on the 10,000-bid reference day they do not,
# no whole-kW backing of the optimum was found in 10 s of integer search, and keeping it
# on the 153 broken rows cost 319 EUR of 858,654 (0.04 %).
RESERVE_KW = 1.0
# A capacity row is rounded to the whole-kW grid only if its coefficients become integers
# when multiplied by at most this (on_the_kw_grid).
MAX_ROW_MULTIPLIER = 1_000_000


@dataclass
class Rows:
    """COO triplets and bounds, appended family by family."""

    rows: list[np.ndarray]
    cols: list[np.ndarray]
    vals: list[np.ndarray]
    lbs: list[np.ndarray]
    ubs: list[np.ndarray]
    n: int = 0

    def add(
        self, row: np.ndarray, col: np.ndarray, val: np.ndarray, lb: np.ndarray, ub: np.ndarray
    ) -> None:
        """Append a family whose rows are numbered 0..len(lb)-1 locally."""
        self.rows.append(row + self.n)
        self.cols.append(col)
        self.vals.append(val.astype(np.float64))
        self.lbs.append(lb.astype(np.float64))
        self.ubs.append(ub.astype(np.float64))
        self.n += len(lb)


def rows_total(
    rows: Rows,
    n_p: int,
    inc_mw: np.ndarray,
    lvl_p: np.ndarray,
    cx_p: np.ndarray,
    l0: int,
    x0: int,
    t0: int,
) -> None:
    """Σ_l z_l + Σ_b x_b − inc_p·T_p = 0 for every product: bid volume in whole increments."""
    row = np.concatenate([lvl_p, cx_p, np.arange(n_p)])
    col = np.concatenate(
        [l0 + np.arange(len(lvl_p)), x0 + np.arange(len(cx_p)), t0 + np.arange(n_p)]
    )
    val = np.concatenate([np.ones(len(lvl_p) + len(cx_p)), -inc_mw])
    rows.add(row, col, val, np.zeros(n_p), np.zeros(n_p))


def rows_min_quantity(rows: Rows, cx: pl.DataFrame, x0: int, y0: int) -> None:
    """min_b·y_b <= x_b <= q_b·y_b, with min at least one increment so that y_b = 1 ⇔ x_b > 0."""
    n = cx.height
    idx = np.arange(n)
    lo = np.maximum(cx["min_kw"].to_numpy(), cx["inc_kw"].to_numpy()) / 1000
    q = cx["q_kw"].to_numpy() / 1000
    # Row 2i: x − min·y >= 0;  row 2i+1: x − q·y <= 0.
    row = np.concatenate([2 * idx, 2 * idx, 2 * idx + 1, 2 * idx + 1])
    col = np.concatenate([x0 + idx, y0 + idx, x0 + idx, y0 + idx])
    val = np.concatenate([np.ones(n), -lo, np.ones(n), -q])
    row_lb = np.empty(2 * n)
    row_ub = np.empty(2 * n)
    row_lb[0::2], row_ub[0::2] = 0.0, INF
    row_lb[1::2], row_ub[1::2] = -INF, 0.0
    rows.add(row, col, val, row_lb, row_ub)


def rows_exclusive(rows: Rows, cx: pl.DataFrame, y0: int) -> None:
    """Σ_{b∈g} y_b <= 1 for every exclusive group g of one organisation."""
    members = cx.with_row_index("i").filter(pl.col("exclusive_group").is_not_null())
    groups = members.with_columns(
        g=pl.struct("org_id", "exclusive_group").rank("dense").cast(pl.Int64) - 1
    )
    n_g = groups["g"].n_unique()
    rows.add(
        groups["g"].to_numpy(),
        y0 + groups["i"].to_numpy().astype(np.int64),
        np.ones(groups.height),
        np.full(n_g, -INF),
        np.ones(n_g),
    )


def rows_link(rows: Rows, cx: pl.DataFrame, y0: int) -> None:
    """y_child − y_parent <= 0: a linked bid is accepted only with its parent."""
    indexed = cx.with_row_index("i").select("i", "bid_id", "linked_to")
    links = indexed.filter(pl.col("linked_to").is_not_null()).join(
        indexed.select(parent="bid_id", j="i"), left_on="linked_to", right_on="parent"
    )
    n = links.height
    child = y0 + links["i"].to_numpy().astype(np.int64)
    parent = y0 + links["j"].to_numpy().astype(np.int64)
    rows.add(
        np.concatenate([np.arange(n), np.arange(n)]),
        np.concatenate([child, parent]),
        np.concatenate([np.ones(n), -np.ones(n)]),
        np.full(n, -INF),
        np.zeros(n),
    )


def rows_coupling(
    rows: Rows,
    products: pl.DataFrame,
    backing: pl.DataFrame,
    inc_mw: np.ndarray,
    p_index: dict[str, int],
    t0: int,
) -> None:
    """Σ_k w_pmk − inc_p·T_p = A_p for every product and market with factor > 0."""
    pairs = backing.select("product_id", "market").unique(maintain_order=True)
    pair_row = pairs.with_row_index("r")
    entries = backing.join(pair_row, on=["product_id", "market"], how="left")
    pair_p = pairs["product_id"].replace_strict(p_index, return_dtype=pl.Int64).to_numpy()
    n = pairs.height
    alloc_mw = products["alloc_kw"].to_numpy()[pair_p] / 1000
    rows.add(
        np.concatenate([entries["r"].to_numpy().astype(np.int64), np.arange(n)]),
        np.concatenate([entries["col"].to_numpy(), t0 + pair_p]),
        np.concatenate([np.ones(entries.height), -inc_mw[pair_p]]),
        alloc_mw,
        alloc_mw,
    )


def rows_capacity(
    rows: Rows,
    archive: Archive,
    products: pl.DataFrame,
    backing: pl.DataFrame,
    p_index: dict[str, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Discharge, charge and energy capacity of every asset in every time segment.

    A segment is a stretch of MTUs between two product window edges: the set of products
    is the same in every MTU of it, so one row per segment is the row of its tightest MTU
    (the lowest availability). See docs/clearing.md for the three inequalities.
    Returns each row's group (segment * 3 + kind, for aggregated cuts) and its rounding
    reserve (``RESERVE_KW``).
    """
    if backing.height == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    cfg = archive.config
    grid = Grid.of_day(cfg.delivery_day, cfg.mtu_minutes, cfg.time_zone)

    def mtu_of(col: str) -> pl.Expr:
        return mtu_index_expr(pl.col(col), grid.start, cfg.mtu_minutes).cast(pl.Int64)

    windows = products.select(s=mtu_of("start"), e=mtu_of("end"))
    p_start, p_end = windows["s"].to_numpy(), windows["e"].to_numpy()
    edges = np.unique(np.concatenate([p_start, p_end]))
    seg_start, seg_end = edges[:-1], edges[1:]
    # active[p, s]: product p delivers during segment s.
    active = (p_start[:, None] <= seg_start[None, :]) & (p_end[:, None] >= seg_end[None, :])
    n_s = len(seg_start)

    fleet = archive.fleet.filter(pl.col("tso_zone") == cfg.tso_zone).sort("asset_id")
    k_index = {aid: i for i, aid in enumerate(fleet["asset_id"])}
    avail = availability_matrix(archive.availability, list(k_index), grid)
    # Segments tile [first edge, last edge) without gaps; reduceat's last slice would run
    # to the end of the day, so cut the matrix at the last edge first.
    seg_avail = np.minimum.reduceat(avail[:, : edges[-1]], seg_start, axis=1)  # (K, S)

    # Coefficient of w_pmk in each of the three rows, by product and market.
    factor = {m: products[MARKET_FACTOR[m]].to_numpy() for m in MARKETS}
    wh = products["wholesale_h"].to_numpy()
    kinds = {
        "discharge": {
            "wholesale": factor["wholesale"],
            "fcr": factor["fcr"],
            "afrr_pos": factor["afrr_pos"],
        },
        "charge": {
            "wholesale": factor["wholesale"],
            "fcr": factor["fcr"],
            "afrr_neg": factor["afrr_neg"],
        },
        "energy": {
            "wholesale": wh * factor["wholesale"],
            "fcr": 2 * cfg.fcr_energy_h * factor["fcr"],
            "afrr_pos": cfg.afrr_energy_h * factor["afrr_pos"],
            "afrr_neg": cfg.afrr_energy_h * factor["afrr_neg"],
        },
    }
    w_p = backing["product_id"].replace_strict(p_index, return_dtype=pl.Int64).to_numpy()
    w_k = backing["asset_id"].replace_strict(k_index, return_dtype=pl.Int64).to_numpy()
    w_m = backing["market"].to_numpy()
    w_col = backing["col"].to_numpy()

    # Expand every w column over the segments its product is active in (ragged -> flat).
    act_p, act_s = np.nonzero(active)
    first = np.searchsorted(act_p, np.arange(len(p_start)))
    count = active.sum(axis=1)[w_p]
    rep = np.repeat(np.arange(len(w_col)), count)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
    e_s = act_s[first[w_p][rep] + offset]
    e_k, e_p, e_m, e_col = w_k[rep], w_p[rep], w_m[rep], w_col[rep]

    caps = {
        "discharge": fleet["p_discharge_mw"].to_numpy(),
        "charge": fleet["p_charge_mw"].to_numpy(),
        "energy": (fleet["e_max_mwh"] - fleet["e_min_mwh"]).to_numpy(),
    }
    r_parts, c_parts, v_parts = [], [], []
    for kind_no, coef_by_market in enumerate(kinds.values()):
        coef = np.zeros(len(e_col))
        for market, per_product in coef_by_market.items():
            sel = e_m == market
            coef[sel] = per_product[e_p[sel]]
        keep = coef > 0
        r_parts.append((e_k[keep] * n_s + e_s[keep]) * 3 + kind_no)
        c_parts.append(e_col[keep])
        v_parts.append(coef[keep])
    full_rows = np.concatenate(r_parts)
    used, local = np.unique(full_rows, return_inverse=True)
    k_of, s_of, kind_of = used // 3 // n_s, used // 3 % n_s, used % 3
    cap = np.stack([caps["discharge"], caps["charge"], caps["energy"]])[kind_of, k_of]
    row, val = local.astype(np.int64), np.concatenate(v_parts)
    largest = _largest_coefficients(kinds, active, fleet)[kind_of, k_of, s_of]
    capacity = seg_avail[k_of, s_of] * cap
    limit = on_the_kw_grid(capacity, row, val)
    rows.add(row, np.concatenate(c_parts), val, np.full(len(used), -INF), limit)
    groups: np.ndarray = s_of * 3 + kind_of
    return groups, np.minimum(RESERVE_KW / 1000 * largest, limit)


def on_the_kw_grid(limit_mw: np.ndarray, row: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Capacity limits rounded down to what backing in whole kW can reach.

    Backing is whole kW (allocation.csv and backing.csv), so when ``m·coef`` is an integer
    for every coefficient of a row, ``Σ m·coef·w_kw`` is an integer too and the row holds
    exactly when it holds for ``floor(m·1000·limit)``. Rounding the limit down to that
    cuts off no whole-kW backing, and shows the LP what whole kW can use: three assets of
    3,333.3 kW carry 9,999 kW, not 10,000. Rows whose coefficients are no simple fraction
    keep their limit.
    """
    multiplier = _denominators(coef)
    per_row = np.ones(len(limit_mw), dtype=np.int64)
    np.lcm.at(per_row, row, multiplier)  # lcm with 0 is 0: no simple fraction
    simple = (per_row > 0) & (per_row <= MAX_ROW_MULTIPLIER)
    scale = np.where(simple, per_row, 1) * 1000
    floored = np.floor(limit_mw * scale + 1e-6) / scale
    return np.where(simple, np.minimum(floored, limit_mw), limit_mw)


def _denominators(coef: np.ndarray) -> np.ndarray:
    """The least m with m·c an integer, per coefficient; 0 when there is none up to 10**6."""
    values, inverse = np.unique(coef, return_inverse=True)
    out = np.zeros(len(values), dtype=np.int64)
    for i, value in enumerate(values.tolist()):  # a handful of distinct coefficients
        fraction = Fraction(value).limit_denominator(MAX_ROW_MULTIPLIER)
        if abs(float(fraction) - value) <= 1e-12 * max(1.0, abs(value)):
            out[i] = fraction.denominator
    return out[inverse]


def _largest_coefficients(
    kinds: dict[str, dict[str, np.ndarray]], active: np.ndarray, fleet: pl.DataFrame
) -> np.ndarray:
    """(kind, asset, segment): the largest coefficient a block of the segment can put
    on the asset's row, over every product delivering then and every market the asset
    may back (whether or not anybody bid for it).

    The rounding reserve of a row is ``RESERVE_KW`` times this: so much stays free, so
    that the backing can be laid out in whole kW (``clearing.rounding``). It depends on
    the catalogue and the fleet only, so the checker's reference can apply the same.
    """
    out = np.zeros((len(kinds), fleet.height, active.shape[1]))
    for kind_no, coef_by_market in enumerate(kinds.values()):
        for market, per_product in coef_by_market.items():
            may = np.ones(fleet.height, dtype=bool) if market == "wholesale" else fleet[market]
            per_segment = np.where(active, per_product[:, None], 0.0).max(axis=0, initial=0.0)
            mask = np.asarray(may, dtype=bool)[:, None]
            out[kind_no] = np.maximum(out[kind_no], np.where(mask, per_segment[None, :], 0.0))
    return out
