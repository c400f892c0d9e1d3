"""auction.archive: every rule of docs/archive.md, reported exactly; round trips."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from auction.archive import read_archive, write_archive
from auction.book import ALLOCATIONS, AVAILABILITY, BIDS, FLEET, PRODUCTS
from auction.errors import ArchiveError, Problem

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
CONFIG = {"auction_id": "a1", "delivery_day": "2026-11-29"}
TEXT = {
    "fleet.csv": """
asset_id,tso_zone,p_charge_mw,p_discharge_mw,e_min_mwh,e_max_mwh,fcr,afrr_pos,afrr_neg,owner_org,comment
bess1,10YDE-EON------1,10,10,1,20,true,false,TRUE,,x
bess2,10YDE-EON------1,5.5,5,0,11,false,true,false,org9,
""",
    # An outage may start mid-MTU.
    "availability.csv": """
asset_id,start,end,available_fraction
bess1,2026-11-29T10:07:00+01:00,2026-11-29T12:00:00+01:00,0
""",
    "products.csv": """
product_id,start,end,wholesale_mw,wholesale_h,fcr_mw,afrr_pos_mw,afrr_neg_mw,min_mw,increment_mw,\
reserve_price_eur_per_mw,max_mw,eta_charge,eta_discharge,daily_cycle_limit
p1,2026-11-29T00:00:00+01:00,2026-11-30T00:00:00+01:00,1,2,0.5,0,0,1,0.5,10.5,,0.95,0.95,2
p2,2026-11-29T08:00:00+01:00,2026-11-29T12:00:00+01:00,0,0,0,1,0,1,1,0,10,,,
p3,2026-11-29T16:00:00+01:00,2026-11-29T20:00:00+01:00,0,0,0,0,1,2,1,3.25,,,,
""",
    "bids.csv": """
bid_id,org_id,product_id,quantity_mw,min_quantity_mw,price_eur_per_mw,submitted_at,\
exclusive_group,linked_to
b1,org1,p1,2.5,,12.34,2026-11-27T10:00:00Z,,
b2,org1,p1,1,1,20,2026-11-27T10:01:00+01:00,g1,b1
b3,org2,p2,3,2,5.5,2026-11-27T10:02:00+01:00,g1,
b4,org2,p2,1,,0,2026-11-27T10:03:00+01:00,,b3
""",
    "allocations.csv": """
org_id,product_id,quantity_mw
org3,p2,4
org4,p2,3
""",
}
# Each table as rows of cells, the header first.
TABLES = {file: [line.split(",") for line in text.split()] for file, text in TEXT.items()}


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def set_cell(root: Path, file: str, row: int, column: str, value: str) -> None:
    """Set one cell (``row`` counts data rows from 1)."""
    rows = read_rows(root / file)
    rows[row][rows[0].index(column)] = value
    write_csv(root / file, rows)


def append_row(root: Path, file: str, copy_of: int, **changes: str) -> None:
    rows = read_rows(root / file)
    new = list(rows[copy_of])
    for column, value in changes.items():
        new[rows[0].index(column)] = value
    write_csv(root / file, [*rows, new])


def set_config(root: Path, **changes: object) -> None:
    doc = json.loads((root / "auction.json").read_text())
    doc.update(changes)
    (root / "auction.json").write_text(json.dumps(doc))


def problems(root: Path) -> list[Problem]:
    with pytest.raises(ArchiveError) as caught:
        read_archive(root)
    return caught.value.problems


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A small valid archive."""
    (tmp_path / "auction.json").write_text(json.dumps(CONFIG))
    for file, rows in TABLES.items():
        write_csv(tmp_path / file, rows)
    return tmp_path


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


# --- one broken rule, one problem ---------------------------------------------------

# file, row, column, new value, phrase of the rule (the problem names the same column).
CELL_RULES = [
    ("fleet.csv", 2, "asset_id", "", "asset_id is required"),
    ("fleet.csv", 1, "tso_zone", "", "tso_zone is required"),
    ("fleet.csv", 1, "p_charge_mw", "-1", "p_charge_mw must be >= 0"),
    ("fleet.csv", 2, "p_discharge_mw", "abc", "p_discharge_mw must be a number"),
    ("fleet.csv", 2, "p_discharge_mw", "inf", "must be a finite number"),
    ("fleet.csv", 2, "e_max_mwh", "", "e_max_mwh is required"),
    ("fleet.csv", 1, "e_min_mwh", "-0.5", "e_min_mwh must be >= 0"),
    ("fleet.csv", 1, "e_min_mwh", "25", "e_min_mwh must not exceed e_max_mwh"),
    ("fleet.csv", 1, "fcr", "yes", "fcr must be true or false"),
    ("fleet.csv", 2, "afrr_pos", "1", "afrr_pos must be true or false"),
    ("fleet.csv", 2, "afrr_neg", "", "afrr_neg is required"),
    ("availability.csv", 1, "asset_id", "ghost", "'ghost' is not an asset of the fleet"),
    ("availability.csv", 1, "start", "2026-11-29T10:07:00", "start has no UTC offset"),
    ("availability.csv", 1, "end", "tomorrow", "end must be an ISO 8601 timestamp"),
    ("availability.csv", 1, "available_fraction", "1.5", "must lie in [0, 1]"),
    ("availability.csv", 1, "available_fraction", "-0.1", "must lie in [0, 1]"),
    ("products.csv", 3, "product_id", "", "product_id is required"),
    ("products.csv", 1, "start", "2026-11-29T00:07:00+01:00", "start must be an MTU edge"),
    ("products.csv", 2, "end", "2026-11-29T12:10:00+01:00", "end must be an MTU edge"),
    ("products.csv", 1, "start", "2026-11-28T23:00:00+01:00", "start must lie inside the"),
    ("products.csv", 1, "end", "2026-11-30T00:15:00+01:00", "end must lie inside the"),
    ("products.csv", 1, "start", "2026-11-29T00:00:00", "start has no UTC offset"),
    ("products.csv", 1, "wholesale_mw", "-1", "wholesale_mw must be >= 0"),
    ("products.csv", 1, "fcr_mw", "0.0005", "fcr_mw must lie on the 1 kW grid"),
    ("products.csv", 2, "afrr_neg_mw", "-2", "afrr_neg_mw must be >= 0"),
    ("products.csv", 1, "wholesale_h", "0", "wholesale_h must be > 0 when wholesale_mw > 0"),
    ("products.csv", 1, "wholesale_h", "-1", "wholesale_h must be >= 0"),
    ("products.csv", 1, "increment_mw", "0", "increment_mw must be > 0"),
    ("products.csv", 1, "increment_mw", "-0.5", "increment_mw must be > 0"),
    (
        "products.csv",
        1,
        "min_mw",
        "0.75",
        "min_mw must be a whole multiple of the product's increment_mw 0.5 MW",
    ),
    ("products.csv", 2, "min_mw", "0", "min_mw must be > 0"),
    ("products.csv", 2, "max_mw", "10.5", "max_mw must be a whole multiple of the product's"),
    ("products.csv", 1, "max_mw", "0.5", "max_mw must be at least min_mw 1 MW"),
    ("products.csv", 2, "max_mw", "10.0001", "max_mw must lie on the 1 kW grid"),
    ("products.csv", 1, "reserve_price_eur_per_mw", "10.555", "has at most two decimals"),
    ("products.csv", 1, "reserve_price_eur_per_mw", "-1", "reserve_price_eur_per_mw must be >="),
    ("products.csv", 1, "eta_charge", "0", "eta_charge must lie in (0, 1]"),
    ("products.csv", 1, "eta_discharge", "1.1", "eta_discharge must lie in (0, 1]"),
    ("products.csv", 1, "daily_cycle_limit", "0", "daily_cycle_limit must be > 0"),
    ("bids.csv", 4, "bid_id", "", "bid_id is required"),
    ("bids.csv", 3, "org_id", "", "org_id is required"),
    ("bids.csv", 1, "product_id", "p9", "product_id 'p9' is not a product of this auction"),
    ("bids.csv", 1, "quantity_mw", "0", "quantity_mw must be > 0"),
    ("bids.csv", 1, "quantity_mw", "-1", "quantity_mw must be > 0"),
    ("bids.csv", 1, "quantity_mw", "abc", "quantity_mw must be a number"),
    ("bids.csv", 1, "quantity_mw", "2.5001", "quantity_mw must lie on the 1 kW grid"),
    (
        "bids.csv",
        1,
        "quantity_mw",
        "2.25",
        "quantity_mw must be a whole multiple of the product's increment_mw 0.5 MW",
    ),
    ("bids.csv", 1, "quantity_mw", "0.5", "quantity_mw must be at least the product's min_mw"),
    ("bids.csv", 2, "min_quantity_mw", "0.5", "min_quantity_mw must be at least the product's"),
    ("bids.csv", 3, "min_quantity_mw", "2.5", "increment_mw 1 MW"),
    ("bids.csv", 3, "min_quantity_mw", "4", "min_quantity_mw must not exceed quantity_mw"),
    ("bids.csv", 1, "price_eur_per_mw", "12.345", "price_eur_per_mw has at most two decimals"),
    ("bids.csv", 1, "price_eur_per_mw", "-0.01", "price_eur_per_mw must be >= 0"),
    ("bids.csv", 1, "price_eur_per_mw", "NaN", "price_eur_per_mw must be a finite number"),
    ("bids.csv", 1, "price_eur_per_mw", "", "price_eur_per_mw is required"),
    ("bids.csv", 1, "submitted_at", "2026-11-27T10:00:00", "submitted_at has no UTC offset"),
    ("bids.csv", 1, "submitted_at", "", "submitted_at is required"),
    ("bids.csv", 2, "linked_to", "b2", "a bid cannot link to itself"),
    ("bids.csv", 2, "linked_to", "b9", "linked_to names no bid of this auction: 'b9'"),
    (
        "bids.csv",
        2,
        "linked_to",
        "b3",
        "linked_to names bid 'b3' of another organisation 'org2'; "
        "a bid may only link to a bid of its own organisation",
    ),
    ("allocations.csv", 1, "org_id", "", "org_id is required"),
    ("allocations.csv", 1, "product_id", "p9", "product_id 'p9' is not a product"),
    ("allocations.csv", 1, "quantity_mw", "0", "quantity_mw must be > 0"),
    ("allocations.csv", 1, "quantity_mw", "4.5", "a whole multiple of the product's increment_mw"),
    ("allocations.csv", 2, "quantity_mw", "x", "quantity_mw must be a number"),
]


@pytest.mark.parametrize(("file", "row", "column", "value", "phrase"), CELL_RULES)
def test_each_broken_rule_is_one_problem(
    root: Path, file: str, row: int, column: str, value: str, phrase: str
) -> None:
    set_cell(root, file, row, column, value)
    found = problems(root)
    assert len(found) == 1, found
    (problem,) = found
    assert (problem.file, problem.row, problem.column) == (file, row, column)
    assert problem.value == (value.strip() or None)
    assert phrase in problem.rule
    if file == "bids.csv":
        assert problem.bid_id == (read_rows(root / file)[row][0] or None)
    else:
        assert problem.bid_id is None


def test_product_without_any_block(root: Path) -> None:
    set_cell(root, "products.csv", 2, "afrr_pos_mw", "0")
    (problem,) = problems(root)
    assert (problem.file, problem.row, problem.column) == ("products.csv", 2, "wholesale_mw")
    assert "at least one of wholesale_mw, fcr_mw, afrr_pos_mw, afrr_neg_mw must be > 0" in (
        problem.rule
    )


def test_window_end_before_start(root: Path) -> None:
    set_cell(root, "products.csv", 2, "end", "2026-11-29T08:00:00+01:00")
    (problem,) = problems(root)
    assert (problem.row, problem.column, problem.rule) == (2, "end", "end must be after start")


def test_outage_end_before_start(root: Path) -> None:
    set_cell(root, "availability.csv", 1, "start", "2026-11-29T13:00:00+01:00")
    (problem,) = problems(root)
    assert (problem.file, problem.row, problem.column) == ("availability.csv", 1, "end")
    assert problem.rule == "end must be after start"


@pytest.mark.parametrize(
    ("file", "copy_of", "column"),
    [
        ("fleet.csv", 1, "asset_id"),
        ("products.csv", 1, "product_id"),
        ("bids.csv", 1, "bid_id"),
        ("allocations.csv", 2, "product_id"),
    ],
)
def test_ids_are_unique(root: Path, file: str, copy_of: int, column: str) -> None:
    append_row(root, file, copy_of)
    (problem,) = problems(root)
    row = len(TABLES[file])  # the appended data row
    assert (problem.file, problem.row, problem.column) == (file, row, column)
    if file == "allocations.csv":
        assert problem.rule == "org_id 'org4' has more than one allocation of product 'p2'"
    else:
        assert f"is not unique; row {copy_of} has it too" in problem.rule


def test_allocations_may_not_exceed_max_mw(root: Path) -> None:
    set_cell(root, "products.csv", 2, "max_mw", "6")
    (problem,) = problems(root)
    assert (problem.file, problem.row, problem.column) == ("allocations.csv", 2, "quantity_mw")
    assert problem.rule == "allocations of product 'p2' add up to 7 MW, more than its max_mw 6 MW"


def test_link_cycle_is_reported_once(root: Path) -> None:
    set_cell(root, "bids.csv", 1, "linked_to", "b2")
    (problem,) = problems(root)
    assert (problem.file, problem.row, problem.column, problem.bid_id) == (
        "bids.csv",
        1,
        "linked_to",
        "b1",
    )
    assert "links form a cycle: b1 -> b2 -> b1" in problem.rule


def test_long_link_cycle_with_a_tail(root: Path) -> None:
    # b5 -> b6 -> b7 -> b5 is a cycle; b8 -> b5 only leads into it.
    for bid, parent in [("b5", "b6"), ("b6", "b7"), ("b7", "b5"), ("b8", "b5")]:
        append_row(root, "bids.csv", 1, bid_id=bid, linked_to=parent)
    (problem,) = problems(root)
    assert (problem.row, problem.bid_id) == (5, "b5")
    assert "b5 -> b6 -> b7 -> b5" in problem.rule


# --- auction.json -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "column", "phrase"),
    [
        ({"auction_id": None}, "auction_id", "auction_id is invalid"),
        ({"delivery_day": "29.11.2026"}, "delivery_day", "delivery_day is invalid"),
        ({"mtu_minutes": 7}, "mtu_minutes", "mtu_minutes must divide 60"),
        ({"mtu_minutes": 0}, "mtu_minutes", "mtu_minutes is invalid"),
        ({"gate_close": "2026-11-27T15:00:00"}, "gate_close", "must carry a UTC offset"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a known IANA zone"),
        ({"gate_open": "2026-11-28T00:00:00+01:00"}, "gate_open", "before gate_close"),
        ({"initial_soc_fraction": 1.5}, "initial_soc_fraction", "initial_soc_fraction is"),
    ],
)
def test_config_rules(root: Path, changes: dict[str, object], column: str, phrase: str) -> None:
    set_config(root, **changes)
    (problem,) = problems(root)
    assert (problem.file, problem.row, problem.column) == ("auction.json", None, column)
    assert phrase in problem.rule


def test_config_problems_are_all_reported(root: Path) -> None:
    set_config(root, auction_id="", time_zone="Mars/Olympus", mtu_minutes="abc")
    found = problems(root)
    assert [p.column for p in found] == ["time_zone", "auction_id", "mtu_minutes"]
    assert found[0].rule == "time_zone 'Mars/Olympus' is not a known IANA zone"


def test_empty_tables_round_trip(root: Path, tmp_path: Path) -> None:
    write_csv(root / "bids.csv", TABLES["bids.csv"][:1])
    (root / "availability.csv").unlink()
    (root / "allocations.csv").unlink()
    archive = read_archive(root)
    for fmt in FORMATS:
        write_archive(archive, tmp_path / fmt, fmt=fmt)
        again = read_archive(tmp_path / fmt)
        for name in ("availability", "bids", "allocations"):
            assert_frame_equal(getattr(again, name), getattr(archive, name))


def test_config_required_keys(root: Path) -> None:
    (root / "auction.json").write_text("{}")
    found = problems(root)
    assert [(p.column, p.rule) for p in found] == [
        ("auction_id", "auction_id is required"),
        ("delivery_day", "delivery_day is required"),
    ]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [("{not json", "auction.json is not valid JSON"), ("[1, 2]", "must hold a JSON object")],
)
def test_config_must_be_a_json_object(root: Path, text: str, phrase: str) -> None:
    (root / "auction.json").write_text(text)
    (problem,) = problems(root)
    assert problem.file == "auction.json"
    assert phrase in problem.rule


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


# --- daylight saving days -----------------------------------------------------------

DST_DAYS = [
    # day, its local start and end (end = 24:00 local), first MTU edge after 03:00 local
    ("2026-03-29", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
    ("2026-10-25", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"),
]


def dst_archive(root: Path, day: str, start: str, end: str) -> None:
    set_config(root, delivery_day=day)
    rows = read_rows(root / "products.csv")
    rows = rows[:2]  # only the first product
    rows[1][1:3] = [start, end]
    write_csv(root / "products.csv", rows)
    write_csv(root / "bids.csv", TABLES["bids.csv"][:3])
    write_csv(root / "allocations.csv", TABLES["allocations.csv"][:1])
    write_csv(root / "availability.csv", TABLES["availability.csv"][:1])


@pytest.mark.parametrize(("day", "start", "end"), DST_DAYS)
def test_whole_dst_day_product_is_valid(root: Path, day: str, start: str, end: str) -> None:
    dst_archive(root, day, start, end)
    products = read_archive(root).products
    hours = (products["end"] - products["start"]).dt.total_hours().to_list()
    assert hours == [23 if day.endswith("03-29") else 25]


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [
        ("2026-03-29", "2026-03-29T03:00:00+02:00", "2026-03-30T00:00:00+02:00"),
        ("2026-10-25", "2026-10-25T02:15:00+01:00", "2026-10-26T00:00:00+01:00"),
        ("2026-10-25", "2026-10-25T02:45:00+02:00", "2026-10-25T02:15:00+01:00"),
    ],
)
def test_dst_day_windows_on_the_grid(root: Path, day: str, start: str, end: str) -> None:
    dst_archive(root, day, start, end)
    read_archive(root)


@pytest.mark.parametrize(
    ("day", "start"),
    [("2026-03-29", "2026-03-29T03:05:00+02:00"), ("2026-10-25", "2026-10-25T02:20:00+01:00")],
)
def test_dst_day_start_off_the_grid(root: Path, day: str, start: str) -> None:
    dst_archive(root, day, start, DST_DAYS[0][2] if day.endswith("03-29") else DST_DAYS[1][2])
    (problem,) = problems(root)
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "products.csv",
        1,
        "start",
        start,
    )
    assert "start must be an MTU edge" in problem.rule


def test_window_past_the_end_of_a_short_day(root: Path) -> None:
    dst_archive(root, "2026-03-29", "2026-03-29T00:00:00+01:00", "2026-03-30T00:15:00+02:00")
    (problem,) = problems(root)
    assert (problem.column, problem.value) == ("end", "2026-03-30T00:15:00+02:00")
    assert "end must lie inside the delivery day 2026-03-29" in problem.rule
