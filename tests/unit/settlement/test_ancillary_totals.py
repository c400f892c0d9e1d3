"""Ancillary lines in the totals and the reconciliation, with the auction's own lines, and
accepted bids that do not fit their blocks (the base: ancillary_base.py)."""

from __future__ import annotations

import polars as pl
import pytest

from auction.errors import DomainError
from settlement.invoices import INVOICES, kind_totals, reconcile
from settlement.totals import INVOICES_WITH_ANCILLARY, invoices
from tests.unit.settlement import invoice_base
from tests.unit.settlement.ancillary_base import BLOCKS, Row, at, bid, block, gone, lines_of


def test_the_totals_and_the_reconciliation_know_the_two_kinds() -> None:
    lines = lines_of(
        [
            bid("x1", "2026-11-29_NEGPOS_00_04", 2_000, 1_250),
            bid("c1", "2026-11-29_NEG_04_08", 3_000, -500, "n1"),
            bid("y1", "2026-11-29_NEGPOS_00_04", 1_000, 1_250, "f2", va="v2", org="B"),
        ],
        [*BLOCKS, block("f2", "fcr", 1_000, at(0), at(4), va="v2")],
        [gone("f1", at(1), at(2), 4_000)],
    )
    assert kind_totals(lines) == {
        "award": 0,
        "unavailability_credit": 0,
        "imbalance_charge": 0,
        "ancillary_revenue": -10_000_000 + 6_000_000 - 5_000_000,
        "ancillary_credit": 1_250_000,
    }
    assert invoices(lines).schema == INVOICES
    got = invoices(lines, ancillary=True)
    assert got.schema == INVOICES_WITH_ANCILLARY
    assert got.select(
        "org_id", "ancillary_units", "ancillary_credit_units", "total_units"
    ).rows() == [
        ("A", -4_000_000, 1_250_000, -2_750_000),
        ("B", -5_000_000, 0, -5_000_000),
    ]
    assert reconcile(lines, 0) == []
    # The award check stays on the award lines: ancillary money is not clearing revenue.
    assert reconcile(lines, 1) == [
        "award lines add up to 0.00000 EUR, the clearing revenue is 0.00001 EUR (off by -0.00001)"
    ]


def test_with_the_auction_s_own_lines_the_invoice_reconciles_as_before() -> None:
    """The base of invoice_base.py (v1 pays 300 EUR for 10:00-14:00) with an aFRR+ block
    of 5 MW instead of FCR, and 2 MW of aFRR+ energy accepted for 10:00-10:15 at
    80 EUR/MWh (40 EUR). 4 of its 5 MW lost then: the auction credits 300 × 0.8 × 1/16 =
    15 EUR; 1 of the 2 MW accepted was not delivered: 20 EUR of the 40 go back."""
    blocks = [
        invoice_base.block("w1", "v1", "wholesale", 10_000),
        invoice_base.block("p1", "v1", "afrr_pos", 5_000),
    ]
    lost = [gone("p1", at(10), at(10, 15), 4_000)]
    own = invoice_base.lines_of(blocks=blocks, lost=lost)
    ancillary = lines_of(
        [bid("e1", "2026-11-29_POS_041", 2_000, 8_000, "p1")],
        [block(b["block_id"], b["market"], b["power_kw"], b["start"], b["end"]) for b in blocks],
        lost,
    )
    lines = pl.concat([own, ancillary])
    assert reconcile(lines, invoice_base.PAID) == []
    assert invoices(lines, ancillary=True).drop("auction_id").rows() == [
        (
            "A",
            4,
            invoice_base.PAID,
            -1_500_000,
            0,
            -4_000_000,
            2_000_000,
            invoice_base.PAID - 1_500_000 - 2_000_000,
            "265.00000",
            26_500,
            "265.00",
        )
    ]


def test_the_reconciliation_names_wrong_signs_and_credits_beyond_the_revenue() -> None:
    lines = lines_of(
        [
            bid("x1", "2026-11-29_NEGPOS_00_04", 2_000, 1_250),
            bid("c1", "2026-11-29_NEG_04_08", 3_000, -500, "n1"),
        ],
        lost=[gone("f1", at(1), at(2), 4_000)],
    )
    flipped = lines.with_columns(amount_units=-pl.col("amount_units"))
    assert reconcile(flipped, 0) == [
        "2 ancillary_revenue lines have the wrong sign",
        "1 ancillary_credit lines have the wrong sign",
    ]
    # The 60 EUR the owner pays for c1 does not count as revenue it could give back.
    greedy = lines.with_columns(
        amount_units=pl.when(pl.col("kind") == "ancillary_credit")
        .then(10_000_001)
        .otherwise(pl.col("amount_units"))
    )
    assert reconcile(greedy, 0) == [
        "virtual asset v1 gives back 100.00001 EUR of ancillary revenue, more than the "
        "100.00000 EUR it got"
    ]


@pytest.mark.parametrize(
    ("change", "column", "rule"),
    [
        ({"block_id": "nope"}, "block_id", "must be a block of the bid's virtual asset"),
        ({"virtual_asset_id": "v2"}, "block_id", "must be a block of the bid's virtual asset"),
        ({"block_id": "p1"}, "block_id", "of the market it draws on"),
        ({"market": "afrr_capacity"}, "product_code", "must name a product of the market"),
        ({"market": "wholesale"}, "market", "must be one of fcr, afrr_capacity, afrr_energy"),
        ({"status": "rejected"}, "status", "must be accepted or partially_accepted"),
        ({"accepted_price_cents": 1_500_001}, "accepted_price_cents", "±15,000.00 EUR"),
        ({"accepted_price_cents": None}, "accepted_price_cents", "must be given"),
        ({"accepted_kw": 5_001}, "accepted_kw", "at most the block's power_kw"),
        ({"end": at(4, 15)}, "end", "whole hours (capacity)"),
        ({"start": at(5), "end": at(9)}, "start", "inside the block"),
    ],
)
def test_a_bid_that_does_not_fit_its_block_is_refused(change: Row, column: str, rule: str) -> None:
    with pytest.raises(DomainError) as refused:
        lines_of([bid("x1", "2026-11-29_NEGPOS_00_04", 2_000, 1_250) | change])
    [problem] = refused.value.problems
    assert (problem.file, problem.column, problem.value) == ("ancillary_bids", column, "x1")
    assert rule in problem.rule


def test_bid_ids_must_be_unique() -> None:
    twice = bid("x1", "2026-11-29_NEGPOS_00_04", 2_000, 1_250)
    with pytest.raises(DomainError, match="bid_id must be unique"):
        lines_of([twice, twice | {"product_code": "2026-11-29_NEGPOS_04_08"}])
