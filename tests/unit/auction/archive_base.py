"""The small valid archive of the archive tests (test_archive*.py) as CSV text, and the
edits that break one rule of it; the ``root`` fixture (conftest.py) writes it out."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Literal

import pytest

from auction.archive import read_archive
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
