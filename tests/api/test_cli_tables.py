"""``vba clear``'s product table in a narrow terminal: every product id in full and
unambiguous, a full-day window as 00:00-24:00 (on DST days too)."""

from __future__ import annotations

from datetime import date, time

import polars as pl
import pytest
from rich.console import Console

from api.cli.tables import print_summary, product_cells, product_table_view
from auction.archive import read_archive
from auction.sample import sample_dir
from auction.timegrid import day_bounds, local_instant, mtu_count
from clearing import clear

BERLIN = "Europe/Berlin"


def first_cells(text: str) -> list[str]:
    """The first cell of each body row of a rich table (rows start with a vertical bar)."""
    return [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("width", [80, 60])
def test_every_product_id_shows_in_full_in_a_narrow_terminal(width: int) -> None:
    archive = read_archive(sample_dir())
    console = Console(width=width, record=True, highlight=False)
    print_summary(console, archive, clear(archive))
    text = console.export_text()
    assert all(len(line) <= width for line in text.splitlines())
    assert "…" not in text
    ids = sorted(archive.products["product_id"])
    # One row per product, its first cell the whole id; a continuation line has an empty
    # first cell (an awarded MW that wraps), never a piece of an id.
    assert sorted(c for c in first_cells(text) if c) == ids
    assert "00:00-24:00" in text
    assert "00:00-00:00" not in text
    assert "20:00-24:00" in text  # H20-24-WS2 ends at midnight as well


def test_columns_left_out_are_named() -> None:
    archive = read_archive(sample_dir())
    console = Console(width=60, record=True, highlight=False)
    print_summary(console, archive, clear(archive))
    text = " ".join(console.export_text().split())
    assert "narrow terminal: left out lowest accepted EUR/MW" in text
    wide = Console(width=120, record=True, highlight=False)
    print_summary(wide, archive, clear(archive))
    assert "left out" not in wide.export_text()


@pytest.mark.parametrize(("day", "quarters"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
def test_a_full_day_product_on_a_dst_day_reads_00_to_24(day: date, quarters: int) -> None:
    start, end = day_bounds(day, BERLIN)
    assert mtu_count(day, 15, BERLIN) == quarters
    products = pl.DataFrame(
        {
            "product_id": ["DAY-WS1-AFRR-LONG-NAME", "H00-04-WS1"],
            "start": [start, start],
            "end": [end, local_instant(day, time(4), BERLIN)],
            "bids": [3, 1],
            "offered_kw": [1_000, 2_000],
            "awarded_kw": [1_000, 0],
            "revenue_units": [10_000, 0],
            "lowest_cents": [100, None],
            "allocated_kw": [0, 0],
        }
    )
    cells = product_cells(products, BERLIN)
    assert [c["window (local)"] for c in cells] == ["00:00-24:00", "00:00-04:00"]
    console = Console(width=60, record=True, highlight=False)
    console.print(product_table_view(console, "DST day", cells))
    assert first_cells(console.export_text()) == ["DAY-WS1-AFRR-LONG-NAME", "H00-04-WS1"]
