"""The independent checker on the base auction (verify_base.py): a correct result passes
every check, limits met to the kilowatt pass, and broken or missing files are findings.

Each corruption test here and in test_verify_*.py breaks one rule of the result and
expects exactly the finding(s) that rule gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clearing.verify import CHECKS, format_report, verify
from tests.strategies import asset
from tests.unit.clearing.verify_base import (
    BASE_ALLOCATION,
    base_archive,
    bid,
    build_result,
    found,
    product,
    row_of,
    write,
)

# --------------------------------------------------------------------------- verify: passes


def test_correct_result_passes_every_check(tmp_path: Path, base_files: dict[str, Any]) -> None:
    report = verify(base_archive(), write(tmp_path, base_files), optimality=True)

    assert report.findings == []
    assert report.ok
    assert report.checks_run == list(CHECKS)
    assert report.reference_objective_eur == pytest.approx(425.0)
    assert format_report(report) == f"verify: {len(CHECKS)} checks passed"


def test_optimality_auto_runs_on_small_instances(
    tmp_path: Path, base_files: dict[str, Any]
) -> None:
    auto = verify(base_archive(), write(tmp_path, base_files))
    never = verify(base_archive(), tmp_path, optimality=False)

    assert "optimality" in auto.checks_run
    assert "optimality" not in never.checks_run
    assert never.reference_objective_eur is None


def test_fixed_allocation_served_passes(tmp_path: Path) -> None:
    # 6 MW to a designated optimiser first; 9 MW of fleet left for b1 at 30: 270 EUR.
    archive = base_archive(allocations=[{"org_id": "Z", "product_id": "p1", "quantity_mw": 6.0}])
    files = build_result(archive, {"b1": "9"}, BASE_ALLOCATION)

    report = verify(archive, write(tmp_path, files), optimality=True)

    assert report.findings == []
    assert report.reference_objective_eur == pytest.approx(270.0)


def test_a_kilowatt_over_a_limit_is_a_finding_in_allocation_and_backing(tmp_path: Path) -> None:
    # 10 MW over three assets of 10/3 MW and 20/3 MWh cannot be laid out in whole kW:
    # 3.334 + 2 x 3.333 puts a1 0.67 kW over its power and 1.33 kWh over its energy (2 h
    # blocks), which the old rounding slack let pass.
    fleet = [asset(k, 10 / 3, 20 / 3) for k in ("a1", "a2", "a3")]
    archive = base_archive(fleet=fleet, bids=[bid("b1", "A", 10.0, 30.0)])
    allocation = {("p1", "wholesale", "a1"): "3.334", ("p1", "wholesale", "a2"): "3.333"}
    allocation[("p1", "wholesale", "a3")] = "3.333"
    files = build_result(archive, {"b1": "10"}, allocation)

    report = verify(archive, write(tmp_path, files), optimality=False)

    over = [f for f in report.findings if f.check == "capacity"]
    assert {f.subject.split(" MTU ")[0] for f in over} == {"asset a1"}
    assert {f.subject.rsplit(" ", 1)[1] for f in over} == {"discharge", "charge", "energy"}
    assert {f.detail.split(" puts ")[0] for f in over} == {"allocation.csv", "backing.csv"}
    power = [f for f in over if not f.subject.endswith("energy")]
    energy = [f for f in over if f.subject.endswith("energy")]
    assert all(
        "3.334 MW on it, 0.666667 kW over its capacity of 3.333333 MW" in f.detail for f in power
    )
    assert all(
        "6.668 MWh on it, 1.333333 kWh over its capacity of 6.666667 MWh" in f.detail
        for f in energy
    )


def test_a_layout_that_meets_the_limits_exactly_passes(tmp_path: Path) -> None:
    # The same fleet, 9.999 MW of a product on a 1 kW increment: 3 x 3.333 fits exactly.
    fleet = [asset(k, 10 / 3, 20 / 3) for k in ("a1", "a2", "a3")]
    archive = base_archive(
        fleet=fleet,
        products=[product("p1", min_mw=0.001, increment_mw=0.001)],
        bids=[bid("b1", "A", 9.999, 30.0)],
    )
    allocation = {("p1", "wholesale", k): "3.333" for k in ("a1", "a2", "a3")}
    files = build_result(archive, {"b1": "9.999"}, allocation)

    assert verify(archive, write(tmp_path, files), optimality=False).findings == []


# --------------------------------------------------------------------------- verify: files


def test_missing_file_is_a_finding(tmp_path: Path, base_files: dict[str, Any]) -> None:
    out = write(tmp_path, base_files)
    (out / "backing.csv").unlink()

    report = verify(base_archive(), out)

    assert found(report) == [("files", "backing.csv")]
    assert report.checks_run == ["files"]


def test_wrong_columns_are_a_finding(tmp_path: Path, base_files: dict[str, Any]) -> None:
    out = write(tmp_path, base_files)
    (out / "allocation.csv").write_text("product_id,market,asset,mw\np1,wholesale,a1,10\n")

    assert found(verify(base_archive(), out)) == [("files", "allocation.csv")]


def test_missing_award_row_is_a_finding(tmp_path: Path, base_files: dict[str, Any]) -> None:
    base_files["awards.csv"] = [r for r in base_files["awards.csv"] if r["bid_id"] != "b3"]

    report = verify(base_archive(), write(tmp_path, base_files))

    assert [(f.check, f.detail) for f in report.findings] == [("files", "no row for bids b3")]


def test_unparsable_number_is_a_finding(tmp_path: Path, base_files: dict[str, Any]) -> None:
    row_of(base_files["awards.csv"], bid_id="b1")["awarded_mw"] = "ten"

    assert found(verify(base_archive(), write(tmp_path, base_files))) == [
        ("files", "awards.csv row 1")
    ]
