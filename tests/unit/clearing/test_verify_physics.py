"""The independent checker on the base auction (verify_base.py): the physics of the
result, i.e. capacity in outages and on the long DST day, backing that sums to its blocks,
the zone and FCR prequalification."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from clearing.reference_arrays import KINDS
from clearing.verify import verify
from tests.strategies import asset
from tests.unit.clearing.verify_base import (
    BASE_ALLOCATION,
    BASE_AWARDS,
    at,
    base_archive,
    base_fleet,
    bid,
    build_result,
    found,
    product,
    row_of,
    text,
    write,
)


def test_asset_over_capacity_during_an_outage(tmp_path: Path, base_files: dict[str, Any]) -> None:
    # a1 at half power and energy for 5 minutes: the whole 11:00 MTU counts.
    outage = [{"asset_id": "a1", "start": at(11, 5), "end": at(11, 10), "available_fraction": 0.5}]
    archive = base_archive(availability=outage)

    report = verify(archive, write(tmp_path, base_files), optimality=False)

    mtu = "2026-11-29T11:00:00+01:00"
    expected = [
        (
            "capacity",
            f"asset a1 MTU {mtu} discharge",
            "puts 10 MW on it, 5000 kW over its capacity of 5 MW",
        ),
        (
            "capacity",
            f"asset a1 MTU {mtu} charge",
            "puts 10 MW on it, 5000 kW over its capacity of 5 MW",
        ),
        (
            "capacity",
            f"asset a1 MTU {mtu} energy",
            "puts 20 MWh on it, 10000 kWh over its capacity of 10 MWh",
        ),
    ]
    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        (check, subject, f"{source} {detail}")
        for source in ("allocation.csv", "backing.csv")
        for check, subject, detail in expected
    ]


def test_capacity_in_the_repeated_hour_of_the_long_dst_day(tmp_path: Path) -> None:
    # 25 October 2026 has 100 MTUs; 02:00-03:00 local happens twice. The outage hits
    # only the second 02:00 quarter-hour (01:00 UTC, offset +01:00).
    day = date(2026, 10, 25)
    window = {
        "start": datetime(2026, 10, 24, 22, tzinfo=UTC),  # 00:00 local (+02:00)
        "end": datetime(2026, 10, 25, 5, tzinfo=UTC),  # 06:00 local (+01:00)
    }
    outage = {"start": datetime(2026, 10, 25, 1, tzinfo=UTC)}
    outage |= {"end": datetime(2026, 10, 25, 1, 15, tzinfo=UTC), "available_fraction": 0.0}
    archive = base_archive(
        products=[product(**window)], availability=[{"asset_id": "a2"} | outage], day=day
    )
    files = build_result(archive, BASE_AWARDS, BASE_ALLOCATION)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert [f.subject for f in report.findings] == 2 * [
        f"asset a2 MTU 2026-10-25T02:00:00+01:00 {kind}"
        for kind in ("discharge", "charge", "energy")
    ]


def test_backing_not_summing_to_the_block(tmp_path: Path, base_files: dict[str, Any]) -> None:
    row = row_of(base_files["backing.csv"], block_id="va-b1-wholesale", asset_id="a1")
    row["power_mw"] = text(Decimal(row["power_mw"]) + Decimal("0.5"))

    report = verify(base_archive(), write(tmp_path, base_files), optimality=False)

    # a1 was full: the extra 0.5 MW it now physically carries is over its capacity too.
    assert found(report) == sorted(
        [
            ("backing", "block va-b1-wholesale"),
            ("backing", "product p1 wholesale asset a1"),
            *[("capacity", f"asset a1 MTU 2026-11-29T10:00:00+01:00 {kind}") for kind in KINDS],
        ]
    )
    assert "backing sums to 10.5 MW, the block has 10 MW" in report.findings[0].detail
    assert report.findings[2].detail.startswith("backing.csv puts 10.5 MW on it")


def test_asset_outside_the_zone(tmp_path: Path) -> None:
    fleet = [*base_fleet(), asset("a3", 10.0, 20.0, tso_zone="10YDE-RWENET---I")]
    archive = base_archive(fleet=fleet)
    allocation = BASE_ALLOCATION | {("p1", "wholesale", "a2"): "3", ("p1", "wholesale", "a3"): "2"}
    files = build_result(archive, BASE_AWARDS, allocation)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert [(f.check, f.subject) for f in report.findings] == [
        ("allocation", "product p1 wholesale asset a3")
    ]
    assert "outside the auction's zone" in report.findings[0].detail


def test_unprequalified_fcr_asset(tmp_path: Path) -> None:
    # An FCR-only product: 4 MW to b1; a1 is prequalified, a2 is not.
    fcr = product(wholesale_mw=0.0, wholesale_h=0.0, fcr_mw=1.0)
    archive = base_archive(products=[fcr], bids=[bid("b1", "A", 4.0, 20.0)])
    allocation = {("p1", "fcr", "a1"): "2", ("p1", "fcr", "a2"): "2"}
    files = build_result(archive, {"b1": "4"}, allocation)

    report = verify(archive, write(tmp_path, files), optimality=False)

    assert [(f.check, f.subject, f.detail) for f in report.findings] == [
        ("allocation", "product p1 fcr asset a2", "2 MW on an asset not prequalified for fcr")
    ]


def test_fcr_result_on_prequalified_asset_passes(tmp_path: Path) -> None:
    # FCR holds 2 x 0.25 h per MW: 4 MW needs 2 MWh on a1.
    fcr = product(wholesale_mw=0.0, wholesale_h=0.0, fcr_mw=1.0)
    archive = base_archive(products=[fcr], bids=[bid("b1", "A", 4.0, 20.0)])
    files = build_result(archive, {"b1": "4"}, {("p1", "fcr", "a1"): "4"})

    report = verify(archive, write(tmp_path, files), optimality=True)

    assert report.findings == []
    assert row_of(files["blocks.csv"], market="fcr")["energy_mwh"] == "2"
