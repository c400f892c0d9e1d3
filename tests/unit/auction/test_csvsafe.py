"""auction.csvsafe: no text cell a spreadsheet opens acts as a formula, numbers stay
numbers, and whatever is written reads back exactly (docs/archive.md, "Formulas")."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auction.archive import read_archive, write_archive
from auction.csvsafe import TRIGGERS, read_csv, write_csv
from clearing.digest import input_sha256
from tests.unit.auction.archive_base import CONFIG, TABLES, read_rows, set_cell
from tests.unit.auction.archive_base import write_csv as write_rows

CALC = "=cmd|' /C calc'!A0"


def cells(text: str) -> list[list[str]]:
    """The CSV as a spreadsheet gets it: rows of raw cells."""
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    "value",
    [CALC, "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", '=HYPERLINK("http://x")', "-p1"],
)
def test_a_text_cell_starting_with_a_trigger_gets_an_apostrophe(value: str) -> None:
    text = write_csv(pl.DataFrame({"exclusive_group": [value]}))
    assert cells(text)[1] == ["'" + value]


@pytest.mark.parametrize("value", ["-12.50", "-3", "12.5", "0", "p1", "a=b", "", "'quoted"])
def test_plain_numbers_and_harmless_text_are_written_as_they_are(value: str) -> None:
    text = write_csv(pl.DataFrame({"amount_eur": [value]}))
    assert cells(text)[1] == [value]


def test_numeric_columns_are_never_touched() -> None:
    frame = pl.DataFrame({"mw": [-1.5, 2.0], "kw": [-1500, 2000]})
    assert cells(write_csv(frame))[1:] == [["-1.5", "-1500"], ["2.0", "2000"]]


def test_columns_named_as_text_only_are_neutralised() -> None:
    """table_csv turns numbers into text first: only the columns that were text count."""
    frame = pl.DataFrame({"id": ["=x"], "number": ["-1e3"]})
    assert cells(write_csv(frame, text=["id"]))[1] == ["'=x", "-1e3"]


@given(st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=8))
def test_any_text_written_and_read_is_the_same_text(values: list[str | None]) -> None:
    text = write_csv(pl.DataFrame({"cell": values}, schema={"cell": pl.String}))
    for row in cells(text)[1:]:
        raw = "".join(row)  # a null is an empty line
        # What a spreadsheet would take for a formula never reaches it.
        assert not raw.startswith(tuple(TRIGGERS)) or re.fullmatch(r"-[0-9]+(\.[0-9]+)?", raw)
    assert read_csv(text.encode())["cell"].to_list() == values


def test_a_formula_in_a_bid_is_exported_harmless_and_read_back_exactly(
    root: Path, tmp_path: Path
) -> None:
    set_cell(root, "bids.csv", 1, "exclusive_group", CALC)
    archive = read_archive(root)
    assert archive.bids["exclusive_group"][0] == CALC
    out = tmp_path / "out"
    write_archive(archive, out)
    bids = read_rows(out / "bids.csv")
    assert bids[1][bids[0].index("exclusive_group")] == "'" + CALC
    again = read_archive(out)
    assert again.bids["exclusive_group"][0] == CALC
    assert input_sha256(again) == input_sha256(archive)  # vba clear sees the same auction


_group = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != "")


@settings(max_examples=40, deadline=None)
@given(groups=st.lists(_group, min_size=4, max_size=4))
def test_any_exclusive_group_survives_the_archive_round_trip(
    groups: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("archive")
    (root / "auction.json").write_text(json.dumps(CONFIG))
    for file, rows in TABLES.items():
        write_rows(root / file, rows)
    archive = read_archive(root)
    archive = replace(archive, bids=archive.bids.with_columns(exclusive_group=pl.Series(groups)))
    out = root / "out"
    write_archive(archive, out)
    assert read_archive(out).bids["exclusive_group"].to_list() == groups
