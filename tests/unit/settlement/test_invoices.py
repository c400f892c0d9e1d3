"""Invoices: pay-as-bid awards, unavailability credits and SoC-imbalance charges.

The hand-built base (invoice_base.py): one virtual asset ``v1`` of org A, bid b1, 10 MW
at 30 EUR/MW over 10:00-14:00 local (16 MTUs), paying 10,000 kW × 3,000 cents =
30,000,000 units (300 EUR), with a 10,000 kW wholesale block and a 5,000 kW FCR block.
One unit is 1e-5 EUR.
"""

from __future__ import annotations

import polars as pl

from auction.store.results import RESULT_SCHEMAS
from dispatch.slices import LOST
from settlement.invoices import LINES, invoice_lines, reconcile
from tests.strategies import MTU
from tests.unit.settlement.invoice_base import (
    END,
    PAID,
    START,
    at,
    award,
    block,
    credits,
    gone,
    lines_of,
    va,
)

# --------------------------------------------------------------------------- awards


def test_award_line_is_the_pay_as_bid_payment() -> None:
    lines = lines_of()
    assert lines.schema == LINES
    row = lines.row(0, named=True)
    assert row | {"start": None, "end": None} == {
        "auction_id": "t1",
        "org_id": "A",
        "kind": "award",
        "virtual_asset_id": "v1",
        "bid_id": "b1",
        "product_id": "p1",
        "start": None,
        "end": None,
        "description": "Award of bid b1: 10 MW of p1 at 30.00 EUR/MW, 10:00-14:00",
        "quantity": "10",
        "unit": "MW",
        "unit_price_eur": "30.00",
        "amount_units": PAID,
    }
    assert (row["start"], row["end"]) == (START, END)
    assert lines.height == 1


def test_rejected_bids_give_no_line() -> None:
    rejected = award("b2", "B", 0, 2_000) | {"status": "rejected", "reason": "outbid"}
    lines = lines_of(awards=[award("b1", "A", 10_000, 3_000), rejected])
    assert lines["bid_id"].to_list() == ["b1"]


# --------------------------------------------------------------------------- credits


def test_credit_is_pro_rata_to_the_lost_fraction_and_time() -> None:
    lines = lines_of(lost=[gone("w1", at(10), at(10, 30), 4_000)])
    # 300 EUR × 4,000/10,000 × 2/16 = 15 EUR
    assert credits(lines) == [
        (
            "Unavailability 10:00-10:30: 4,000 kW of 10,000 kW of the wholesale block lost, "
            "2/16 of the window",
            -1_500_000,
        )
    ]
    credit = lines.filter(pl.col("kind") == "unavailability_credit").row(0, named=True)
    assert (credit["start"], credit["end"], credit["quantity"]) == (at(10), at(10, 30), "10")


def test_blocks_lost_together_are_credited_once() -> None:
    """Max over blocks, not sum: both blocks fully lost all day gives the price back once."""
    lost = [gone("w1", START, END, 10_000), gone("f1", START, END, 5_000)]
    assert [a for _, a in credits(lines_of(lost=lost))] == [-PAID]


def test_the_block_losing_the_larger_fraction_decides() -> None:
    lost = [gone("w1", at(10), at(11), 2_000), gone("f1", at(10, 30), at(11), 2_500)]
    # 20 % for 2 MTUs, then 50 % (FCR beats wholesale's 20 %) for 2 MTUs.
    assert credits(lines_of(lost=lost)) == [
        (
            "Unavailability 10:00-10:30: 2,000 kW of 10,000 kW of the wholesale block lost, "
            "2/16 of the window",
            -750_000,
        ),
        (
            "Unavailability 10:30-11:00: 2,500 kW of 5,000 kW of the FCR block lost, "
            "2/16 of the window",
            -1_875_000,
        ),
    ]


def test_adjacent_stretches_of_equal_loss_make_one_line() -> None:
    lost = [
        gone("w1", at(10), at(10, 15), 1_000),
        gone("w1", at(10, 15), at(11), 1_000),
        gone("w1", at(11), at(11, 15), 3_000),
        gone("w1", at(12), at(12, 15), 3_000),
    ]
    got = lines_of(lost=lost).filter(pl.col("kind") == "unavailability_credit")
    # 10 % for 4 MTUs (two stretches, one line), then 30 % in two separate MTUs.
    assert got.select("start", "end", "amount_units").rows() == [
        (at(10), at(11), -750_000),
        (at(11), at(11, 15), -562_500),
        (at(12), at(12, 15), -562_500),
    ]


def test_a_stretch_off_the_grid_costs_the_mtus_it_touches() -> None:
    got = credits(lines_of(lost=[gone("w1", at(10, 5), at(10, 20), 10_000)]))
    assert got[0][0].startswith("Unavailability 10:00-10:30:")
    assert got[0][1] == -PAID * 2 // 16


def test_stretches_outside_the_window_and_losses_above_power() -> None:
    lost = [gone("w1", at(8), at(10), 10_000), gone("f1", at(13, 45), at(15), 9_999)]
    got = credits(lines_of(lost=lost))
    assert [a for _, a in got] == [-PAID // 16]
    assert "5,000 kW of 5,000 kW of the FCR block" in got[0][0]


def test_credit_rounds_half_even_to_the_unit() -> None:
    """1 kW at 3 cents, window of 2 MTUs, one fully lost: 1.5 units -> 2; at 1 cent 0.5 -> 0."""
    end = START + 2 * MTU
    for cents, expected in ((3, -2), (1, 0), (5, -2)):
        lines = lines_of(
            awards=[award("b1", "A", 1, cents)],
            vas=[va("v1", "A", "b1", end=end)],
            blocks=[block("w1", "v1", "wholesale", 1)],
            lost=[gone("w1", START, START + MTU, 1)],
        )
        assert [a for _, a in credits(lines)] == [expected], cents


def test_rounding_never_credits_more_than_was_paid() -> None:
    """Two lines of exactly 1.5 units round to 2 + 2 = 4 > 3 paid: the excess is taken off."""
    end = START + 2 * MTU
    lines = lines_of(
        awards=[award("b1", "A", 1, 3)],
        vas=[va("v1", "A", "b1", end=end)],
        blocks=[block("w1", "v1", "wholesale", 1), block("f1", "v1", "fcr", 1)],
        lost=[gone("w1", START, START + MTU, 1), gone("f1", START + MTU, end, 1)],
    )
    assert [a for _, a in credits(lines)] == [-1, -2]  # the earlier of two equal lines gives
    assert reconcile(lines, 3) == []


# --------------------------------------------------------------------------- fixed allocations


def test_fixed_allocation_pays_nothing_gets_no_credit_but_is_charged_imbalance() -> None:
    vas = [va("v1", "A", "b1"), va("v2", "OPT", None) | {"awarded_kw": 2_000}]
    lines = invoice_lines(
        pl.DataFrame([award("b1", "A", 10_000, 3_000)], schema=RESULT_SCHEMAS["awards"]),
        pl.DataFrame(vas, schema=RESULT_SCHEMAS["virtual_assets"] | {"awarded_kw": pl.Int64}),
        pl.DataFrame([block("w2", "v2", "wholesale", 2_000)], schema=RESULT_SCHEMAS["blocks"]),
        pl.DataFrame([gone("w2", START, END, 2_000)], schema=LOST),
        pl.DataFrame(
            {"virtual_asset_id": ["v2"], "imbalance_kwh": [-30.0], "tolerance_kwh": [10.0]}
        ),
        10_000,
        "t1",
        org_id="OPT",
    )
    assert lines.select("kind", "quantity", "amount_units").rows() == [
        ("award", "2", 0),
        ("imbalance_charge", "0.02", 200_000),  # 0.02 MWh × 100 EUR/MWh = 2 EUR
    ]
    assert lines["description"][0] == (
        "Fixed allocation: 2 MW of p1, 10:00-14:00, not from a bid: nothing to pay"
    )


# --------------------------------------------------------------------------- imbalances


def test_imbalance_beyond_tolerance_is_charged_both_ways() -> None:
    for kwh, side in ((1234.5678, "above"), (-1234.5678, "below")):
        row = {"virtual_asset_id": "v1", "imbalance_kwh": kwh, "tolerance_kwh": 100.0}
        charge = lines_of(imbalances=[row]).filter(pl.col("kind") == "imbalance_charge")
        # 1.134568 MWh (read to the Wh) × 150 EUR/MWh = 170.1852 EUR
        assert charge.select("quantity", "unit", "unit_price_eur", "amount_units").row(0) == (
            "1.134568",
            "MWh",
            "150.00",
            17_018_520,
        )
        assert charge["description"][0] == (
            f"SoC imbalance: ended 1.234568 MWh {side} its final SoC target; "
            "0.1 MWh tolerated, 1.134568 MWh charged at 150.00 EUR/MWh"
        )


def test_imbalance_within_tolerance_is_not_charged() -> None:
    row = {"virtual_asset_id": "v1", "imbalance_kwh": -99.9996, "tolerance_kwh": 100.0}
    assert lines_of(imbalances=[row])["kind"].to_list() == ["award"]


def test_imbalance_charge_rounds_half_even() -> None:
    """1 Wh at 5 EUR/MWh is 0.5 units -> 0; 3 Wh is 1.5 -> 2; 5 Wh is 2.5 -> 2."""
    for wh, expected in ((1, 0), (3, 2), (5, 2)):
        row = {"virtual_asset_id": "v1", "imbalance_kwh": wh / 1000, "tolerance_kwh": 0.0}
        charge = lines_of(imbalances=[row], price=500).filter(pl.col("kind") == "imbalance_charge")
        assert charge["amount_units"].to_list() == [expected], wh
