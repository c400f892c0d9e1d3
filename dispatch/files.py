"""Dispatch files beside an auction archive, for offline replay (``vba dispatch``).

    schedules.csv   block_id, start, power_kw   accepted wholesale schedules (non-zero MTUs)
    rebacked.csv    block_id, asset_id, start, end, power_kw, energy_kwh
                    the whole effective backing of every block an outage re-backed
    outages.csv     asset_id, start, end, available_fraction
                    outages recorded after the clearing (availability.csv holds those before)

    prices.csv      start, eur_per_mwh          a price curve for the rebalancing plan
                    (``vba dispatch --rebalance``), one row per MTU of the day

All are optional. ``vba export`` writes them for a stored auction. Schedules are judged by
the rules of ``dispatch.schedule`` (except the gate closure: the replay is after the fact).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from auction.archive import table_csv
from auction.book import AVAILABILITY
from auction.cells import Sheet, as_text
from auction.csvsafe import read_csv
from auction.errors import ArchiveError, DomainError, Problem
from auction.rules import check_availability
from auction.safewrite import write_file
from dispatch.frames import BACKING_SLICES, SCHEDULES
from dispatch.schedule import BlockTerms, Point, apply_schedule, empty_schedule

LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)
# The schedule rules name the fields of the REST body; the file's columns are these.
_COLUMN_OF = {"time": "start", "power": "power_kw"}  # "now" of a replay: every gate is still open


def _sheet(path: Path, columns: list[str]) -> Sheet | None:
    """The file as text cells, or None if it is absent; unreadable: ArchiveError."""
    if not path.exists():
        return None
    try:
        frame = read_csv(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ArchiveError(
            [Problem(path.name, None, None, None, f"cannot be read: {exc}")]
        ) from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ArchiveError(
            [Problem(path.name, None, c, None, f"required column {c} is missing") for c in missing]
        )
    text, _ = as_text(frame, columns)
    return Sheet(path.name, text)


def _integers(sheet: Sheet, column: str) -> pl.Series:
    return sheet.exact(column, 0, f"{column} is in whole kW (kWh)")[1]


def _known_blocks(sheet: Sheet, blocks: pl.DataFrame, market: str | None) -> pl.Series:
    ids = sheet.text("block_id")
    known = blocks if market is None else blocks.filter(pl.col("market") == market)
    what = "a block of the result" if market is None else f"a {market} block of the result"
    sheet.flag(
        ids.is_not_null() & ~ids.is_in(known["block_id"].implode()),
        "block_id",
        f"block_id must name {what}",
    )
    return ids


def read_schedules(root: Path, blocks: pl.DataFrame, terms: dict[str, BlockTerms]) -> pl.DataFrame:
    """schedules.csv as ``SCHEDULES``, each block's schedule checked by the schedule rules."""
    sheet = _sheet(root / "schedules.csv", list(SCHEDULES.names()))
    if sheet is None:
        return pl.DataFrame(schema=SCHEDULES)
    frame = pl.DataFrame(
        {
            "block_id": _known_blocks(sheet, blocks, "wholesale"),
            "start": sheet.timestamp("start"),
            "power_kw": _integers(sheet, "power_kw"),
        },
        schema=SCHEDULES,
    ).with_row_index("row", offset=1)
    if sheet.problems:
        raise ArchiveError(sheet.problems)
    problems: list[Problem] = []
    for (block_id,), rows in frame.group_by("block_id", maintain_order=True):
        block = terms[str(block_id)]
        points = [Point(t, int(p)) for t, p in rows.select("start", "power_kw").iter_rows()]
        try:
            apply_schedule(block, empty_schedule(block), points, LONG_AGO)
        except DomainError as exc:
            lines = rows["row"].to_list()
            problems += [
                Problem(
                    sheet.file,
                    lines[p.row - 1] if p.row else None,
                    _COLUMN_OF.get(p.column or "", p.column),
                    p.value,
                    p.rule,
                )
                for p in exc.problems
            ]
    if problems:
        raise ArchiveError(problems)
    return frame.drop("row").filter(pl.col("power_kw") != 0)


def read_rebacked(root: Path, blocks: pl.DataFrame) -> pl.DataFrame:
    """rebacked.csv as ``BACKING_SLICES`` (empty if absent)."""
    sheet = _sheet(root / "rebacked.csv", list(BACKING_SLICES.names()))
    if sheet is None:
        return pl.DataFrame(schema=BACKING_SLICES)
    frame = pl.DataFrame(
        {
            "block_id": _known_blocks(sheet, blocks, None),
            "asset_id": sheet.text("asset_id"),
            "start": sheet.timestamp("start"),
            "end": sheet.timestamp("end"),
            "power_kw": _integers(sheet, "power_kw"),
            "energy_kwh": _integers(sheet, "energy_kwh"),
        },
        schema=BACKING_SLICES,
    )
    sheet.flag(frame["start"] >= frame["end"], "end", "end must be after start")
    sheet.flag(frame["power_kw"] < 0, "power_kw", "power_kw must be >= 0")
    if sheet.problems:
        raise ArchiveError(sheet.problems)
    return frame


def read_prices(path: Path) -> pl.DataFrame:
    """A price curve (start, eur_per_mwh: EUR/MWh, finite); which MTUs it must cover is
    checked against the day by ``dispatch.rebalance.price_curve``."""
    sheet = _sheet(path, ["start", "eur_per_mwh"])
    if sheet is None:
        raise ArchiveError([Problem(path.name, None, None, None, "the price file does not exist")])
    frame = pl.DataFrame(
        {"start": sheet.timestamp("start"), "eur_per_mwh": sheet.number("eur_per_mwh")}
    )
    if sheet.problems:
        raise ArchiveError(sheet.problems)
    return frame


def read_outages(root: Path, fleet: pl.DataFrame) -> pl.DataFrame:
    """outages.csv as ``AVAILABILITY`` (empty if absent), by the rules of availability.csv."""
    sheet = _sheet(root / "outages.csv", list(AVAILABILITY.names()))
    if sheet is None:
        return pl.DataFrame(schema=AVAILABILITY)
    frame = check_availability(sheet, fleet)
    if sheet.problems or frame is None:
        raise ArchiveError(sheet.problems)
    return frame


def write_dispatch_files(
    root: Path,
    time_zone: str,
    schedules: pl.DataFrame,
    rebacked: pl.DataFrame,
    outages: pl.DataFrame,
) -> None:
    """Write the files this module reads (only those with rows)."""
    for name, frame, columns in (
        ("schedules", schedules, SCHEDULES),
        ("rebacked", rebacked, BACKING_SLICES),
        ("outages", outages, AVAILABILITY),
    ):
        if frame.height:
            write_file(root / f"{name}.csv", table_csv(frame.select(columns.names()), time_zone))
