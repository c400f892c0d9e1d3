"""A TSO stand-in: the German balancing capacity auctions (FCR, aFRR capacity) for the sandbox.

Both markets pick, per product, the bids that meet the TSO's demand at the least total cost
Σ accepted MW × price (regelleistung.net; the ALPACA optimisation function for aFRR), in whole
MW, with indivisible bids taken whole or not at all. They differ only in what an accepted bid
is paid: FCR pays every accepted MW the product's settlement price, the highest accepted price
(pay-as-cleared); aFRR capacity pays each bid its own price (pay-as-bid).

The selection is a knapsack-like MILP because of the indivisible bids (a merit-order greedy
is not cost-minimal with them), solved exactly by HiGHS through ``clearing.highs``, one
product at a time: the products do not interact, a product's proof stays small, and each
product's stages below (exact demand, least cost, earliest receipt) are lexicographic for
that product alone, which one joint model could only have with weights mixing the products.

Per product, in this order:

1. the allocated total is the demand; if the book offers less, every bid is accepted in
   full; if indivisible bids make the exact demand unreachable, the smallest reachable total
   above it (a reserve is procured in full rather than short);
2. at that total, the least cost, in integer cents (prices lie on the cent grid), so the
   absolute MIP gap of half a cent makes the optimum exact;
3. among the selections of that cost, the one with the least MW-weighted receipt rank: of
   two bids at the same price the earlier received is filled first. The rank comes from
   ``received_at`` (or a ``rank`` column), then ``bid_id``, so the order of the rows never
   matters: the model HiGHS sees is the same for any order of the input.

Pure functions of polars frames: no store, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from clearing.highs import Option, solve_arrays

# A product's book is a few hundred bids (the real FCR day has at most 172 per country):
# HiGHS proves each stage in milliseconds; a minute means something is wrong.
OPTIONS: dict[str, Option] = {"time_limit": 60.0}

FCR_PRICE = "price_eur_per_mw"  # per MW and 4-hour product
AFRR_PRICE = "price_eur_per_mw_h"  # per MW and hour of the product


@dataclass(frozen=True)
class FcrResult:
    """``bids``: bid_id, product, accepted_mw, settlement_price_eur_per_mw (the product's).
    ``products``: product, demand_mw, offered_mw, allocated_mw, settlement_price_eur_per_mw
    (null where nothing was accepted)."""

    bids: pl.DataFrame
    products: pl.DataFrame


@dataclass(frozen=True)
class AfrrCapacityResult:
    """``bids``: bid_id, product, accepted_mw, paid_price_eur_per_mw_h (the bid's own price
    where accepted, else null). ``products``: product, demand_mw, offered_mw, allocated_mw,
    marginal_price_eur_per_mw_h (highest accepted), cost_eur_per_h (Σ accepted MW × price)."""

    bids: pl.DataFrame
    products: pl.DataFrame


def clear_fcr(bids: pl.DataFrame, demand_mw: Mapping[str, int]) -> FcrResult:
    """Clear FCR capacity products, pay-as-cleared.

    ``bids``: bid_id, product, price_eur_per_mw, offered_mw (int), indivisible (bool),
    received_at or rank. ``demand_mw``: the TSO's demand per product; a bid for a product
    without a demand is refused.
    """
    chosen = _select(bids, demand_mw, FCR_PRICE)
    settle = (
        chosen.filter(pl.col("accepted_mw") > 0)
        .group_by("product")
        .agg((pl.col("cents").max() / 100).alias("settlement_price_eur_per_mw"))
    )
    products = _totals(chosen, demand_mw).join(
        settle, on="product", how="left", maintain_order="left"
    )
    out = chosen.join(settle, on="product", how="left", maintain_order="left").select(
        "bid_id", "product", "accepted_mw", "settlement_price_eur_per_mw"
    )
    return FcrResult(bids=out, products=products)


def clear_afrr_capacity(bids: pl.DataFrame, demand_mw: Mapping[str, int]) -> AfrrCapacityResult:
    """Clear aFRR capacity products (``POS_xx_yy``, ``NEG_xx_yy``), pay-as-bid.

    ``bids`` as for ``clear_fcr``, with the capacity price in ``price_eur_per_mw_h``.
    """
    chosen = _select(bids, demand_mw, AFRR_PRICE)
    accepted = pl.col("accepted_mw") > 0
    paid = chosen.group_by("product").agg(
        (pl.col("cents").filter(accepted).max() / 100).alias("marginal_price_eur_per_mw_h"),
        ((pl.col("cents") * pl.col("accepted_mw")).sum() / 100).alias("cost_eur_per_h"),
    )
    products = _totals(chosen, demand_mw).join(
        paid, on="product", how="left", maintain_order="left"
    )
    products = products.with_columns(pl.col("cost_eur_per_h").fill_null(0.0))
    out = chosen.select(
        "bid_id",
        "product",
        "accepted_mw",
        pl.when(accepted).then(pl.col("cents") / 100).alias("paid_price_eur_per_mw_h"),
    )
    return AfrrCapacityResult(bids=out, products=products)


def _select(bids: pl.DataFrame, demand_mw: Mapping[str, int], price: str) -> pl.DataFrame:
    """The canonical book (product, receipt rank) with ``accepted_mw`` per bid."""
    book = _book(bids, price, demand_mw)
    parts = []
    for (product,), part in book.group_by("product", maintain_order=True):
        accepted = _allocate(
            str(product),
            part["cents"].to_numpy(),
            part["offered_mw"].to_numpy(),
            part["indivisible"].to_numpy(),
            part["receipt_rank"].to_numpy(),
            int(demand_mw[str(product)]),
        )
        parts.append(part.with_columns(accepted_mw=pl.Series(accepted, dtype=pl.Int64)))
    if not parts:
        return book.with_columns(accepted_mw=pl.lit(0, dtype=pl.Int64))
    return pl.concat(parts)


def _book(bids: pl.DataFrame, price: str, demand_mw: Mapping[str, int]) -> pl.DataFrame:
    """Checked bids in a canonical order, prices in integer cents, receipt rank per product."""
    receipt = next((c for c in ("received_at", "rank") if c in bids.columns), None)
    missing = {"bid_id", "product", price, "offered_mw", "indivisible"} - set(bids.columns)
    if missing or receipt is None:
        raise ValueError(f"bids lack {sorted(missing) or ['received_at or rank']}")
    nulls = [c for c in ("bid_id", "product", "offered_mw", receipt) if bids[c].null_count()]
    if nulls:
        raise ValueError(f"bids have nulls in {nulls}")
    if bids["bid_id"].n_unique() != bids.height:
        raise ValueError("bid_id must be unique")
    if not bids["offered_mw"].dtype.is_integer() or (bids["offered_mw"] < 1).any():
        raise ValueError("offered_mw must be whole MW, at least 1")
    if bids["indivisible"].dtype != pl.Boolean or bids["indivisible"].null_count():
        raise ValueError("indivisible must be a boolean without nulls")
    if any(int(d) < 0 or int(d) != d for d in demand_mw.values()):
        raise ValueError("demand_mw must be whole MW, at least 0")
    unknown = set(bids["product"].unique().to_list()) - set(demand_mw)
    if unknown:
        raise ValueError(f"no demand for product(s) {sorted(unknown)}")
    book = bids.select(
        "bid_id",
        pl.col("product").cast(pl.String),
        (pl.col(price).cast(pl.Float64) * 100).alias("cents_f"),
        pl.col("offered_mw").cast(pl.Int64),
        "indivisible",
        pl.col(receipt).alias("receipt"),
    )
    cents_f = book["cents_f"].to_numpy()
    off_grid = ~np.isfinite(cents_f) | (np.abs(cents_f - np.rint(cents_f)) > 1e-6)
    if off_grid.any():
        bad = book["bid_id"][int(np.flatnonzero(off_grid)[0])]
        raise ValueError(f"{price} off the cent grid or not finite (bid {bad!r})")
    book = book.with_columns(cents=pl.Series(np.rint(cents_f), dtype=pl.Float64).cast(pl.Int64))
    return (
        book.drop("cents_f")
        .sort("product", "receipt", "bid_id")
        .with_columns(receipt_rank=pl.int_range(pl.len(), dtype=pl.Int64).over("product"))
    )


def _allocate(
    product: str,
    cents: np.ndarray,
    offered: np.ndarray,
    indivisible: np.ndarray,
    rank: np.ndarray,
    demand: int,
) -> np.ndarray:
    """Accepted MW per bid of one product (the three stages of the module docstring).

    One integer column per bid: MW for a divisible bid (0..offered), taken-or-not for an
    indivisible one (0..1, worth ``offered`` MW).
    """
    if demand >= int(offered.sum()):
        return offered.copy()
    if demand == 0:
        return np.zeros_like(offered)
    mw = np.where(indivisible, offered, 1).astype(np.int64)  # MW per unit of the column
    ub = np.where(indivisible, 1, offered).astype(np.float64)
    cost = cents * mw
    total_row = sp.csr_matrix(mw.astype(np.float64).reshape(1, -1))
    total = demand
    units = _milp(product, cost, ub, total_row, [demand], [demand])
    if units is None:  # indivisible bids: no selection sums to the demand exactly
        least = _milp(product, mw, ub, total_row, [demand], [np.inf])
        if least is None:
            raise RuntimeError(f"{product}: no selection reaches {demand} MW")
        total = int(mw @ least)
        units = _milp(product, cost, ub, total_row, [total], [total])
        if units is None:
            raise RuntimeError(f"{product}: no selection of {total} MW")
    least_cost = int(cost @ units)
    rows = sp.vstack([total_row, sp.csr_matrix(cost.astype(np.float64).reshape(1, -1))])
    # Integral objectives: half a cent of slack admits only the least cost itself.
    tied = _milp(product, rank * mw, ub, rows, [total, -np.inf], [total, least_cost + 0.5])
    if tied is None or int(cost @ tied) != least_cost or int(mw @ tied) != total:
        raise RuntimeError(f"{product}: the receipt stage lost the total or the least cost")
    accepted: np.ndarray = tied * mw
    return accepted


def _milp(
    product: str,
    cost: np.ndarray,
    ub: np.ndarray,
    rows: sp.csr_matrix,
    row_lb: list[float] | list[int],
    row_ub: list[float] | list[int],
) -> np.ndarray | None:
    """min cost·u over integer 0 <= u <= ub and the rows; None when infeasible."""
    n = len(cost)
    status, values = solve_arrays(
        cost.astype(np.float64),
        np.zeros(n),
        ub,
        rows,
        np.asarray(row_lb, dtype=np.float64),
        np.asarray(row_ub, dtype=np.float64),
        sense="minimise",
        integrality=np.ones(n, dtype=np.int8),
        options=OPTIONS,
    )
    if values is None and status == "Infeasible":
        return None
    if values is None or status != "Optimal":
        raise RuntimeError(f"{product}: HiGHS ended {status!r}")
    units: np.ndarray = np.rint(values).astype(np.int64)
    return units


def _totals(chosen: pl.DataFrame, demand_mw: Mapping[str, int]) -> pl.DataFrame:
    """product, demand_mw, offered_mw, allocated_mw: every product with a demand or a bid."""
    demand = pl.DataFrame(
        {"product": list(demand_mw), "demand_mw": [int(d) for d in demand_mw.values()]},
        schema={"product": pl.String, "demand_mw": pl.Int64},
    )
    sums = chosen.group_by("product").agg(
        pl.col("offered_mw").sum().alias("offered_mw"),
        pl.col("accepted_mw").sum().alias("allocated_mw"),
    )
    return (
        demand.join(sums, on="product", how="left")
        .with_columns(pl.col("offered_mw", "allocated_mw").fill_null(0))
        .sort("product")
    )
