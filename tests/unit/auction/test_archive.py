"""auction.archive: every rule of docs/archive.md, reported exactly; round trips.

Here: a valid archive, files and columns, Parquet and round trips. The rules of the
tables and of auction.json are in test_archive_rules.py, daylight saving days in
test_archive_dst.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from auction.archive import read_archive, write_archive
from auction.book import ALLOCATIONS, AVAILABILITY, BIDS, FLEET, PRODUCTS
from tests.unit.auction.archive_base import (
    FORMATS,
    TABLES,
    Format,
    problems,
    read_rows,
    set_cell,
    set_config,
    write_csv,
)

# --- a valid archive ----------------------------------------------------------------


def test_valid_archive_reads_into_exact_schemas(root: Path) -> None:
    archive = read_archive(root)
    assert archive.fleet.schema == FLEET
    assert archive.availability.schema == AVAILABILITY
    assert archive.products.schema == PRODUCTS
    assert archive.bids.schema == BIDS
    assert archive.allocations.schema == ALLOCATIONS
    assert archive.config.auction_id == "a1"
    assert archive.bids["bid_id"].to_list() == ["b1", "b2", "b3", "b4"]  # input order
    assert archive.fleet["afrr_neg"].to_list() == [True, False]  # TRUE: case-insensitive
    assert archive.bids["submitted_at"].to_list()[:2] == [
        datetime(2026, 11, 27, 10, tzinfo=UTC),
        datetime(2026, 11, 27, 9, 1, tzinfo=UTC),
    ]
    assert archive.products["max_mw"].to_list() == [None, 10.0, None]
    # Null efficiencies take the default 1.0.
    assert archive.products["eta_charge"].to_list() == [0.95, 1.0, 1.0]
    assert archive.bids["linked_to"].to_list() == [None, "b1", None, "b3"]


def test_optional_tables_and_columns_get_defaults(root: Path) -> None:
    (root / "availability.csv").unlink()
    (root / "allocations.csv").unlink()
    for file, drop in [
        ("products.csv", ["max_mw", "eta_charge", "eta_discharge", "daily_cycle_limit"]),
        ("bids.csv", ["min_quantity_mw", "exclusive_group", "linked_to"]),
        ("fleet.csv", ["owner_org", "eta_charge", "eta_discharge"]),
    ]:
        rows = read_rows(root / file)
        keep = [i for i, name in enumerate(rows[0]) if name not in drop]
        write_csv(root / file, [[row[i] for i in keep] for row in rows])
    archive = read_archive(root)
    assert archive.availability.schema == AVAILABILITY
    assert archive.availability.height == 0
    assert archive.allocations.schema == ALLOCATIONS
    assert archive.allocations.height == 0
    assert archive.products["eta_charge"].to_list() == [1.0, 1.0, 1.0]
    assert archive.products["eta_discharge"].to_list() == [1.0, 1.0, 1.0]
    assert archive.products["max_mw"].null_count() == 3
    assert archive.products["daily_cycle_limit"].null_count() == 3
    assert archive.bids["min_quantity_mw"].null_count() == 4
    assert archive.fleet["owner_org"].null_count() == 2
    assert archive.fleet["eta_charge"].to_list() == [0.95, 0.95]
    assert archive.bids.schema == BIDS


def test_bids_may_have_zero_rows(root: Path) -> None:
    write_csv(root / "bids.csv", TABLES["bids.csv"][:1])
    assert read_archive(root).bids.height == 0


def test_blank_exclusive_group_is_null(root: Path) -> None:
    set_cell(root, "bids.csv", 1, "exclusive_group", "   ")
    set_cell(root, "bids.csv", 2, "exclusive_group", "any name, with spaces")
    groups = read_archive(root).bids["exclusive_group"].to_list()
    assert groups[:2] == [None, "any name, with spaces"]


def test_multiples_are_exact_not_float_modulo(root: Path) -> None:
    # 0.3 % 0.1 is 0.0999... in floats; in kW it is 300 % 100 == 0.
    set_cell(root, "products.csv", 1, "increment_mw", "0.1")
    set_cell(root, "products.csv", 1, "min_mw", "0.3")
    set_cell(root, "bids.csv", 1, "quantity_mw", "0.7")
    set_cell(root, "bids.csv", 1, "price_eur_per_mw", "0.29")
    archive = read_archive(root)
    assert archive.bids["quantity_mw"][0] == 0.7


def test_odd_number_spellings_are_accepted(root: Path) -> None:
    set_cell(root, "bids.csv", 1, "quantity_mw", "+2.500")
    set_cell(root, "bids.csv", 1, "price_eur_per_mw", "1.2E1")
    bids = read_archive(root).bids
    assert bids["quantity_mw"][0] == 2.5
    assert bids["price_eur_per_mw"][0] == 12.0


# --- files and columns --------------------------------------------------------------


@pytest.mark.parametrize("file", ["auction.json", "fleet.csv", "products.csv", "bids.csv"])
def test_required_files(root: Path, file: str) -> None:
    (root / file).unlink()
    found = problems(root)
    assert [(p.file, p.row, p.column) for p in found] == [(file, None, None)]
    assert "missing" in found[0].rule


def test_missing_required_column(root: Path) -> None:
    rows = read_rows(root / "bids.csv")
    write_csv(root / "bids.csv", [row[:5] + row[6:] for row in rows])  # no price column
    (problem,) = problems(root)
    assert (problem.file, problem.row, problem.column) == ("bids.csv", None, "price_eur_per_mw")
    assert problem.rule == "required column price_eur_per_mw is missing"


def test_unreadable_csv(root: Path) -> None:
    (root / "fleet.csv").write_text('asset_id,tso_zone\n"bess1,x\n', encoding="utf-8")
    (problem,) = problems(root)
    assert (problem.file, problem.row) == ("fleet.csv", None)


def test_both_formats_of_a_table(root: Path) -> None:
    pl.read_csv(root / "bids.csv").write_parquet(root / "bids.parquet")
    (problem,) = problems(root)
    assert "both bids.csv and bids.parquet exist" in problem.rule


def test_not_a_directory(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path / "nowhere")
    assert "must be a directory" in problem.rule


def test_many_problems_are_all_reported(root: Path) -> None:
    set_config(root, mtu_minutes=7)
    set_cell(root, "fleet.csv", 1, "fcr", "maybe")
    set_cell(root, "bids.csv", 1, "price_eur_per_mw", "1.001")
    set_cell(root, "bids.csv", 3, "quantity_mw", "2.5")
    set_cell(root, "allocations.csv", 2, "product_id", "p7")
    found = problems(root)
    assert [(p.file, p.row, p.column) for p in found] == [
        ("auction.json", None, "mtu_minutes"),
        ("fleet.csv", 1, "fcr"),
        ("bids.csv", 1, "price_eur_per_mw"),
        ("bids.csv", 3, "quantity_mw"),
        ("allocations.csv", 2, "product_id"),
    ]
    assert str(found[2]) == (
        "bids.csv, row 1, column price_eur_per_mw: "
        "price_eur_per_mw has at most two decimals (whole cents) (value '1.001')"
    )


# --- Parquet and round trips --------------------------------------------------------


def test_parquet_floats_are_judged_as_written(root: Path) -> None:
    bids = read_archive(root).bids.with_columns(price_eur_per_mw=pl.lit(12.345))
    (root / "bids.csv").unlink()
    bids.write_parquet(root / "bids.parquet")
    found = problems(root)
    assert [(p.file, p.row, p.column, p.value) for p in found] == [
        ("bids.parquet", row, "price_eur_per_mw", "12.345") for row in (1, 2, 3, 4)
    ]


def test_parquet_naive_timestamps_are_refused(root: Path) -> None:
    bids = read_archive(root).bids.with_columns(pl.col("submitted_at").dt.replace_time_zone(None))
    (root / "bids.csv").unlink()
    bids.write_parquet(root / "bids.parquet")
    found = problems(root)
    assert len(found) == 4
    assert all("submitted_at has no UTC offset" in p.rule for p in found)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(root: Path, tmp_path: Path, fmt: Format) -> None:
    archive = read_archive(root)
    out = tmp_path / "out"
    write_archive(archive, out, fmt=fmt)
    again = read_archive(out)
    assert again.config == archive.config
    for name in ("fleet", "availability", "products", "bids", "allocations"):
        assert_frame_equal(getattr(again, name), getattr(archive, name))


def test_round_trip_of_awkward_numbers(root: Path, tmp_path: Path) -> None:
    set_cell(root, "fleet.csv", 1, "e_max_mwh", "0.1")
    set_cell(root, "fleet.csv", 1, "e_min_mwh", "0.0000001")
    set_cell(root, "fleet.csv", 2, "e_max_mwh", "123456789012.25")
    archive = read_archive(root)
    write_archive(archive, tmp_path / "out")
    text = (tmp_path / "out" / "fleet.csv").read_text()
    assert "0.0000001,0.1," in text
    assert "123456789012.25" in text
    assert not re.search(r"\d[eE][+-]?\d", text)  # no scientific notation
    assert_frame_equal(read_archive(tmp_path / "out").fleet, archive.fleet)


def test_written_csv_text(root: Path, tmp_path: Path) -> None:
    write_archive(read_archive(root), tmp_path / "out")
    out = tmp_path / "out"
    bids = read_rows(out / "bids.csv")
    assert bids[1] == ["b1", "org1", "p1", "2.5", "", "12.34", "2026-11-27T11:00:00+01:00", "", ""]
    fleet = read_rows(out / "fleet.csv")
    assert fleet[0] == list(FLEET.names())  # extra columns are not kept
    assert fleet[1][6:9] == ["true", "false", "true"]
    products = read_rows(out / "products.csv")
    assert products[1][1:3] == ["2026-11-29T00:00:00+01:00", "2026-11-30T00:00:00+01:00"]
    doc = json.loads((out / "auction.json").read_text())
    assert doc["gate_close"] == "2026-11-27T15:00:00+01:00"
    assert doc["delivery_day"] == "2026-11-29"


def test_write_replaces_tables_of_the_other_format(root: Path, tmp_path: Path) -> None:
    archive = read_archive(root)
    write_archive(archive, tmp_path / "out", fmt="parquet")
    write_archive(archive, tmp_path / "out", fmt="csv")
    assert not list((tmp_path / "out").glob("*.parquet"))
    read_archive(tmp_path / "out")
