"""Invoices: pay-as-bid awards, unavailability credits and SoC-imbalance charges.

The hand-built base: one virtual asset ``v1`` of org A, bid b1, 10 MW at 30 EUR/MW over
10:00-14:00 local (16 MTUs), paying 10,000 kW × 3,000 cents = 30,000,000 units (300 EUR),
with a 10,000 kW wholesale block and a 5,000 kW FCR block. One unit is 1e-5 EUR.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from auction.errors import DomainError
from auction.model import Archive
from auction.store.results import RESULT_SCHEMAS
from clearing import clear
from dispatch.slices import LOST
from settlement.invoices import INVOICES, LINES, invoice_lines, invoices, reconcile
from tests import strategies
from tests.strategies import MTU, NORMAL_DAY, archives, asset, local

START = local(NORMAL_DAY, 10)
END = local(NORMAL_DAY, 14)
PAID = 30_000_000
Row = dict[str, Any]


def at(hour: int, minute: int = 0) -> datetime:
    return local(NORMAL_DAY, hour, minute)


def award(bid_id: str, org: str, kw: int, cents: int, product: str = "p1") -> Row:
    return {
        "bid_id": bid_id,
        "org_id": org,
        "product_id": product,
        "awarded_kw": kw,
        "price_cents": cents,
        "payment_units": kw * cents,
        "status": "accepted",
        "reason": None,
    }


def va(
    va_id: str, org: str, bid_id: str | None, start: datetime = START, end: datetime = END
) -> Row:
    return {
        "virtual_asset_id": va_id,
        "org_id": org,
        "bid_id": bid_id,
        "product_id": "p1",
        "start": start,
        "end": end,
    }


def block(block_id: str, va_id: str, market: str, kw: int, start: datetime = START) -> Row:
    return {
        "block_id": block_id,
        "virtual_asset_id": va_id,
        "market": market,
        "power_kw": kw,
        "energy_kwh": kw,
        "start": start,
        "end": END,
    }


def gone(block_id: str, start: datetime, end: datetime, kw: int) -> Row:
    return {"block_id": block_id, "start": start, "end": end, "lost_kw": kw}


def lines_of(
    awards: list[Row] | None = None,
    vas: list[Row] | None = None,
    blocks: list[Row] | None = None,
    lost: list[Row] | None = None,
    imbalances: list[Row] | None = None,
    price: int = 15_000,
    **options: Any,
) -> pl.DataFrame:
    """Invoice lines of the base (one VA, two blocks) with whatever is given instead."""
    return invoice_lines(
        pl.DataFrame(
            [award("b1", "A", 10_000, 3_000)] if awards is None else awards,
            schema=RESULT_SCHEMAS["awards"],
        ),
        pl.DataFrame(
            [va("v1", "A", "b1")] if vas is None else vas, schema=RESULT_SCHEMAS["virtual_assets"]
        ),
        pl.DataFrame(
            [block("w1", "v1", "wholesale", 10_000), block("f1", "v1", "fcr", 5_000)]
            if blocks is None
            else blocks,
            schema=RESULT_SCHEMAS["blocks"],
        ),
        pl.DataFrame(lost or [], schema=LOST),
        pl.DataFrame(
            imbalances or [],
            schema={
                "virtual_asset_id": pl.String,
                "imbalance_kwh": pl.Float64,
                "tolerance_kwh": pl.Float64,
            },
        ),
        price,
        "t1",
        **options,
    )


def credits(lines: pl.DataFrame) -> list[tuple[str, int]]:
    rows = lines.filter(pl.col("kind") == "unavailability_credit")
    return list(rows.select("description", "amount_units").iter_rows())


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


# --------------------------------------------------------------------------- invoices


def two_orgs() -> pl.DataFrame:
    return lines_of(
        awards=[award("b1", "A", 10_000, 3_000), award("b2", "B", 1, 1_501)],
        vas=[va("v1", "A", "b1"), va("v2", "B", "b2")],
        lost=[gone("w1", at(10), at(10, 30), 4_000)],
        imbalances=[{"virtual_asset_id": "v1", "imbalance_kwh": 200.0, "tolerance_kwh": 0.0}],
    )


def test_invoice_totals_are_exact_and_rounded_once_half_even() -> None:
    lines = two_orgs()
    got = invoices(lines)
    assert got.schema == INVOICES
    assert got.drop("auction_id").rows() == [
        # 300 EUR − 15 EUR + 0.2 MWh × 150 EUR/MWh
        ("A", 3, PAID, -1_500_000, 3_000_000, 31_500_000, "315.00000", 31_500, "315.00"),
        # 1 kW at 15.01 EUR/MW = 0.01501 EUR: 1.501 cents -> 2 cents
        ("B", 1, 1_501, 0, 0, 1_501, "0.01501", 2, "0.02"),
    ]
    revenue = PAID + 1_501
    assert got["total_units"].sum() == revenue - 1_500_000 + 3_000_000
    assert reconcile(lines, revenue) == []


def test_amount_due_is_half_even_on_the_exact_total() -> None:
    lines = pl.DataFrame(
        [
            {"auction_id": "t1", "org_id": org, "kind": "award", "amount_units": units}
            for org, units in (("A", 1_500), ("B", 2_500), ("C", 2_501), ("D", -1_500))
        ]
    )
    assert invoices(lines).select("org_id", "amount_due_cents", "amount_due_eur").rows() == [
        ("A", 2, "0.02"),
        ("B", 2, "0.02"),
        ("C", 3, "0.03"),
        ("D", -2, "-0.02"),
    ]


def test_reconcile_names_what_does_not_add_up() -> None:
    lines = two_orgs()
    assert reconcile(lines, PAID) == [
        "award lines add up to 300.01501 EUR, the clearing revenue is 300.00000 EUR "
        "(off by 0.01501)"
    ]
    wrong = lines.with_columns(
        amount_units=pl.when(pl.col("kind") == "unavailability_credit")
        .then(-PAID - 1)
        .otherwise(pl.col("amount_units"))
    )
    assert reconcile(wrong, PAID + 1_501) == [
        "virtual asset v1 is credited 300.00001 EUR, more than its award of 300.00000 EUR"
    ]
    flipped = lines.with_columns(amount_units=-pl.col("amount_units"))
    assert reconcile(flipped, -(PAID + 1_501))[:3] == [
        "2 award lines have the wrong sign",
        "1 unavailability_credit lines have the wrong sign",
        "1 imbalance_charge lines have the wrong sign",
    ]


def test_an_org_sees_only_its_own_lines() -> None:
    everyone = two_orgs()
    for org in ("A", "B"):
        own = lines_of(
            awards=[award("b1", "A", 10_000, 3_000), award("b2", "B", 1, 1_501)],
            vas=[va("v1", "A", "b1"), va("v2", "B", "b2")],
            lost=[gone("w1", at(10), at(10, 30), 4_000)],
            imbalances=[{"virtual_asset_id": "v1", "imbalance_kwh": 200.0, "tolerance_kwh": 0.0}],
            org_id=org,
        )
        assert set(own["org_id"]) == {org}
        assert own.equals(everyone.filter(pl.col("org_id") == org))
    assert set(everyone.filter(pl.col("org_id") == "B")["virtual_asset_id"]) == {"v2"}


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        (
            {"vas": [va("v1", "B", "b1")]},
            "a positive award needs one virtual asset of the same org",
        ),
        ({"vas": []}, "a positive award needs one virtual asset of the same org"),
        ({"vas": [va("v1", "A", "b1"), va("v9", "A", "b9")]}, "its bid has no positive award"),
        ({"vas": [va("v1", "A", "b1", end=at(14, 5))]}, "whole number of MTUs"),
        ({"lost": [gone("nope", START, END, 1)]}, "block_id must be a block"),
        (
            {
                "imbalances": [
                    {"virtual_asset_id": "v9", "imbalance_kwh": 1.0, "tolerance_kwh": 0.0}
                ]
            },
            "must be a virtual asset",
        ),
        (
            {
                "imbalances": [
                    {"virtual_asset_id": "v1", "imbalance_kwh": 1.0, "tolerance_kwh": -1.0}
                ]
            },
            "tolerance_kwh",
        ),
        ({"price": -1}, "≥ 0"),
    ],
)
def test_frames_that_do_not_belong_together_are_refused(changes: dict[str, Any], rule: str) -> None:
    with pytest.raises(DomainError, match=rule):
        lines_of(**changes)


# --------------------------------------------------------------------------- properties


@st.composite
def settlements(draw: st.DrawFn) -> dict[str, Any]:
    """1-5 VAs (some fixed allocations, some rejected bids), their blocks, stretches lost
    anywhere near the window (off the grid too, beyond the block's power too)."""
    awards, vas, blocks, lost, imbalances = [], [], [], [], []
    for i in range(draw(st.integers(1, 5))):
        org = draw(st.sampled_from(["A", "B", "C"]))
        first, n = draw(st.integers(0, 20)), draw(st.integers(1, 16))
        start, end = START + first * MTU, START + (first + n) * MTU
        bid_id = None if draw(st.integers(0, 4)) == 0 else f"b{i}"
        if bid_id is not None:
            kw, cents = draw(st.integers(1, 50_000)), draw(st.integers(0, 60_000))
            awards.append(award(bid_id, org, kw, cents))
        else:
            awards.append(award(f"r{i}", org, 0, draw(st.integers(0, 6_000))))
        vas.append(va(f"v{i}", org, bid_id, start, end))
        markets = draw(
            st.lists(
                st.sampled_from(["wholesale", "fcr", "afrr_pos", "afrr_neg"]),
                min_size=1,
                max_size=4,
                unique=True,
            )
        )
        for m in markets:
            power = draw(st.integers(1, 60_000))
            blocks.append(block(f"v{i}/{m}", f"v{i}", m, power, start) | {"end": end})
            for _ in range(draw(st.integers(0, 3))):
                lo = start + timedelta(minutes=draw(st.integers(-30, 15 * n + 15)))
                hi = lo + timedelta(minutes=draw(st.integers(1, 120)))
                lost.append(gone(f"v{i}/{m}", lo, hi, draw(st.integers(1, power + 100))))
        if draw(st.booleans()):
            imbalances.append(
                {
                    "virtual_asset_id": f"v{i}",
                    "imbalance_kwh": draw(st.floats(-5_000, 5_000, allow_nan=False)),
                    "tolerance_kwh": draw(st.sampled_from([0.0, 1.0, 50.0])),
                }
            )
    return {
        "awards": awards,
        "vas": vas,
        "blocks": blocks,
        "lost": lost,
        "imbalances": imbalances,
        "price": draw(st.integers(0, 100_000)),
    }


def exact_credit(case: dict[str, Any], va_row: Row, paid: int) -> tuple[Fraction, set[int]]:
    """The exact credit of one VA by the rules, MTU by MTU with Fractions, and its lost MTUs."""
    start, end = va_row["start"], va_row["end"]
    n = (end - start) // MTU
    power = {
        b["block_id"]: b["power_kw"]
        for b in case["blocks"]
        if b["virtual_asset_id"] == va_row["virtual_asset_id"]
    }
    total, lost_mtus = Fraction(0), set()
    for k in range(n):
        lo, hi = start + k * MTU, start + (k + 1) * MTU
        worst = max(
            (
                Fraction(min(s["lost_kw"], power[s["block_id"]]), power[s["block_id"]])
                for s in case["lost"]
                if s["block_id"] in power and s["start"] < hi and lo < s["end"]
            ),
            default=Fraction(0),
        )
        if worst:
            lost_mtus.add(k)
        total += paid * worst / n
    return total, lost_mtus


@given(settlements())
def test_lines_are_exact_on_random_settlements(case: dict[str, Any]) -> None:
    note(repr(case))
    lines = lines_of(**case)
    revenue = sum(a["payment_units"] for a in case["awards"])
    assert lines.schema["amount_units"] == pl.Int64  # the 1e-5 EUR grid, by type
    award_lines = lines.filter(pl.col("kind") == "award")
    assert award_lines["amount_units"].sum() == revenue
    assert reconcile(lines, revenue) == []
    paid = {
        r["virtual_asset_id"]: a
        for r in case["vas"]
        for a in case["awards"]
        if a["bid_id"] == r["bid_id"]
    }
    for va_row in case["vas"]:
        mine = lines.filter(pl.col("virtual_asset_id") == va_row["virtual_asset_id"])
        assert set(mine["org_id"]) == {va_row["org_id"]}
        credit = mine.filter(pl.col("kind") == "unavailability_credit")
        units = (
            paid[va_row["virtual_asset_id"]]["payment_units"]
            if va_row["virtual_asset_id"] in paid
            else 0
        )
        assert (credit["amount_units"] <= 0).all()
        assert (credit["amount_units"] >= -units).all()  # each line at most its award line
        assert -credit["amount_units"].sum() <= units  # and all of them together
        if units == 0:
            assert credit.height == 0
            continue
        exact, lost_mtus = exact_credit(case, va_row, units)
        assert abs(-credit["amount_units"].sum() - exact) <= Fraction(credit.height, 2)
        covered = {
            (t - va_row["start"]) // MTU + j
            for t, e in credit.select("start", "end").iter_rows()
            for j in range((e - t) // MTU)
        }
        assert covered == lost_mtus
        assert credit.height == credit.select("start", "end").n_unique()
    for inv in invoices(lines).iter_rows(named=True):
        own = lines.filter(pl.col("org_id") == inv["org_id"])["amount_units"]
        assert inv["total_units"] == own.sum()
        assert Decimal(inv["total_eur"]) == Decimal(inv["total_units"]) / 100_000
        due = (Decimal(inv["total_units"]) / 1000).quantize(Decimal(1), ROUND_HALF_EVEN)
        assert inv["amount_due_cents"] == due
        assert abs(inv["amount_due_cents"] * 1000 - inv["total_units"]) <= 500


# --------------------------------------------------------------------------- real clearings


def settle(
    archive: Archive, lost: pl.DataFrame, imbalances: pl.DataFrame
) -> tuple[pl.DataFrame, int]:
    result = clear(archive)
    lines = invoice_lines(
        result.awards,
        result.virtual_assets,
        result.blocks,
        lost,
        imbalances,
        20_000,
        result.auction_id,
        mtu_minutes=archive.config.mtu_minutes,
        time_zone=archive.config.time_zone,
    )
    return lines, int(result.awards["payment_units"].sum())


def test_golden_clearing_settles_to_the_cent() -> None:
    """The base auction of tests/unit/clearing/test_verify.py: A 10 MW at 30, B 5 MW at 25.

    A's wholesale block loses 5,000 of its 10,000 kW for 10:00-11:00 (4 of 16 MTUs):
    300 EUR × 1/2 × 4/16 = 37.50 EUR back; B ends 25 kWh short against a 5 kWh tolerance:
    0.02 MWh × 200 EUR/MWh = 4 EUR.
    """
    archive = strategies.make_archive(
        fleet=[asset("a1", 10.0, 20.0, fcr=True), asset("a2", 5.0, 10.0)],
        products=[strategies.product("p1", reserve_price_eur_per_mw=10.0)],
        bids=[
            strategies.bid("b1", "A", 10.0, 30.0),
            strategies.bid("b2", "B", 8.0, 25.0),
            strategies.bid("b3", "C", 4.0, 5.0),
        ],
        auction_id="t1",
    )
    result = clear(archive)
    vas = result.virtual_assets
    a_block = result.blocks.join(
        vas.filter(pl.col("org_id") == "A"), on="virtual_asset_id", how="semi"
    )
    b_va = vas.filter(pl.col("org_id") == "B")["virtual_asset_id"][0]
    lost = pl.DataFrame([gone(a_block["block_id"][0], at(10), at(11), 5_000)], schema=LOST)
    imbalances = pl.DataFrame(
        {"virtual_asset_id": [b_va], "imbalance_kwh": [-25.0], "tolerance_kwh": [5.0]}
    )
    lines, revenue = settle(archive, lost, imbalances)
    assert revenue == 42_500_000  # 425 EUR
    assert reconcile(lines, revenue) == []
    got = invoices(lines).select(
        "org_id", "award_units", "credit_units", "imbalance_units", "amount_due_eur"
    )
    assert got.rows() == [
        ("A", 30_000_000, -3_750_000, 0, "262.50"),
        ("B", 12_500_000, 0, 400_000, "129.00"),
    ]


@settings(max_examples=max(10, settings().max_examples // 4))
@given(archives(), st.data())
def test_generated_clearings_reconcile_and_keep_orgs_apart(
    archive: Archive, data: st.DataObject
) -> None:
    result = clear(archive)
    blocks = result.blocks
    lost_rows = []
    if blocks.height:
        for _ in range(data.draw(st.integers(0, 4))):
            b = blocks.row(data.draw(st.integers(0, blocks.height - 1)), named=True)
            n = (b["end"] - b["start"]) // MTU
            first = data.draw(st.integers(0, n - 1))
            last = data.draw(st.integers(first + 1, n))
            kw = data.draw(st.integers(1, max(1, b["power_kw"])))
            lost_rows.append(
                gone(b["block_id"], b["start"] + first * MTU, b["start"] + last * MTU, kw)
            )
    va_ids = result.virtual_assets["virtual_asset_id"].to_list()
    imbalances = pl.DataFrame(
        {
            "virtual_asset_id": va_ids,
            "imbalance_kwh": [data.draw(st.floats(-1_000, 1_000, allow_nan=False)) for _ in va_ids],
            "tolerance_kwh": [1.0] * len(va_ids),
        },
        schema={
            "virtual_asset_id": pl.String,
            "imbalance_kwh": pl.Float64,
            "tolerance_kwh": pl.Float64,
        },
    )
    lines, revenue = settle(archive, pl.DataFrame(lost_rows, schema=LOST), imbalances)
    assert reconcile(lines, revenue) == []
    owner = dict(result.virtual_assets.select("virtual_asset_id", "org_id").iter_rows())
    for org_id, va_id in lines.select("org_id", "virtual_asset_id").iter_rows():
        assert owner[va_id] == org_id
    assert invoices(lines)["total_units"].sum() == lines["amount_units"].sum()
