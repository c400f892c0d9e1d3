"""The TSO stand-in on hand-made books: least cost with indivisible bids, ties, prices."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.ancillary.tso import clear_afrr_capacity, clear_fcr

P = "NEGPOS_00_04"
T0 = datetime(2024, 2, 5, 7, tzinfo=UTC)


def book(*rows: tuple[str, float, int, bool, int], product: str = P) -> pl.DataFrame:
    """(bid_id, EUR/MW, MW, indivisible, minutes after T0 received) rows of one product."""
    return pl.DataFrame(
        [
            {
                "bid_id": b,
                "product": product,
                "price_eur_per_mw": price,
                "offered_mw": mw,
                "indivisible": indivisible,
                "received_at": T0 + timedelta(minutes=minute),
            }
            for b, price, mw, indivisible, minute in rows
        ],
        schema={
            "bid_id": pl.String,
            "product": pl.String,
            "price_eur_per_mw": pl.Float64,
            "offered_mw": pl.Int64,
            "indivisible": pl.Boolean,
            "received_at": pl.Datetime("us", "UTC"),
        },
    )


def accepted(frame: pl.DataFrame) -> dict[str, int]:
    return dict(zip(frame["bid_id"], frame["accepted_mw"], strict=True))


def test_merit_order_cuts_the_marginal_divisible_bid_and_pays_its_price() -> None:
    bids = book(("a", 10.0, 5, False, 0), ("b", 12.0, 5, False, 1), ("c", 15.0, 5, False, 2))
    result = clear_fcr(bids, {P: 8})
    assert accepted(result.bids) == {"a": 5, "b": 3, "c": 0}
    assert result.products.row(0, named=True) == {
        "product": P,
        "demand_mw": 8,
        "offered_mw": 15,
        "allocated_mw": 8,
        "settlement_price_eur_per_mw": 12.0,
    }
    # Every bid of the product carries the product's price, the rejected one too.
    assert result.bids["settlement_price_eur_per_mw"].to_list() == [12.0, 12.0, 12.0]


def test_the_cheapest_bid_is_skipped_when_indivisible_bids_make_a_cheaper_combination() -> None:
    # A merit order takes a (7 MW) and then needs 3 MW: only e fits (30 EUR), 160 EUR in all;
    # b + c cost 102.50 EUR.
    bids = book(
        ("a", 10.0, 7, True, 0),
        ("b", 10.2, 5, True, 1),
        ("c", 10.3, 5, True, 2),
        ("e", 30.0, 3, False, 3),
    )
    result = clear_fcr(bids, {P: 10})
    assert accepted(result.bids) == {"a": 0, "b": 5, "c": 5, "e": 0}
    assert result.products["settlement_price_eur_per_mw"].item() == 10.3


def test_an_indivisible_bid_is_taken_whole_or_not_at_all() -> None:
    bids = book(("big", 5.0, 10, True, 0), ("small", 8.0, 4, False, 1))
    assert accepted(clear_fcr(bids, {P: 3}).bids) == {"big": 0, "small": 3}
    assert accepted(clear_fcr(bids, {P: 12}).bids) == {"big": 10, "small": 2}
    # 6 MW cannot be met exactly (0-4 or 10-14 MW): the least above it is big alone.
    result = clear_fcr(bids, {P: 6})
    assert accepted(result.bids) == {"big": 10, "small": 0}
    assert result.products["allocated_mw"].item() == 10


def test_ties_go_to_the_earlier_receipt_then_to_the_bid_id() -> None:
    bids = book(
        ("late", 20.0, 5, False, 9),
        ("early", 20.0, 5, False, 1),
        ("same-b", 20.0, 5, False, 5),
        ("same-a", 20.0, 5, False, 5),
    )
    result = clear_fcr(bids, {P: 12})
    assert accepted(result.bids) == {"early": 5, "same-a": 5, "same-b": 2, "late": 0}


def test_a_rank_column_orders_the_receipt_when_there_is_no_time() -> None:
    bids = book(("x", 20.0, 5, False, 0), ("y", 20.0, 5, False, 0)).drop("received_at")
    ranked = bids.with_columns(rank=pl.Series([2, 1]))
    assert accepted(clear_fcr(ranked, {P: 5}).bids) == {"x": 0, "y": 5}


def test_demand_above_the_offer_accepts_every_bid() -> None:
    bids = book(("a", 10.0, 5, False, 0), ("b", 50.0, 7, True, 1))
    result = clear_fcr(bids, {P: 100})
    assert accepted(result.bids) == {"a": 5, "b": 7}
    row = result.products.row(0, named=True)
    assert (row["demand_mw"], row["allocated_mw"], row["settlement_price_eur_per_mw"]) == (
        100,
        12,
        50.0,
    )


def test_an_unreachable_demand_takes_the_least_reachable_total_above_it() -> None:
    # Reachable totals: 3, 4, 6, 7, 10. Five is not: six is the least above it.
    bids = book(("a", 10.0, 4, True, 0), ("b", 5.0, 3, True, 1), ("c", 6.0, 3, True, 2))
    result = clear_fcr(bids, {P: 5})
    assert accepted(result.bids) == {"a": 0, "b": 3, "c": 3}
    assert result.products["allocated_mw"].item() == 6


def test_a_product_without_bids_allocates_nothing_and_has_no_price() -> None:
    result = clear_fcr(book(("a", 10.0, 5, False, 0)), {P: 3, "NEGPOS_04_08": 10})
    empty = result.products.filter(pl.col("product") == "NEGPOS_04_08").row(0, named=True)
    assert empty["allocated_mw"] == 0
    assert empty["settlement_price_eur_per_mw"] is None


def test_pay_as_cleared_pays_the_marginal_price_and_pay_as_bid_each_bid_its_own() -> None:
    rows = (("a", 4.0, 5, False, 0), ("b", 6.5, 5, False, 1), ("c", 9.0, 5, False, 2))
    fcr = clear_fcr(book(*rows), {P: 7})
    assert fcr.bids["settlement_price_eur_per_mw"].unique().to_list() == [6.5]
    afrr_bids = book(*rows, product="POS_00_04").rename({"price_eur_per_mw": "price_eur_per_mw_h"})
    afrr = clear_afrr_capacity(afrr_bids, {"POS_00_04": 7})
    assert accepted(afrr.bids) == accepted(fcr.bids) == {"a": 5, "b": 2, "c": 0}
    assert afrr.bids["paid_price_eur_per_mw_h"].to_list() == [4.0, 6.5, None]
    assert afrr.products.row(0, named=True) == {
        "product": "POS_00_04",
        "demand_mw": 7,
        "offered_mw": 15,
        "allocated_mw": 7,
        "marginal_price_eur_per_mw_h": 6.5,
        "cost_eur_per_h": 33.0,  # 5 x 4.00 + 2 x 6.50, against 7 x 6.50 = 45.50 as cleared
    }


def test_afrr_directions_are_separate_products() -> None:
    pos = book(("p", 3.0, 5, False, 0), product="POS_00_04")
    neg = book(("n", 1.0, 5, False, 0), product="NEG_00_04")
    bids = pl.concat([pos, neg]).rename({"price_eur_per_mw": "price_eur_per_mw_h"})
    result = clear_afrr_capacity(bids, {"POS_00_04": 2, "NEG_00_04": 4})
    assert accepted(result.bids) == {"p": 2, "n": 4}
    assert result.products["cost_eur_per_h"].to_list() == [4.0, 6.0]  # NEG, POS


@pytest.mark.parametrize(
    ("change", "demand", "message"),
    [
        (pl.lit("NEGPOS_04_08").alias("product"), {P: 1}, "no demand"),
        (pl.lit(10.005).alias("price_eur_per_mw"), {P: 1}, "cent grid"),
        (pl.lit(None, dtype=pl.Float64).alias("price_eur_per_mw"), {P: 1}, "cent grid"),
        (pl.lit(2.5).alias("offered_mw"), {P: 1}, "whole MW"),
        (pl.lit(0).alias("offered_mw"), {P: 1}, "whole MW"),
        (pl.lit("a").alias("bid_id"), {P: 1}, "unique"),
        (pl.lit(None, dtype=pl.Boolean).alias("indivisible"), {P: 1}, "boolean"),
        (pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("received_at"), {P: 1}, "null"),
        (pl.lit(None, dtype=pl.Int64).alias("offered_mw"), {P: 1}, "null"),
        (pl.col("bid_id"), {P: -1}, "demand_mw"),
    ],
)
def test_bad_input_is_refused(change: pl.Expr, demand: dict[str, int], message: str) -> None:
    bids = book(("a", 10.0, 5, False, 0), ("b", 11.0, 5, False, 1)).with_columns(change)
    with pytest.raises(ValueError, match=message):
        clear_fcr(bids, demand)


# Small books with many ties (prices on a coarse grid, one receipt minute for several bids).
BIDS = st.lists(
    st.tuples(
        st.sampled_from(["A", "B"]),
        st.integers(0, 6).map(lambda k: k * 2.5),
        st.integers(1, 4),
        st.booleans(),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=6,
)


def random_book(rows: list[tuple[str, float, int, bool, int]]) -> pl.DataFrame:
    return pl.concat(
        [
            book((f"{i:02d}", price, mw, indiv, minute), product=product)
            for i, (product, price, mw, indiv, minute) in enumerate(rows)
        ]
    )


@given(BIDS, st.integers(0, 14), st.integers(0, 14), st.randoms(use_true_random=False))
def test_shuffled_rows_give_the_same_result(
    rows: list[tuple[str, float, int, bool, int]], dem_a: int, dem_b: int, rnd: random.Random
) -> None:
    bids = random_book(rows)
    demand = {"A": dem_a, "B": dem_b}
    order = list(range(bids.height))
    rnd.shuffle(order)
    shuffled = bids[order]
    by_id = ["product", "bid_id"]
    first, second = clear_fcr(bids, demand), clear_fcr(shuffled, demand)
    assert first.bids.sort(by_id).equals(second.bids.sort(by_id))
    assert first.products.equals(second.products)
    afrr = bids.rename({"price_eur_per_mw": "price_eur_per_mw_h"})
    one = clear_afrr_capacity(afrr, demand)
    two = clear_afrr_capacity(afrr[order], demand)
    assert one.bids.sort(by_id).equals(two.bids.sort(by_id))
    assert one.products.equals(two.products)


@given(BIDS, st.integers(0, 14))
def test_the_clearing_is_the_least_cost_of_every_selection(
    rows: list[tuple[str, float, int, bool, int]], demand: int
) -> None:
    """Against enumeration: the rule on the total, the least cost at it, then the least
    MW-weighted receipt rank among the selections of that cost."""
    bids = random_book([("A", *row[1:]) for row in rows])
    result = clear_fcr(bids, {"A": demand})
    book_ = bids.sort("received_at", "bid_id").join(result.bids, on="bid_id", maintain_order="left")
    price = np.rint(book_["price_eur_per_mw"].to_numpy() * 100).astype(np.int64)
    offered = book_["offered_mw"].to_numpy()
    choices = [
        (0, o) if indiv else range(o + 1)
        for o, indiv in zip(offered, book_["indivisible"], strict=True)
    ]
    every = np.array(list(itertools.product(*choices)), dtype=np.int64)
    totals = every.sum(axis=1)
    reachable = totals[totals >= demand]
    total = int(reachable.min()) if len(reachable) else int(offered.sum())
    at_total = every[totals == total]
    costs = at_total @ price
    cheapest = at_total[costs == costs.min()]
    ours = book_["accepted_mw"].to_numpy()
    assert int(ours.sum()) == total
    assert int(ours @ price) == int(costs.min())
    rank = np.arange(len(offered))
    assert int(ours @ rank) == int((cheapest @ rank).min())
