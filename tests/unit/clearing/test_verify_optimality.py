"""The independent checker on the base auction (verify_base.py): the money, i.e. the
objective against the payments and against the reference model's optimum, infeasibility,
and the reference model itself on variants derived by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from auction.errors import InfeasibleAllocation
from auction.model import Archive
from clearing.verify import format_report, reference_optimum, verify
from tests.strategies import Rows
from tests.unit.clearing.verify_base import (
    BASE_ALLOCATION,
    at,
    base_archive,
    base_bids,
    bid,
    build_result,
    found,
    product,
    write,
)

# --------------------------------------------------------------------------- verify: money


def test_objective_not_the_sum_of_payments(tmp_path: Path, base_files: dict[str, Any]) -> None:
    base_files["summary.json"]["objective_eur"] = Decimal("430")

    report = verify(base_archive(), write(tmp_path, base_files), optimality=False)

    assert [(f.check, f.detail) for f in report.findings] == [
        ("revenue", "430 EUR, but the payments sum to 425 EUR")
    ]


def test_suboptimal_result(tmp_path: Path) -> None:
    archive = base_archive()
    allocation = BASE_ALLOCATION | {("p1", "wholesale", "a2"): "4"}
    files = build_result(archive, {"b1": "10", "b2": "4"}, allocation)

    report = verify(archive, write(tmp_path, files), optimality=True)

    assert [(f.check, f.detail) for f in report.findings] == [
        ("optimality", "400 EUR, but the reference model finds 425 EUR")
    ]
    assert format_report(report).splitlines() == [
        "optimality: summary.json objective_eur: 400 EUR, but the reference model finds 425 EUR",
        "verify: 1 finding",
    ]


def test_time_limit_result_within_its_gap_passes(tmp_path: Path) -> None:
    archive = base_archive()
    allocation = BASE_ALLOCATION | {("p1", "wholesale", "a2"): "4"}
    files = build_result(archive, {"b1": "10", "b2": "4"}, allocation)
    files["summary.json"] |= {"status": "time_limit", "mip_gap": Decimal("0.1")}

    assert verify(archive, write(tmp_path, files), optimality=True).findings == []


def test_objective_above_the_proven_optimum(tmp_path: Path, base_files: dict[str, Any]) -> None:
    # An outage leaves 10 MW of fleet in one MTU: 425 EUR cannot be earned.
    outage = [{"asset_id": "a1", "start": at(13), "end": at(14), "available_fraction": 0.5}]

    report = verify(base_archive(availability=outage), write(tmp_path, base_files), optimality=True)

    assert (
        "optimality",
        "425 EUR, more than the proven optimum 300 EUR of the reference model",
    ) in [(f.check, f.detail) for f in report.findings]
    assert {f.check for f in report.findings} == {"capacity", "optimality"}


def test_reported_infeasible_without_fixed_allocations(tmp_path: Path) -> None:
    summary = build_result(base_archive(), {}, {})["summary.json"]
    summary |= {"status": "infeasible", "objective_eur": None}

    report = verify(base_archive(), write(tmp_path, {"summary.json": summary}), optimality=False)

    assert [(f.check, f.detail) for f in report.findings] == [
        ("optimality", "infeasible, but without fixed allocations awarding nothing is feasible")
    ]


def test_reported_infeasible_but_feasible(tmp_path: Path) -> None:
    summary = build_result(base_archive(), {}, {})["summary.json"]
    summary |= {"status": "infeasible", "objective_eur": None}

    report = verify(base_archive(), write(tmp_path, {"summary.json": summary}), optimality=True)

    assert found(report) == [("optimality", "summary.json status")]


def test_reported_infeasible_and_infeasible(tmp_path: Path) -> None:
    # 20 MW of fixed allocation on a 15 MW fleet cannot be served.
    archive = base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 20.0}])
    summary = build_result(archive, {}, {})["summary.json"]
    summary |= {"status": "infeasible", "objective_eur": None}

    report = verify(archive, write(tmp_path, {"summary.json": summary}), optimality=True)

    assert report.ok
    assert report.checks_run == ["files", "optimality"]


# --------------------------------------------------------------------------- reference model


def with_bid(**changes: Any) -> Rows:
    bids = base_bids()
    for b in bids:
        b.update(changes.get(b["bid_id"], {}))
    return bids


@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        # b1 10 MW + b2 5 MW = 300 + 125.
        pytest.param(base_archive(), 425.0, id="base"),
        # b2 all-or-nothing 8 MW: 7 x 30 + 8 x 25 = 410 beats b1 alone (300).
        pytest.param(base_archive(bids=with_bid(b2={"min_quantity_mw": 8.0})), 410.0, id="aon"),
        # b4 (15 MW at 29) and b1 exclude each other: b4 alone, 435 > 425.
        pytest.param(
            base_archive(
                bids=[
                    *with_bid(b1={"exclusive_group": "g"}),
                    bid("b4", "A", 15.0, 29.0, exclusive_group="g"),
                ]
            ),
            435.0,
            id="exclusive",
        ),
        # Without the group both A bids fill the fleet: 10 x 30 + 5 x 29 = 445.
        pytest.param(
            base_archive(bids=[*base_bids(), bid("b4", "A", 15.0, 29.0)]), 445.0, id="no-group"
        ),
        # b5 (5 MW at 40) needs its parent b2: 5 x 40 + 1 x 25 + 9 x 30 = 495.
        pytest.param(
            base_archive(bids=[*base_bids(), bid("b5", "B", 5.0, 40.0, linked_to="b2")]),
            495.0,
            id="link",
        ),
        # A link to a bid below the reserve: the child is out too.
        pytest.param(
            base_archive(bids=[*base_bids(), bid("b6", "C", 5.0, 100.0, linked_to="b3")]),
            425.0,
            id="link-below-reserve",
        ),
        # max_mw 12: b1 10 + b2 2 = 350.
        pytest.param(base_archive(products=[product(max_mw=12.0)]), 350.0, id="max-mw"),
        # 6 MW fixed allocation first: 9 MW left for b1 = 270.
        pytest.param(
            base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 6.0}]),
            270.0,
            id="fixed",
        ),
        # a1 at half in one MTU of the window: 10 MW of fleet, all to b1 = 300.
        pytest.param(
            base_archive(
                availability=[
                    {
                        "asset_id": "a1",
                        "start": at(11),
                        "end": at(11, 15),
                        "available_fraction": 0.5,
                    }
                ]
            ),
            300.0,
            id="outage",
        ),
        # An outage outside the window changes nothing.
        pytest.param(
            base_archive(
                availability=[
                    {"asset_id": "a1", "start": at(15), "end": at(16), "available_fraction": 0.0}
                ]
            ),
            425.0,
            id="outage-elsewhere",
        ),
    ],
)
def test_reference_optimum_matches_hand_derivation(archive: Archive, expected: float) -> None:
    assert reference_optimum(archive, time_limit_s=10) == pytest.approx(expected, abs=1e-9)


def test_reference_optimum_of_an_energy_bound_product() -> None:
    # 4 h of energy per MW: a1 holds 20 / 4 = 5 MW, a2 10 / 4 = 2.5, on a 0.5 MW increment.
    archive = base_archive(products=[product(wholesale_h=4.0, increment_mw=0.5)])

    # 7.5 MW of fleet: b1 7.5 x 30 = 225.
    assert reference_optimum(archive) == pytest.approx(225.0)


def test_reference_optimum_raises_when_allocations_cannot_be_served() -> None:
    archive = base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 20.0}])

    with pytest.raises(InfeasibleAllocation, match="cannot serve the fixed allocations"):
        reference_optimum(archive)
