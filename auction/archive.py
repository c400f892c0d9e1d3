"""Reading, validating and writing the auction archive (docs/archive.md).

`read_archive` checks every rule of the spec and reports all broken ones at once, each
naming file, row, column, value and rule; only a clean archive becomes frames with the
schemas of ``auction.book``. Multiples and decimals are judged exactly, on integer kW and
cents parsed from the cell text, never with float arithmetic.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from pydantic import ValidationError

from auction.book import PRODUCTS
from auction.cells import Sheet, as_text, number_text
from auction.csvsafe import read_csv, text_columns, write_csv
from auction.errors import ArchiveError, Problem
from auction.model import Archive, AuctionConfig
from auction.rules import (
    OPTIONAL_COLUMNS,
    OPTIONAL_TABLES,
    TABLES,
    check_allocations,
    check_availability,
    check_bids,
    check_fleet,
    check_products,
)
from auction.safewrite import make_dir, write_file
from auction.timegrid import local_iso


def read_archive(path: str | Path) -> Archive:
    """Read and validate the auction directory ``path``.

    Returns
    -------
    Archive
        Frames with exactly the schemas of ``auction.book``, rows in input order,
        timestamps in UTC, absent optional columns filled with their defaults.

    Raises
    ------
    ArchiveError
        With every problem found, if the archive breaks any rule of docs/archive.md.
    """
    root = Path(path)
    if not root.is_dir():
        problem = Problem(str(root), None, None, None, "the auction archive must be a directory")
        raise ArchiveError([problem])
    problems: list[Problem] = []
    config = _read_config(root, problems)
    sheets = {stem: _load_sheet(root, stem, problems) for stem in TABLES}

    fleet = check_fleet(sheets["fleet"])
    availability = check_availability(sheets["availability"], fleet)
    products = check_products(sheets["products"], config)
    bids = check_bids(sheets["bids"], products)
    allocations = check_allocations(sheets["allocations"], products)

    for sheet in sheets.values():
        if sheet is not None:
            problems.extend(sorted(sheet.problems, key=lambda p: p.row or 0))
    if problems or config is None:
        raise ArchiveError(problems)
    # Every table that could not be judged has reported a problem, so none is None here.
    return Archive(
        config=config,
        fleet=_checked(fleet),
        availability=_checked(availability),
        products=_checked(products).select(PRODUCTS.names()),
        bids=_checked(bids),
        allocations=_checked(allocations),
    )


def _checked(frame: pl.DataFrame | None) -> pl.DataFrame:
    assert frame is not None
    return frame


def write_archive(
    archive: Archive, path: str | Path, fmt: Literal["csv", "parquet"] = "csv"
) -> None:
    """Write ``archive`` as an auction directory that `read_archive` reads back unchanged.

    Parameters
    ----------
    archive
        The auction to write; its frames have the schemas of ``auction.book``.
    path
        The directory; created if missing, files in it are overwritten.
    fmt
        ``"csv"``: timestamps with the local offset of ``config.time_zone``, numbers as
        their shortest exact decimal, booleans ``true``/``false``, nulls empty.
        ``"parquet"``: typed columns, timestamps in UTC.
    """
    root = Path(path)
    make_dir(root)  # files are written without following links (auction.safewrite)
    config = archive.config
    doc = config.model_dump(mode="json")
    for key, value in config:
        if isinstance(value, datetime):
            doc[key] = local_iso(value, config.time_zone)
    write_file(root / "auction.json", json.dumps(doc, indent=2) + "\n")
    other = "csv" if fmt == "parquet" else "parquet"
    for stem, schema in TABLES.items():
        # A stale table in the other format would make the directory ambiguous; unlink
        # removes a link itself, never its target.
        (root / f"{stem}.{other}").unlink(missing_ok=True)
        frame: pl.DataFrame = getattr(archive, stem).select(schema.names()).cast(dict(schema))
        if fmt == "parquet":
            buffer = io.BytesIO()
            frame.write_parquet(buffer)
            write_file(root / f"{stem}.parquet", buffer.getvalue())
        else:
            write_file(root / f"{stem}.csv", table_csv(frame, config.time_zone))


def table_csv(frame: pl.DataFrame, time_zone: str) -> str:
    """A table as the CSV text of an archive (local timestamps, exact numbers, empty nulls,
    text a spreadsheet cannot take for a formula: ``auction.csvsafe``)."""
    return write_csv(_text_frame(frame, time_zone), text=text_columns(frame))


def _text_frame(frame: pl.DataFrame, time_zone: str) -> pl.DataFrame:
    """Every column as the exact text the CSV archive holds."""
    columns: list[pl.Series] = []
    for name, dtype in frame.schema.items():
        series = frame[name]
        if isinstance(dtype, pl.Datetime):
            series = series.dt.convert_time_zone(time_zone).dt.to_string("%Y-%m-%dT%H:%M:%S%.f%:z")
        elif dtype == pl.Float64:
            series = number_text(series)
        elif dtype == pl.Boolean:
            series = series.cast(pl.String)
        columns.append(series.alias(name))
    return pl.DataFrame(columns, schema=dict.fromkeys(frame.columns, pl.String))


# --- auction.json -------------------------------------------------------------------


def _read_config(root: Path, problems: list[Problem]) -> AuctionConfig | None:
    """auction.json as an AuctionConfig, or None after reporting why it is not one."""
    file = "auction.json"
    try:
        data = (root / file).read_bytes()
    except FileNotFoundError:
        problems.append(
            Problem(file, None, None, None, "auction.json is missing; every archive needs one")
        )
        return None
    except OSError as exc:
        problems.append(Problem(file, None, None, None, f"auction.json cannot be read: {exc}"))
        return None
    return parse_config(data, problems, file)


def parse_config(
    data: bytes, problems: list[Problem], file: str = "auction.json"
) -> AuctionConfig | None:
    """The bytes of an auction.json (a file of an archive, or an upload) as an
    AuctionConfig, or None after reporting every problem."""

    def report(rule: str) -> None:
        problems.append(Problem(file, None, None, None, rule))

    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        report(f"{file} cannot be read: {exc}")
        return None
    except json.JSONDecodeError as exc:
        report(f"{file} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return None
    return check_config(doc, problems, file)


def check_config(
    doc: object, problems: list[Problem], file: str = "auction.json"
) -> AuctionConfig | None:
    """auction.json's document as an AuctionConfig, or None after reporting every problem."""

    def report(rule: str, column: str | None = None, value: object = None) -> None:
        problems.append(Problem(file, None, column, value, rule))

    if not isinstance(doc, dict):
        report(f"{file} must hold a JSON object of keys and values")
        return None
    # pydantic runs the model validator (which checks time_zone) only when every field is
    # valid; checking the zone here reports it alongside the other problems.
    zone = doc.get("time_zone")
    if isinstance(zone, str) and not _is_time_zone(zone):
        report(f"time_zone {zone!r} is not a known IANA zone", "time_zone", zone)
    config: AuctionConfig | None = None
    try:
        config = AuctionConfig.model_validate(doc)
    except ValidationError as exc:
        for error in exc.errors():
            key = _config_key(error)
            if key == "time_zone" and error["type"] == "value_error":
                continue  # reported above
            if error["type"] == "missing":
                rule = f"{key} is required"
            elif error["type"] == "timezone_aware":
                rule = f"{key} must carry a UTC offset, e.g. 2026-11-27T15:00:00+01:00"
            elif error["type"] == "value_error" or key is None:
                # Our own validators' messages name the key already.
                rule = str(error["msg"]).removeprefix("Value error, ")
            else:
                rule = f"{key} is invalid: {error['msg']}"
            report(rule, key, doc.get(key) if key else None)
    mtu = doc.get("mtu_minutes") if config is None else config.mtu_minutes
    if isinstance(mtu, int) and not isinstance(mtu, bool) and 0 < mtu <= 60 and 60 % mtu:
        # An hour must hold whole MTUs, else DST shifts would move the grid.
        rule = "mtu_minutes must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)"
        report(rule, "mtu_minutes", mtu)
        return None
    return config


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # ValueError: a malformed key
        return False
    return True


def _config_key(error: Any) -> str | None:
    """The auction.json key a pydantic error is about."""
    if error["loc"]:
        return str(error["loc"][0])
    # Errors of the whole-model validator (time_zone, gate order) start with the key name.
    message = str(error["msg"]).removeprefix("Value error, ")
    first = message.split(" ", 1)[0]
    return first if first in AuctionConfig.model_fields else None


# --- loading tables -------------------------------------------------------------------


def _load_sheet(root: Path, stem: str, problems: list[Problem]) -> Sheet | None:
    """The table ``stem`` as text, or None if it is absent or unreadable (reported)."""
    found = [
        root / f"{stem}.{ext}" for ext in ("csv", "parquet") if (root / f"{stem}.{ext}").exists()
    ]
    schema = TABLES[stem]
    if not found:
        if stem in OPTIONAL_TABLES:
            return Sheet(f"{stem}.csv", pl.DataFrame(schema=dict.fromkeys(schema, pl.String)))
        problems.append(
            Problem(
                f"{stem}.csv",
                None,
                None,
                None,
                f"{stem}.csv (or {stem}.parquet) is missing; it is required",
            )
        )
        return None
    if len(found) > 1:
        rule = f"both {stem}.csv and {stem}.parquet exist; keep only one"
        problems.append(Problem(f"{stem}.csv", None, None, None, rule))
        return None
    file = found[0]
    try:
        data = file.read_bytes()
    except OSError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.append(
            Problem(file.name, None, None, None, f"{file.name} cannot be read: {reason}")
        )
        return None
    return read_sheet(stem, file.name, data, problems)


def read_sheet(stem: str, name: str, data: bytes, problems: list[Problem]) -> Sheet | None:
    """The bytes of table ``stem`` (a file of an archive, or an upload, named ``name``:
    Parquet if it ends in ``.parquet``, else CSV) as text for the checks of
    ``auction.rules``, or None if it cannot be judged (reported)."""
    schema = TABLES[stem]
    try:
        # A CSV's cells lose the apostrophe that kept them from acting as formulas.
        parquet = name.endswith(".parquet")
        frame = pl.read_parquet(io.BytesIO(data)) if parquet else read_csv(data)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.append(Problem(name, None, None, None, f"{name} cannot be read: {reason}"))
        return None
    missing = [c for c in schema if c not in frame.columns and c not in OPTIONAL_COLUMNS[stem]]
    for column in missing:
        rule = f"required column {column} is missing"
        problems.append(Problem(name, None, column, None, rule))
    if missing:
        # Without a required column the rows cannot be judged; dependent checks are skipped.
        return None
    present = [c for c in schema if c in frame.columns]
    text, unreadable = as_text(frame, present)
    for column in unreadable:
        rule = f"column {column} has type {frame.schema[column]}, which cannot be read as a cell"
        problems.append(Problem(name, None, column, None, rule))
    # Blank cells are empty cells, and empty cells are null (spec: "Empty cells are null").
    text = text.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c)
        for c in present
    )
    return Sheet(name, text, id_column="bid_id" if stem == "bids" else None)
