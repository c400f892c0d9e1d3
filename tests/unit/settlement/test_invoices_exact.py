"""Invoice lines judged exactly: random settlements against a Fraction reckoning of the
rules, and real clearings (a golden one to the cent, generated ones that reconcile)."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import polars as pl
from hypothesis import given, note, settings
from hypothesis import strategies as st

from auction.model import Archive
from clearing import clear
from dispatch.slices import LOST
from settlement.invoices import invoice_lines, invoices, reconcile
from tests import strategies
from tests.strategies import MTU, archives, asset
from tests.unit.settlement.invoice_base import (
    START,
    Row,
    at,
    award,
    block,
    gone,
    lines_of,
    va,
)

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
    """The base auction of tests/unit/clearing/verify_base.py: A 10 MW at 30, B 5 MW at 25.

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
