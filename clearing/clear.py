"""One clearing, end to end: frames in, ``ClearingResult`` out. Pure: no I/O."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

from auction.book import ALLOCATION_KW, BACKING_KW
from auction.model import Archive
from auction.units import PAYMENT_UNITS_PER_EUR, to_kw
from clearing.assets import (
    allocation_kw,
    backing,
    blocks,
    virtual_assets,
)
from clearing.digest import input_sha256
from clearing.eligibility import prepare_bids
from clearing.fill import fill_awards
from clearing.fleet import FleetLP
from clearing.model import MilpArrays, build_model
from clearing.result import ClearingResult
from clearing.rounding import round_backing
from clearing.solve import Solution, lower_totals, solve, with_reserve

# The time-priority stage is not started with less than this left of the time limit: it
# would only overrun the limit, and stage 1's answer is already revenue-optimal.
MIN_TIEBREAK_S = 1.0
# Kept back from the time limit for the result's tables (virtual assets, blocks, backing).
RESULT_TABLES_S = 0.2
# The fleet LP that keeps room for the rounding may run this far past the limit: its
# answer beats lowered totals by far (0.5 % of the revenue on hard 10,000-bid days at 5 s).
ROOM_LP_GRACE_S = 0.5


def _best_price_per_mw(arrays: MilpArrays) -> np.ndarray:
    """Per product (in model order), the highest eligible price per MW (EUR), or 0."""
    prices = pl.concat(
        [
            arrays.levels.select("product_id", "price_cents"),
            arrays.complex_bids.select("product_id", "price_cents"),
        ]
    )
    best = arrays.products.join(
        prices.group_by("product_id").agg(pl.col("price_cents").max()),
        on="product_id",
        how="left",
        maintain_order="left",
    )
    return best["price_cents"].fill_null(0).to_numpy() / 100


def clear(archive: Archive, *, time_limit_s: float | None = None) -> ClearingResult:
    """Clear the auction: revenue-optimal awards, then time priority among equal revenue.

    Stage 1 maximises pay-as-bid revenue to within one cent. Stage 2 (only when stage 1 is
    proven optimal) keeps revenue at that optimum and prefers volume for earlier bids;
    its result is kept only if its exact revenue is not lower, so stage 2 can never cost
    money. Bids are modelled in a canonical order, so row order never matters.

    The time limit holds for the whole call: when it runs out, the result is the best
    backable answer found so far (status ``time_limit``) with its proven bound.
    """
    t_build = time.perf_counter()
    limit = archive.config.time_limit_s if time_limit_s is None else time_limit_s
    end = t_build + limit
    deadline = end - RESULT_TABLES_S  # for the solver; the rounding may use the rest
    bids = prepare_bids(archive.bids, archive.products)
    arrays = build_model(archive, bids)
    build_s = time.perf_counter() - t_build

    unbacked = arrays.products.filter(~pl.col("backable") & (pl.col("alloc_kw") > 0))
    fleet = FleetLP(arrays)
    first = solve(arrays, deadline, fleet)
    solver: dict[str, object] = {
        "options": {**first.options, "time_limit": limit},
        "method": "benders: master MILP over bids, fleet LP cuts, greedy incumbents",
        "n_cols": int(arrays.c.size),
        "n_rows": int(arrays.row_lb.size),
        "n_integer": int(arrays.integrality.sum()),
        "rounds": first.rounds,
        "cuts": int(first.cuts.pi0.size),
        "found_by": first.found_by,
        "tiebreak": "skipped",
    }
    if first.status == "infeasible" or unbacked.height:
        why = None
        if unbacked.height:
            rows = archive.allocations.filter(pl.col("product_id").is_in(unbacked["product_id"]))
            names = ", ".join(
                f"{r['org_id']} {r['quantity_mw']:g} MW of {r['product_id']}"
                for r in rows.iter_rows(named=True)
            )
            why = (
                f"infeasible: the fixed allocations ({names}) need a market that no asset in "
                f"zone {archive.config.tso_zone} may back (check prequalification)"
            )
        return _infeasible(archive, bids, build_s, first, solver, why)

    awards = _price(fill_awards(bids, arrays, first.values))
    values, solve_s, status = first.values, first.solve_s, first.status
    if status == "time_limit":
        solver["stopped"] = f"the time limit of {limit:g} s ran out"
    at_stake = _bids_at_stake(awards) if first.status == "optimal" else set()
    time_left = deadline - time.perf_counter()
    if at_stake and time_left < MIN_TIEBREAK_S:
        solver["tiebreak"] = f"skipped: {max(time_left, 0):.1f} s left of the time limit"
    elif at_stake:
        second = _tiebreak(arrays, bids, first, fleet, at_stake, deadline)
        solve_s += second.solve_s
        solver["tiebreak"] = f"{second.status} ({len(at_stake)} bids at stake)"
        if second.status == "optimal":
            candidate = _price(fill_awards(bids, arrays, second.values))
            if candidate["payment_units"].sum() >= awards["payment_units"].sum():
                awards, values = candidate, second.values
    tables = _tables(archive, arrays, fleet, awards, values, end)
    exact, room = values, np.zeros_like(arrays.reserve)
    for every_row in (False, False, True):
        if not tables.short_kw.any() or time.perf_counter() > end + ROOM_LP_GRACE_S:
            break  # out of time: lowering the totals below needs no LP
        # The best answer's backing could not be rounded to whole kW in time: keep the
        # rounding reserve free on the rows the rounding broke (at last on every row),
        # and refill the answer into what the fleet backs then. Nothing is proven optimal.
        broken = tables.room if tables.room is not None else arrays.reserve
        room = arrays.reserve if every_row else room + broken
        price = _best_price_per_mw(arrays)
        reserved = with_reserve(arrays, fleet, exact, price, room, end + ROOM_LP_GRACE_S)
        if reserved is None:
            continue
        values, status = reserved, "time_limit"
        solver["stopped"] = (
            "no whole-kW backing of the best answer was found in time, so room was kept "
            "free for the rounding"
        )
        awards = _price(fill_awards(bids, arrays, values))
        tables = _tables(archive, arrays, fleet, awards, values, end)
        kept = f"room kept on {np.count_nonzero(room):,} of {room.size:,} capacity rows"
        solver["rounding"] = f"{kept}: {tables.rounding}"
    while tables.short_kw.any():
        # Rarer still: lower the products the rounding could not carry by whole increments.
        awarded = values[arrays.products["col"].to_numpy()] > 0.5
        if not np.any(awarded & (tables.short_kw > 0)):
            break  # only the fixed allocations are left where it falls short
        values, status = lower_totals(arrays, values, tables.short_kw), "time_limit"
        solver["stopped"] = "the backing could not be rounded to whole kW; totals were lowered"
        awards = _price(fill_awards(bids, arrays, values))
        tables = _tables(archive, arrays, fleet, awards, values, end)
        solver["rounding"] = "totals lowered: the backing could not be rounded to whole kW"
    if tables.short_kw.any():
        return _infeasible(archive, bids, build_s, first, solver, None)
    solver.setdefault("rounding", tables.rounding)
    return _result(archive, awards, tables, status, first.bound, build_s, solve_s, solver)


def _bids_at_stake(awards: pl.DataFrame) -> set[str]:
    """Bids in a pair where an earlier bid got less than a later bid at the very same price.

    Only such pairs can move at equal revenue in favour of time priority, so only they
    (and their products' totals) are re-decided by the second stage. Simple bids of one
    product at one price are already served in time order by ``fill_awards``; such pairs
    alone do not count. A divisible winner priced above its product's lowest accepted
    price cannot give volume away at equal revenue (the cheaper winner would go first),
    so only marginal winners and binary bids count on the winning side.
    """
    cols = ["bid_id", "price_cents", "product_id", "needs_binary", "rank"]
    short = awards.filter(pl.col("eligible") & (pl.col("awarded_kw") < pl.col("q_kw")))
    won = awards.filter(pl.col("awarded_kw") > 0)
    won = won.filter(
        pl.col("needs_binary")
        | (pl.col("price_cents") == pl.col("price_cents").min().over("product_id"))
    )
    pairs = short.select(cols).join(won.select(cols), on="price_cents", suffix="_won")
    pairs = pairs.filter(
        (pl.col("rank") < pl.col("rank_won"))
        & (
            (pl.col("product_id") != pl.col("product_id_won"))
            | pl.col("needs_binary")
            | pl.col("needs_binary_won")
        )
    )
    return set(pairs["bid_id"]) | set(pairs["bid_id_won"])


def _tiebreak(
    arrays: MilpArrays,
    bids: pl.DataFrame,
    first: Solution,
    fleet: FleetLP,
    at_stake: set[str],
    deadline: float,
) -> Solution:
    """Among revenue-optimal solutions, the most volume for earlier bids.

    Revenue moves in steps of at least one cent times one increment (in kW), so a floor
    at 0.4 of that step below the optimum admits only revenue-optimal solutions. Every
    integer decision that does not involve a bid at stake keeps its stage-1 value, which
    keeps this stage small.
    """
    inc_kw = int(arrays.products["inc_kw"].min() or 1000)  # type: ignore[arg-type]
    quantum_eur = 0.01 * inc_kw / 1000
    floor = first.objective - 0.4 * quantum_eur
    products = set(bids.filter(pl.col("bid_id").is_in(list(at_stake)))["product_id"])
    free_t = arrays.products.filter(pl.col("product_id").is_in(list(products)))["col"]
    free_y = arrays.complex_bids.filter(pl.col("bid_id").is_in(list(at_stake)))["y_col"]
    fixed = arrays.integrality.astype(bool)
    fixed[free_t.to_numpy()] = False
    fixed[free_y.to_numpy()] = False
    settled = np.rint(first.values)
    lb = np.where(fixed, settled, arrays.lb)
    ub = np.where(fixed, settled, arrays.ub)
    return solve(
        arrays,
        deadline,
        fleet,
        objective=arrays.priority,
        extra_row=(arrays.c, floor),
        start=first.values,
        bounds=(lb, ub),
        cuts=first.cuts,
        warm_up=False,
    )


def _price(awards: pl.DataFrame) -> pl.DataFrame:
    """Status, payment (kW × cents, exact) and the reason a bid got less than it asked."""
    frame = awards.with_columns(
        payment_units=pl.col("awarded_kw") * pl.col("price_cents"),
        status=pl.when(pl.col("awarded_kw") == 0)
        .then(pl.lit("rejected"))
        .when(pl.col("awarded_kw") < pl.col("q_kw"))
        .then(pl.lit("partial"))
        .otherwise(pl.lit("accepted")),
    )
    won = frame.filter(pl.col("awarded_kw") > 0)
    lowest = won.group_by("product_id").agg(lowest_cents=pl.col("price_cents").min())
    parent_won = won.select(linked_to="bid_id", parent_won=pl.lit(True))
    group_won = (
        won.filter(pl.col("exclusive_group").is_not_null())
        .group_by("org_id", "exclusive_group")
        .agg(group_winner=pl.col("bid_id").first())
    )
    frame = (
        frame.join(lowest, on="product_id", how="left", maintain_order="left")
        .join(parent_won, on="linked_to", how="left", maintain_order="left")
        .join(group_won, on=["org_id", "exclusive_group"], how="left", maintain_order="left")
    )
    rejected = pl.col("awarded_kw") == 0
    reason = (
        pl.when(pl.col("reason").is_not_null())
        .then(pl.col("reason"))
        .when(pl.col("status") == "accepted")
        .then(pl.lit(None, pl.String))
        .when(rejected & pl.col("linked_to").is_not_null() & pl.col("parent_won").is_null())
        .then(pl.lit("parent_rejected"))
        .when(rejected & pl.col("group_winner").is_not_null())
        .then(pl.lit("exclusive_group"))
        .when(
            rejected
            & (pl.col("min_kw") > pl.col("inc_kw"))
            & (pl.col("price_cents") >= pl.col("lowest_cents"))
        )
        .then(pl.lit("min_quantity"))
        .otherwise(pl.lit("outbid"))
    )
    return frame.with_columns(reason=reason).drop("lowest_cents", "parent_won", "group_winner")


@dataclass(frozen=True)
class _Tables:
    """What an answer becomes: allocation, virtual assets, blocks and backing."""

    allocation: pl.DataFrame
    virtual_assets: pl.DataFrame
    blocks: pl.DataFrame
    backing: pl.DataFrame
    short_kw: np.ndarray  # per product, what the rounding could not back
    rounding: str
    room: np.ndarray | None  # then: rounding reserve to keep free per capacity row


def _tables(
    archive: Archive,
    arrays: MilpArrays,
    fleet: FleetLP,
    awards: pl.DataFrame,
    values: np.ndarray,
    deadline: float,
) -> _Tables:
    """The answer's tables in whole kW, and what its backing could not carry in whole kW."""
    totals = arrays.products.join(
        awards.group_by("product_id").agg(bid_kw=pl.col("awarded_kw").sum()),
        on="product_id",
        how="left",
        maintain_order="left",
    ).select("product_id", x_kw=pl.col("bid_kw").fill_null(0) + pl.col("alloc_kw"))
    vas = virtual_assets(archive, awards)
    blk = blocks(archive, vas)
    lines = blk.group_by("product_id", "market").agg(block_kw=pl.col("power_kw").sum())
    totals_mw = totals["x_kw"].to_numpy() / 1000

    def reback(reserve: np.ndarray) -> np.ndarray | None:
        fleet.keep_free(reserve)
        again = fleet.back(totals_mw, deadline)
        return again.w if again.backed else None

    rounded = round_backing(arrays, values[arrays.first_w :], totals, lines, deadline, reback)
    alloc = allocation_kw(arrays.backing, rounded.w_kw, rounded.share_kw)
    return _Tables(
        alloc.drop("share_kw"),
        vas,
        blk,
        backing(blk, alloc),
        rounded.short_kw,
        rounded.method,
        rounded.room,
    )


def _result(
    archive: Archive,
    awards: pl.DataFrame,
    tables: _Tables,
    status: str,
    bound_eur: float,
    build_s: float,
    solve_s: float,
    solver: dict[str, object],
) -> ClearingResult:
    units = int(awards["payment_units"].sum())
    # The bound to the cent, rounded up (still a bound), and the gap measured against it.
    bound = math.ceil(bound_eur * 100 - 1e-6) / 100 if np.isfinite(bound_eur) else None
    return ClearingResult(
        auction_id=archive.config.auction_id,
        time_zone=archive.config.time_zone,
        status=status,
        objective_eur=Decimal(units) / PAYMENT_UNITS_PER_EUR,
        mip_gap=0.0 if status == "optimal" else relative_gap(units, bound),
        bound_eur=bound,
        build_s=build_s,
        solve_s=solve_s,
        input_sha256=input_sha256(archive),
        awards=awards,
        allocation=tables.allocation,
        virtual_assets=tables.virtual_assets.rename({"kw": "awarded_kw"}),
        blocks=tables.blocks,
        backing=tables.backing,
        solver=solver,
    )


def relative_gap(units: int, bound_eur: float | None) -> float | None:
    """(bound − revenue) / revenue; None (unknown) without a revenue or a bound."""
    revenue = units / PAYMENT_UNITS_PER_EUR
    if revenue <= 0 or bound_eur is None:
        return None
    return max(bound_eur - revenue, 0.0) / revenue


def _infeasible(
    archive: Archive,
    bids: pl.DataFrame,
    build_s: float,
    first: Solution,
    solver: dict[str, object],
    why: str | None,
) -> ClearingResult:
    """No award at all, and a message naming the fixed allocations the fleet cannot carry."""
    alloc = archive.allocations.with_columns(kw=to_kw(pl.col("quantity_mw")))
    listed = ", ".join(
        f"{r['org_id']} {r['quantity_mw']:g} MW of {r['product_id']}"
        for r in alloc.iter_rows(named=True)
    )
    message = why or (
        "infeasible: the fleet in zone "
        f"{archive.config.tso_zone} cannot carry the fixed allocations ({listed}) "
        "in every MTU of their windows; reduce them or add capacity"
    )
    awards = _price(bids.with_columns(awarded_kw=pl.lit(0, pl.Int64)))
    empty_vas = virtual_assets(archive, awards).clear()
    empty_blocks = blocks(archive, empty_vas)
    return ClearingResult(
        auction_id=archive.config.auction_id,
        time_zone=archive.config.time_zone,
        status="infeasible",
        objective_eur=Decimal(0),
        mip_gap=0.0,
        build_s=build_s,
        solve_s=first.solve_s,
        input_sha256=input_sha256(archive),
        awards=awards,
        allocation=pl.DataFrame(schema=ALLOCATION_KW),
        virtual_assets=empty_vas.rename({"kw": "awarded_kw"}),
        blocks=empty_blocks,
        backing=pl.DataFrame(schema=BACKING_KW),
        solver=solver,
        message=message,
    )
