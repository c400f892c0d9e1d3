"""auction.archive: each rule of the tables and of auction.json in docs/archive.md, broken
once, is reported as exactly one problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from auction.archive import read_archive, write_archive
from tests.unit.auction.archive_base import (
    FORMATS,
    TABLES,
    append_row,
    problems,
    read_rows,
    set_cell,
    set_config,
    write_csv,
)

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
