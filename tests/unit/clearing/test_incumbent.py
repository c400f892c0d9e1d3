"""The greedy incumbent on a hand-built day: merit order, minimums, groups, links, caps.

One product (1 MW increments), six bids; the answer a person derives by walking the book
from the highest price down:

    e  60 EUR  1 MW, linked to f (a child met before its parent waits for it)
    a  50 EUR  3 MW, all-or-nothing
    c  45 EUR  4 MW, exclusive group g1 of org C
    d  44 EUR  2 MW, exclusive group g1 of org C
    b  40 EUR  2 MW, plain (a price level of its own)
    f  30 EUR  1 MW, plain but a parent (so it has a binary)
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from auction.model import Archive
from clearing.eligibility import prepare_bids
from clearing.incumbent import Greedy
from clearing.model import MilpArrays, build_model
from tests.strategies import asset, bid, make_archive, product


def day() -> Archive:
    return make_archive(
        fleet=[asset("k1", 50.0, 100.0)],
        products=[product("p1")],
        bids=[
            bid("e", "E", 1.0, 60.0, linked_to="f"),
            bid("a", "A", 3.0, 50.0, min_quantity_mw=3.0),
            bid("c", "C", 4.0, 45.0, exclusive_group="g1"),
            bid("d", "C", 2.0, 44.0, exclusive_group="g1"),
            bid("b", "B", 2.0, 40.0),
            bid("f", "E", 1.0, 30.0),
        ],
    )


def model(archive: Archive) -> MilpArrays:
    return build_model(archive, prepare_bids(archive.bids, archive.products))


def awarded_mw(arrays: MilpArrays, values: np.ndarray) -> dict[str, float]:
    """MW per bid of a master point; the plain bid b is the level at 40 EUR."""
    out = {
        row["bid_id"]: float(values[row["x_col"]])
        for row in arrays.complex_bids.iter_rows(named=True)
    }
    level = arrays.levels.filter(pl.col("price_cents") == 4000)["col"][0]
    out["b"] = float(values[level])
    return out


def fill(caps_mw: int, preferred: set[str] | None = None) -> dict[str, float]:
    arrays = model(day())
    flags = None
    if preferred is not None:
        flags = arrays.complex_bids["bid_id"].is_in(list(preferred)).to_numpy()
    values = Greedy.of(arrays).fill(np.array([caps_mw]), flags)
    got = awarded_mw(arrays, values)
    assert values[arrays.products["col"][0]] == sum(got.values())  # T counts increments
    return got


def test_the_book_in_merit_order_within_the_cap() -> None:
    # e waits for its parent; a takes 3 (all or nothing), c 4, d is c's alternative,
    # b gets the last MW; f finds no room, so e (waiting for f) gets nothing either.
    assert fill(8) == {"e": 0, "a": 3, "c": 4, "d": 0, "b": 1, "f": 0}


def test_a_child_follows_its_parent_once_the_parent_is_in() -> None:
    # With 11 MW f is accepted; e then takes what is left of the product for it.
    assert fill(11) == {"e": 1, "a": 3, "c": 4, "d": 0, "b": 2, "f": 1}


def test_an_all_or_nothing_bid_that_does_not_fit_is_passed_over() -> None:
    # 2 MW of room: a needs 3, so it is skipped and the cheaper bids get the room.
    assert fill(2) == {"e": 0, "a": 0, "c": 2, "d": 0, "b": 0, "f": 0}


def test_preferred_bids_are_accepted_first_at_their_minimum() -> None:
    # A master point that accepted d (not c): d is kept, so c is out of the group; then
    # merit order as before.
    assert fill(8, {"d"}) == {"e": 0, "a": 3, "c": 0, "d": 2, "b": 2, "f": 1}


def test_nothing_fits_in_no_room() -> None:
    assert fill(0) == pytest.approx({"e": 0, "a": 0, "c": 0, "d": 0, "b": 0, "f": 0})
