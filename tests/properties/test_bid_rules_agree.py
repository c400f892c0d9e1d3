"""Bids arriving over REST are judged by the same rules as bids in an archive.

``auction.bidding`` re-states the archive's bid rules in plain Python for speed; for any
bids, both must flag the same cells with the same words.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from auction.bidding import BidIn, ProductLimits, check_bids_in
from auction.cells import sheet_from_rows
from auction.errors import DomainError
from auction.rules import check_bids

# min_mw and increment_mw in kW of the products bids may name.
PRODUCTS = {
    "p1": ProductLimits(1000, 1000),
    "p2": ProductLimits(1500, 500),
    "p3": ProductLimits(1, 1),
}

decimals = st.decimals(min_value=Decimal(-3), max_value=Decimal(30), places=4, allow_nan=False)
exact_mw = st.integers(-2, 12_000).map(lambda kw: Decimal(kw).scaleb(-3))
quantity = st.one_of(exact_mw, decimals)
price = st.one_of(st.integers(-500, 100_000).map(lambda c: Decimal(c).scaleb(-2)), decimals)
bid = st.fixed_dictionaries(
    {
        "product_id": st.sampled_from(["p1", "p2", "p3", "nope"]),
        "quantity_mw": quantity,
        "min_quantity_mw": st.none() | quantity,
        "price_eur_per_mw": price,
    }
)


def _products_frame() -> pl.DataFrame:
    kw = pl.DataFrame(
        {
            "min": [p.min_kw for p in PRODUCTS.values()],
            "increment": [p.increment_kw for p in PRODUCTS.values()],
            "max": pl.Series([None] * len(PRODUCTS), dtype=pl.Int64),
        }
    ).to_struct("_kw")
    return pl.DataFrame({"product_id": list(PRODUCTS)}).with_columns(kw)


@given(st.lists(bid, min_size=1, max_size=6))
def test_rest_and_archive_checks_flag_the_same_cells(rows: list[dict[str, object]]) -> None:
    bids = [BidIn(bid_id=f"b{i}", **row) for i, row in enumerate(rows)]  # type: ignore[arg-type]
    try:
        check_bids_in(bids, PRODUCTS, {})
        rest: set[tuple[int | None, str | None, str]] = set()
    except DomainError as exc:
        rest = {(p.row, p.column, p.rule) for p in exc.problems}

    table = [
        {**row, "bid_id": f"b{i}", "org_id": "o", "submitted_at": "2026-11-27T10:00:00Z"}
        for i, row in enumerate(rows)
    ]
    columns = [*table[0], "exclusive_group", "linked_to"]
    sheet = sheet_from_rows("bids.csv", table, columns, id_column="bid_id")
    check_bids(sheet, _products_frame())
    archive = {(p.row, p.column, p.rule.removesuffix(" (products.csv)")) for p in sheet.problems}
    assert rest == archive
