"""The independent checker on the base auction (verify_base.py): awards against their bids
and products, exclusive groups, links, the supply cap and fixed allocations."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from clearing.verify import verify
from tests.unit.clearing.verify_base import (
    BASE_ALLOCATION,
    base_archive,
    base_bids,
    build_result,
    found,
    product,
    row_of,
    write,
)


def test_award_above_quantity(tmp_path: Path, base_files: dict[str, Any]) -> None:
    # The archive says b1 wants 9 MW; the result gives it 10.
    bids = base_bids()
    bids[0]["quantity_mw"] = 9.0
    report = verify(base_archive(bids=bids), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("awards", "bid b1", "awarded 10 MW, more than the 9 MW bid")
    ]


def test_award_not_a_multiple_of_the_increment(tmp_path: Path) -> None:
    archive = base_archive()
    allocation = BASE_ALLOCATION | {("p1", "wholesale", "a2"): "4.5"}
    files = build_result(archive, {"b1": "10", "b2": "4.5"}, allocation)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("awards", "bid b2", "awarded 4.5 MW, not a whole multiple of the increment 1 MW")
    ]


def test_wrong_payment(tmp_path: Path, base_files: dict[str, Any]) -> None:
    row_of(base_files["awards.csv"], bid_id="b2")["payment_eur"] = "126"
    base_files["summary.json"]["objective_eur"] = Decimal("426")

    report = verify(base_archive(), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("awards", "bid b2", "payment 126 EUR, but 5 MW x 25 EUR/MW = 125 EUR")
    ]


def test_award_below_reserve(tmp_path: Path) -> None:
    archive = base_archive()
    files = build_result(archive, {"b1": "10", "b2": "4", "b3": "1"}, BASE_ALLOCATION)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert found(report) == [("awards", "bid b3")]
    assert "below the reserve price 10" in report.findings[0].detail


def test_two_bids_of_an_exclusive_group(tmp_path: Path, base_files: dict[str, Any]) -> None:
    bids = base_bids()
    bids[0]["exclusive_group"] = "g"
    bids[1] |= {"org_id": "A", "exclusive_group": "g"}
    for r in base_files["awards.csv"][:2]:
        r["org_id"] = "A"
    for r in base_files["virtual_assets.csv"]:
        r["org_id"] = "A"

    report = verify(base_archive(bids=bids), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.subject) for f in report.findings] == [
        ("exclusive_groups", "org A group g")
    ]


def test_child_awarded_without_parent(tmp_path: Path, base_files: dict[str, Any]) -> None:
    # b2 hangs from b3, which is below the reserve and gets nothing.
    bids = base_bids()
    bids[1]["linked_to"] = "b3"
    bids[2]["org_id"] = "B"
    row_of(base_files["awards.csv"], bid_id="b3")["org_id"] = "B"

    report = verify(base_archive(bids=bids), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("links", "bid b2", "awarded 5 MW, but its parent b3 got nothing")
    ]


def test_supply_cap_exceeded(tmp_path: Path, base_files: dict[str, Any]) -> None:
    archive = base_archive(products=[product(max_mw=12.0)])

    report = verify(archive, write(tmp_path, base_files), optimality=False)

    assert found(report) == [("supply", "product p1")]


def test_fixed_allocation_not_served(tmp_path: Path) -> None:
    archive = base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 6.0}])
    files = build_result(archive, {"b1": "9"}, BASE_ALLOCATION)
    # Drop the optimiser's virtual asset, its blocks and their backing.
    files["virtual_assets.csv"] = [r for r in files["virtual_assets.csv"] if r["bid_id"]]
    files["blocks.csv"] = [r for r in files["blocks.csv"] if "fixed" not in r["block_id"]]
    files["backing.csv"] = [r for r in files["backing.csv"] if "fixed" not in r["block_id"]]

    report = verify(archive, write(tmp_path, files), optimality=False)

    # The missing 6 MW also shows as assets backing less than allocation.csv gives them.
    assert found(report) == [
        ("backing", "product p1 wholesale asset a1"),
        ("backing", "product p1 wholesale asset a2"),
        ("fixed_allocations", "org Z product p1"),
    ]
