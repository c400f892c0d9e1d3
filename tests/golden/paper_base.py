"""What the paper examples (test_paper_examples*.py) share: their defaults, and clearing
an example with the independent checker's approval, read back as the CSV tables.

Unless a test says otherwise: one wholesale product ``p1`` 10:00-14:00 local on
2026-11-29 (1 MW wholesale per MW, 2 h of energy), increment and minimum 1 MW, reserve
0 EUR/MW; assets in TenneT DE with equal charge and discharge power. A product of
``X`` MW then needs ``X`` MW of power and ``2·X`` MWh of energy. Every result must also
pass the independent checker.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from auction.model import Archive
from clearing import ClearingResult, clear, write_results
from clearing.verify import format_report, verify

Table = list[dict[str, str]]
RESULT_TABLES = ("awards.csv", "allocation.csv", "virtual_assets.csv", "blocks.csv", "backing.csv")


def at(minute: int) -> datetime:
    """A submission time: 2026-11-26 09:00 UTC plus ``minute`` minutes."""
    return datetime(2026, 11, 26, 9, minute, tzinfo=UTC)


def cleared(archive: Archive) -> tuple[ClearingResult, dict[str, Table]]:
    """Clear, check the result with the independent checker, and return the CSV tables."""
    result = clear(archive)
    assert result.status == "optimal", result.message
    with tempfile.TemporaryDirectory() as out:
        write_results(result, out)
        report = verify(archive, out, optimality=True)
        tables = {
            name: list(csv.DictReader(io.StringIO((Path(out) / name).read_text())))
            for name in RESULT_TABLES
        }
    assert report.ok, format_report(report)
    return result, tables


def awards_of(tables: dict[str, Table]) -> dict[str, tuple[str, str, str, str]]:
    """bid_id -> (awarded_mw, payment_eur, status, reason) as written in awards.csv."""
    return {
        r["bid_id"]: (r["awarded_mw"], r["payment_eur"], r["status"], r["reason"])
        for r in tables["awards.csv"]
    }


def allocation_of(tables: dict[str, Table]) -> dict[tuple[str, str, str], str]:
    return {
        (r["product_id"], r["market"], r["asset_id"]): r["mw"] for r in tables["allocation.csv"]
    }
