"""The clearing MILP as arrays (docs/clearing.md), testable without a solver.

Columns, in this order:

- ``T_p``   integer, increments of product ``p`` awarded to bids (``X_p = inc_p·T_p + A_p``);
- ``z_l``   continuous MW of a price level ``l``: the simple bids of one product at one price;
- ``x_b``   continuous MW of a bid that needs a binary (minimum, exclusive group, link);
- ``y_b``   binary, that bid is accepted;
- ``w_pmk`` continuous MW of product ``p``'s market-``m`` block backed by asset ``k``.

Only ``T_p`` and ``y_b`` are integer. Inside a product, for a given total and a given set
of accepted bids, revenue is maximised by filling bids in merit order, so the per-bid
integrality is restored afterwards (``clearing.fill``) at the same revenue. That keeps the
number of integers at products + binaries instead of one (or two) per bid. (The solver's
master problem counts ``z_l`` and ``x_b`` in whole increments too, but only so that HiGHS
sees an objective integral in cents; see ``clearing.solve``.)

The rows, family by family, are built in ``clearing.model_rows``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from auction.book import MARKET_FACTOR, MARKETS
from auction.model import Archive
from auction.units import to_kw
from clearing.model_rows import (
    INF,
    Rows,
    rows_capacity,
    rows_coupling,
    rows_exclusive,
    rows_link,
    rows_min_quantity,
    rows_total,
)


@dataclass(frozen=True)
class MilpArrays:
    """max c·v  s.t.  row_lb <= A v <= row_ub,  lb <= v <= ub,  v_i integer where integrality."""

    c: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray
    A: sp.csc_matrix
    row_lb: np.ndarray
    row_ub: np.ndarray
    # Stage-2 objective: time priority of the volume, used only among revenue-optimal solutions.
    priority: np.ndarray
    # Index maps from model columns back to the domain.
    # product_id, inc_kw, alloc_kw, backable, the four market factors, col (of T_p)
    products: pl.DataFrame
    levels: pl.DataFrame  # product_id, price_cents, q_kw, first_rank, col
    # bid_id, product_id, q_kw, price_cents, rank, lo_kw, group, parent, x_col, y_col
    complex_bids: pl.DataFrame
    backing: pl.DataFrame  # product_id, market, asset_id, col
    # Where the fleet part starts: columns from ``first_w`` on are ``w``; rows from
    # ``first_coupling`` on are coupling, then capacity rows.
    first_w: int
    first_coupling: int
    first_capacity: int
    # Per capacity row: segment * 3 + kind (0 discharge, 1 charge, 2 energy).
    capacity_group: np.ndarray
    # Per capacity row: the rounding reserve (MW or MWh), kept free only where a rounding
    # of the backing to whole kW broke the row (clearing.rounding).
    reserve: np.ndarray


def build_model(archive: Archive, bids: pl.DataFrame) -> MilpArrays:
    """Build the clearing MILP from the archive and the prepared bids (``prepare_bids``)."""
    eligible = bids.filter(pl.col("eligible"))
    products = _product_totals(archive, eligible)
    n_p = products.height

    # --- columns -------------------------------------------------------------------------
    levels = (
        eligible.filter(~pl.col("needs_binary"))
        .group_by("product_id", "price_cents")
        .agg(q_kw=pl.col("q_kw").sum(), first_rank=pl.col("rank").min())
        .sort(["product_id", "price_cents"], descending=[False, True])
    )
    complex_bids = eligible.filter(pl.col("needs_binary"))
    n_l, n_c = levels.height, complex_bids.height
    t0, l0, x0, y0, w0 = 0, n_p, n_p + n_l, n_p + n_l + n_c, n_p + n_l + 2 * n_c
    backing = _backing_columns(archive, products).with_columns(
        col=pl.int_range(pl.len(), dtype=pl.Int64) + w0
    )
    n_cols = w0 + backing.height

    inc_mw = products["inc_kw"].to_numpy() / 1000
    c = np.zeros(n_cols)
    c[l0:x0] = levels["price_cents"].to_numpy() / 100
    c[x0:y0] = complex_bids["price_cents"].to_numpy() / 100
    lb = np.zeros(n_cols)
    ub = np.full(n_cols, INF)
    ub[t0:l0] = products["t_max"].to_numpy()
    ub[l0:x0] = levels["q_kw"].to_numpy() / 1000
    ub[x0:y0] = complex_bids["q_kw"].to_numpy() / 1000
    ub[y0:w0] = 1.0
    # A product with a market that no asset may back (say FCR without a prequalified
    # asset in the zone) cannot be awarded at all.
    backable = (
        products.select(
            pl.all_horizontal(
                (pl.col(MARKET_FACTOR[m]) == 0)
                | pl.col("product_id").is_in(
                    backing.filter(pl.col("market") == m)["product_id"].implode()
                )
                for m in MARKETS
            )
        )
        .to_series()
        .to_numpy()
    )
    ub[t0:l0] = np.where(backable, ub[t0:l0], 0.0)
    products = products.with_columns(backable=pl.Series(backable, dtype=pl.Boolean))
    integrality = np.zeros(n_cols, dtype=np.int32)
    integrality[t0:l0] = 1
    integrality[y0:w0] = 1

    n_ranks = max(bids.height, 1)
    priority = np.zeros(n_cols)
    # Integer weights (earliest bid: n_ranks) keep the stage-2 objective integral too.
    priority[l0:x0] = n_ranks - levels["first_rank"].to_numpy()
    priority[x0:y0] = n_ranks - complex_bids["rank"].to_numpy()

    # --- rows ----------------------------------------------------------------------------
    rows = Rows([], [], [], [], [])
    p_index = {pid: i for i, pid in enumerate(products["product_id"])}
    lvl_p = levels["product_id"].replace_strict(p_index, return_dtype=pl.Int64).to_numpy()
    cx_p = complex_bids["product_id"].replace_strict(p_index, return_dtype=pl.Int64).to_numpy()
    rows_total(rows, n_p, inc_mw, lvl_p, cx_p, l0, x0, t0)
    rows_min_quantity(rows, complex_bids, x0, y0)
    rows_exclusive(rows, complex_bids, y0)
    rows_link(rows, complex_bids, y0)
    first_coupling = rows.n
    rows_coupling(rows, products, backing, inc_mw, p_index, t0)
    first_capacity = rows.n
    capacity_group, reserve = rows_capacity(rows, archive, products, backing, p_index)

    A = sp.csc_matrix(
        (np.concatenate(rows.vals), (np.concatenate(rows.rows), np.concatenate(rows.cols))),
        shape=(rows.n, n_cols),
    )
    A.sum_duplicates()
    return MilpArrays(
        c=c,
        lb=lb,
        ub=ub,
        integrality=integrality,
        A=A,
        row_lb=np.concatenate(rows.lbs),
        row_ub=np.concatenate(rows.ubs),
        priority=priority,
        products=products.select(
            "product_id",
            "inc_kw",
            "alloc_kw",
            "backable",
            *MARKET_FACTOR.values(),
            col=pl.int_range(n_p),
        ),
        levels=levels.select(
            "product_id",
            "price_cents",
            "q_kw",
            "first_rank",
            col=pl.int_range(n_l, dtype=pl.Int64) + l0,
        ),
        complex_bids=_complex_columns(complex_bids, x0, y0),
        backing=backing.select("product_id", "market", "asset_id", "col"),
        first_w=w0,
        first_coupling=first_coupling,
        first_capacity=first_capacity,
        capacity_group=capacity_group,
        reserve=reserve,
    )


def _complex_columns(cx: pl.DataFrame, x0: int, y0: int) -> pl.DataFrame:
    """Index map of the bids with a binary, with what a heuristic needs to fill them.

    ``lo_kw`` is the least an accepted bid gets (its minimum, at least one increment);
    ``group`` numbers its (org, exclusive group), ``parent`` is the row of the bid it is
    linked to (both -1 when there is none).
    """
    n = cx.height
    framed = cx.with_row_index("i").with_columns(pl.col("i").cast(pl.Int64))
    group = (
        pl.when(pl.col("exclusive_group").is_not_null())
        .then(pl.struct("org_id", "exclusive_group").rank("dense").cast(pl.Int64) - 1)
        .otherwise(-1)
    )
    parents = framed.select(linked_to="bid_id", parent="i")
    return framed.join(parents, on="linked_to", how="left", maintain_order="left").select(
        "bid_id",
        "product_id",
        "q_kw",
        "price_cents",
        "rank",
        lo_kw=pl.max_horizontal("min_kw", "inc_kw"),
        group=group,
        parent=pl.col("parent").fill_null(-1),
        x_col=pl.int_range(n, dtype=pl.Int64) + x0,
        y_col=pl.int_range(n, dtype=pl.Int64) + y0,
    )


def _product_totals(archive: Archive, eligible: pl.DataFrame) -> pl.DataFrame:
    """Products in canonical order with increment, fixed allocation and the bound of ``T_p``."""
    demand = eligible.group_by("product_id").agg(demand_kw=pl.col("q_kw").sum())
    alloc = archive.allocations.group_by("product_id").agg(
        alloc_kw=to_kw(pl.col("quantity_mw")).sum()
    )
    frame = (
        archive.products.sort("product_id")
        .join(demand, on="product_id", how="left")
        .join(alloc, on="product_id", how="left")
        .with_columns(
            inc_kw=to_kw(pl.col("increment_mw")),
            demand_kw=pl.col("demand_kw").fill_null(0),
            alloc_kw=pl.col("alloc_kw").fill_null(0),
            max_kw=to_kw(pl.col("max_mw")),
        )
    )
    room = pl.min_horizontal(
        pl.col("demand_kw"), (pl.col("max_kw") - pl.col("alloc_kw")).fill_null(pl.col("demand_kw"))
    ).clip(lower_bound=0)
    return frame.with_columns(t_max=(room // pl.col("inc_kw")).cast(pl.Float64))


def _backing_columns(archive: Archive, products: pl.DataFrame) -> pl.DataFrame:
    """One ``w`` column per (product, market with factor > 0, asset that may back it).

    Products that can never be awarded (no eligible demand, no allocation) get none.
    An asset may back a market when it lies in the auction's zone and, for reserves,
    is prequalified.
    """
    fleet = archive.fleet.filter(pl.col("tso_zone") == archive.config.tso_zone).sort("asset_id")
    live = products.filter((pl.col("t_max") > 0) | (pl.col("alloc_kw") > 0))
    parts = []
    for market in MARKETS:
        assets = fleet if market == "wholesale" else fleet.filter(pl.col(market))
        used = live.filter(pl.col(MARKET_FACTOR[market]) > 0).select("product_id")
        parts.append(
            used.join(assets.select("asset_id"), how="cross").with_columns(market=pl.lit(market))
        )
    order = {m: i for i, m in enumerate(MARKETS)}
    frame = pl.concat(parts).select("product_id", "market", "asset_id")
    return frame.sort(
        "product_id", pl.col("market").replace_strict(order, return_dtype=pl.Int8), "asset_id"
    )
