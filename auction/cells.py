"""Cells of archive tables: text in, checked values out.

Every table is read with all columns as text so that each cell can be judged and
reported as it was written. The parsers are vectorised: the usual spelling of a value is
handled by polars expressions, and Python looks only at the few cells that need it (odd
spellings, and the cells that break a rule).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import polars as pl

from auction.book import UTC_TIME
from auction.errors import Problem

# A number the fast path takes as it is; anything else ("+5", ".5", "1e3") goes through Decimal.
_PLAIN_NUMBER = r"^-?\d+(?:\.\d+)?$"
_NUMBER_PARTS = r"^(-?)(\d+)(?:\.(\d+))?$"
# Exact numbers are held as Int64 units; 12 integer digits leave room for 10**6 units each.
MAX_INTEGER_DIGITS = 12
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"
_TIME_EXAMPLE = "2026-11-29T00:00:00+01:00"

Rule = str | Callable[[int], str]


def number_text(values: pl.Series) -> pl.Series:
    """Floats as their shortest exact decimal text: ``0.1``, ``3``, ``0.0000001`` (no exponent)."""
    text = values.cast(pl.String)
    # polars prints the shortest round-trip repr, but with an exponent for very small or
    # large magnitudes; Decimal spells those few out in full.
    has_exponent = text.str.contains("e", literal=True).fill_null(False)
    if has_exponent.any():
        fixed = [
            format(Decimal(cell), "f") if flag else cell
            for cell, flag in zip(text.to_list(), has_exponent.to_list(), strict=True)
        ]
        text = pl.Series(text.name, fixed, dtype=pl.String)
    return text.str.replace(r"\.0$", "")


def units_text(units: int, decimals: int) -> str:
    """Integer ``units`` of 10**-decimals as the shortest exact decimal (``500, 3 -> "0.5"``)."""
    return format(Decimal(units).scaleb(-decimals).normalize(), "f")


def as_text(frame: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """The wanted ``columns`` of a typed frame (Parquet) as archive text.

    Returns the text frame and the columns whose type cannot be read as text.
    """
    out: list[pl.Series] = []
    unreadable: list[str] = []
    for name in columns:
        series = frame[name]
        dtype = series.dtype
        if isinstance(dtype, pl.Datetime):
            # A naive datetime is written without an offset, so the cell check refuses it.
            fmt = "%Y-%m-%dT%H:%M:%S%.f" + ("%:z" if dtype.time_zone else "")
            series = series.dt.to_string(fmt)
        elif dtype.is_float():
            series = number_text(series.cast(pl.Float64))
        elif dtype.is_nested() or dtype == pl.Binary:
            unreadable.append(name)
            series = pl.Series(name, [None] * len(series), dtype=pl.String)
        else:
            series = series.cast(pl.String)
        out.append(series.alias(name))
    return pl.DataFrame(out, schema=dict.fromkeys(columns, pl.String)), unreadable


@dataclass
class Sheet:
    """One table of the archive as text, and the problems found in it so far.

    ``raw`` holds every cell as text, null where the cell is empty or blank. Problems
    name the 1-based data row; in a table with an ``id_column`` (bids) they also carry
    that row's id.
    """

    file: str
    raw: pl.DataFrame
    id_column: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def flag(self, mask: pl.Series, column: str, rule: Rule) -> None:
        """Report ``rule`` broken in ``column`` on every row where ``mask`` is true."""
        rows = mask.fill_null(False).arg_true().to_list()
        if not rows:
            return
        cells = self.raw[column] if column in self.raw.columns else None
        ids = self.raw[self.id_column] if self.id_column else None
        for i in rows:
            self.problems.append(
                Problem(
                    file=self.file,
                    row=i + 1,
                    column=column,
                    value=None if cells is None else cells[i],
                    rule=rule if isinstance(rule, str) else rule(i),
                    bid_id=None if ids is None else ids[i],
                )
            )

    def cell(self, column: str) -> pl.Series:
        """The text of ``column``; all null if the (optional) column is absent."""
        if column in self.raw.columns:
            return self.raw[column]
        return pl.Series(column, [None] * self.raw.height, dtype=pl.String)

    def _require(self, column: str, cells: pl.Series, nullable: bool) -> None:
        if not nullable:
            self.flag(cells.is_null(), column, f"{column} is required; the cell is empty")

    def text(self, column: str, *, nullable: bool = False) -> pl.Series:
        """A text column; an empty cell is an error unless ``nullable``."""
        cells = self.cell(column)
        self._require(column, cells, nullable)
        return cells

    def unique(self, column: str) -> None:
        """Report every row whose ``column`` repeats an earlier row's."""
        cells = self.cell(column)
        repeated = cells.is_not_null() & ~cells.is_first_distinct()
        if not repeated.any():
            return
        first: dict[str, int] = {}
        for i, value in enumerate(cells.to_list()):
            first.setdefault(value, i + 1)
        self.flag(
            repeated,
            column,
            lambda i: f"{column} {cells[i]!r} is not unique; row {first[cells[i]]} has it too",
        )

    def number(self, column: str, *, nullable: bool = False) -> pl.Series:
        """A finite number as Float64 (null where the cell is empty or bad)."""
        return self._numbers(column, nullable, decimals=None)[0]

    def exact(
        self, column: str, decimals: int, rule: str, *, nullable: bool = False
    ) -> tuple[pl.Series, pl.Series]:
        """A number with at most ``decimals`` decimals: (Float64 value, exact Int64 units).

        ``rule`` is reported for a cell with more decimals (other than trailing zeros).
        """
        value, units = self._numbers(column, nullable, decimals, rule)
        assert units is not None
        return value, units

    def _numbers(
        self, column: str, nullable: bool, decimals: int | None, rule: str = ""
    ) -> tuple[pl.Series, pl.Series | None]:
        cells = self.cell(column).str.strip_chars()
        self._require(column, cells, nullable)
        canonical, bad = _canonical_numbers(cells)
        for reason in ("not_a_number", "not_finite"):
            what = "a number" if reason == "not_a_number" else "a finite number"
            self.flag(bad == reason, column, f"{column} must be {what}, e.g. 12.5")
        value = canonical.cast(pl.Float64)
        infinite = value.is_infinite()
        self.flag(infinite, column, f"{column} must be a finite number, e.g. 12.5")
        if decimals is None:
            return value.set(infinite, None), None
        parts = canonical.str.extract_groups(_NUMBER_PARTS).struct.unnest()
        sign, whole, frac = (parts[str(k)] for k in (1, 2, 3))
        frac = frac.fill_null("").str.strip_chars_end("0")
        too_precise = frac.str.len_chars() > decimals
        too_large = ~infinite & (whole.str.len_chars() > MAX_INTEGER_DIGITS)
        self.flag(too_precise, column, rule)
        self.flag(too_large, column, f"{column} is too large")
        ok = ~(too_precise | too_large | infinite).fill_null(False)
        units = (
            pl.DataFrame({"sign": sign, "whole": whole, "frac": frac})
            .select(
                pl.when(pl.col("sign") == "-").then(-1).otherwise(1)
                * (
                    pl.col("whole").cast(pl.Int64, strict=False) * 10**decimals
                    # With no decimals allowed the fraction is empty: nothing to add.
                    + (
                        pl.col("frac").str.pad_end(decimals, "0").cast(pl.Int64, strict=False)
                        if decimals
                        else pl.lit(0, pl.Int64)
                    )
                )
            )
            .to_series()
        )
        return value.set(~ok, None), units.set(~ok, None).alias(column)

    def timestamp(self, column: str) -> pl.Series:
        """An ISO 8601 timestamp with an offset or ``Z``, as UTC Datetime (null where bad)."""
        cells = self.cell(column).str.strip_chars()
        self._require(column, cells, nullable=False)
        parsed = cells.str.to_datetime(_TIME_FORMAT, time_unit="us", time_zone="UTC", strict=False)
        # polars' format misses some ISO spellings (no seconds, a space for "T"); Python
        # judges those few cells and says why a cell is refused.
        missed = (cells.is_not_null() & parsed.is_null()).arg_true().to_list()
        no_offset: list[int] = []
        unreadable: list[int] = []
        fixed: dict[int, datetime] = {}
        for i in missed:
            try:
                instant = datetime.fromisoformat(cells[i])
            except ValueError:
                unreadable.append(i)
                continue
            if instant.tzinfo is None:
                no_offset.append(i)
            else:
                fixed[i] = instant.astimezone(UTC)
        if fixed:
            parsed = parsed.scatter(list(fixed), pl.Series(list(fixed.values()), dtype=UTC_TIME))
        self.flag(
            rows_mask(cells.len(), unreadable),
            column,
            f"{column} must be an ISO 8601 timestamp with an offset, e.g. {_TIME_EXAMPLE}",
        )
        self.flag(
            rows_mask(cells.len(), no_offset),
            column,
            f"{column} has no UTC offset; write it as e.g. {_TIME_EXAMPLE} or with Z",
        )
        return parsed.alias(column)

    def boolean(self, column: str) -> pl.Series:
        """``true`` or ``false`` (any case) as Boolean (null where bad)."""
        cells = self.cell(column).str.strip_chars().str.to_lowercase()
        self._require(column, cells, nullable=False)
        self.flag(
            cells.is_not_null() & ~cells.is_in(["true", "false"]),
            column,
            f"{column} must be true or false",
        )
        return (cells == "true").set(~cells.is_in(["true", "false"]), None).alias(column)


def rows_mask(height: int, rows: list[int]) -> pl.Series:
    """A Boolean mask of ``height`` rows, true at the 0-based ``rows``."""
    mask = pl.Series([False] * height, dtype=pl.Boolean)
    return mask.scatter(rows, True) if rows else mask


def _canonical_numbers(cells: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Number cells as plain decimal text, and why a cell is not one (null if it is)."""
    odd = (cells.is_not_null() & ~cells.str.contains(_PLAIN_NUMBER)).arg_true().to_list()
    canonical = cells
    bad: dict[int, str] = {}
    fixed: dict[int, str] = {}
    for i in odd:
        try:
            exact = Decimal(cells[i])
        except InvalidOperation:
            bad[i] = "not_a_number"
            continue
        if not exact.is_finite():
            bad[i] = "not_finite"
        else:
            fixed[i] = format(exact, "f")
    reason = pl.Series([None] * cells.len(), dtype=pl.String)
    if bad:
        reason = reason.scatter(list(bad), list(bad.values()))
        canonical = canonical.scatter(list(bad), None)
    if fixed:
        canonical = canonical.scatter(list(fixed), list(fixed.values()))
    return canonical, reason


def cell_text(value: object) -> str | None:
    """A JSON value as the text an archive cell would hold (None stays empty)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def sheet_from_rows(
    file: str,
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[str],
    id_column: str | None = None,
) -> Sheet:
    """Rows that arrived as JSON, as a Sheet the archive's checks can judge."""
    data = {c: [cell_text(row.get(c)) for row in rows] for c in columns}
    return Sheet(file, pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String)), id_column)
