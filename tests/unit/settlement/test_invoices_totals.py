"""Invoices of the invoice lines: exact totals rounded once, reconciliation, one org's own
lines, and frames that do not belong together (the base: invoice_base.py)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from auction.errors import DomainError
from settlement.invoices import INVOICES, invoices, reconcile
from tests.unit.settlement.invoice_base import (
    END,
    PAID,
    START,
    at,
    award,
    gone,
    lines_of,
    va,
)


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
